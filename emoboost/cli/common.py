"""What every command shares: the two consoles, progress bars, logging."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

app = typer.Typer(
    name="emoboost",
    help="Audio-visual deepfake detection with emotion consistency (EmoForensics + EMO-BOOST).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()  # results
err = Console(stderr=True, highlight=False)  # problems, progress next to machine-readable stdout


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
        force=True,
    )


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
