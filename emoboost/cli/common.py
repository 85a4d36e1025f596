"""What every command shares: the two consoles, progress bars, logging."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

app = typer.Typer(
    name="emoboost",
    help="Audio-visual deepfake detection with emotion consistency (EmoForensics + EMO-BOOST).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
from emoboost.text import printable as one_line  # noqa: E402  (re-exported: every message is one line)

# soft_wrap: a message is one line whatever the terminal's width (rich wraps at 80 columns into a file or pipe)
out = Console(soft_wrap=True)  # results
err = Console(stderr=True, highlight=False, soft_wrap=True)  # problems, progress next to machine-readable stdout


class OneLineHandler(logging.Handler):
    """Log records as ``level message`` on ``err``, one line each (names with newlines or odd bytes escaped)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = one_line(self.format(record))
        except Exception:  # noqa: BLE001  (logging must never raise; same contract as logging.Handler)
            self.handleError(record)
            return
        colour = {"WARNING": "yellow", "ERROR": "red", "CRITICAL": "red"}.get(record.levelname, "dim")
        err.print(f"[{colour}]{record.levelname.lower()}[/{colour}] {escape(message)}")


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s", handlers=[OneLineHandler()], force=True)


def progress(console: Console = out) -> Progress:
    """A progress bar on ``console``; drawn only on a terminal, so logs and pipes stay clean."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}"),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )


def dataset_root(manifest: Path, root: Path | None) -> Path:
    """Where manifest paths are relative to: --root, else the manifest's folder (its parent for folds/<category>.csv)."""
    if root is not None:
        return root
    folder = manifest.resolve().parent
    return folder.parent if folder.name == "folds" else folder
