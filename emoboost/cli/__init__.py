"""The ``emoboost`` command: a thin layer over the functions users call from Python.

Exit codes: 0 every input succeeded; 1 some inputs failed (the rest were processed) or the data
cannot support the step (:class:`~emoboost.errors.StoreError`, :class:`~emoboost.errors.DataError`);
2 usage or configuration errors, including a missing or unreadable model
(:class:`~emoboost.errors.ConfigError`, :class:`~emoboost.errors.WeightsUnavailableError`).
Each error class carries its code (``exit_code``). Problems with an input are one line naming the file.
Commands live in submodules (data, datasets, research, detect, quick) and register on one Typer app.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.markup import escape

from emoboost import __version__
from emoboost.cli import common, data, datasets, detect, quick, research  # noqa: F401  (registers the commands)
from emoboost.cli.common import app, err, one_line, out, plain_help_types, setup_logging
from emoboost.errors import EmoboostError

plain_help_types()


def _version(value: bool) -> None:
    if value:
        out.print(f"emoboost {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    setup_logging(verbose)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return its exit code."""
    words = list(argv) if argv is not None else sys.argv[1:]
    common.TYPED[:] = ["emoboost", *words]  # the command as typed, for what records it (case reports)
    try:
        code = app(args=words, standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("aborted")
        return 130
    except EmoboostError as exc:
        err.print(f"[red]error[/red] {escape(one_line(exc))}")
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except OSError as exc:  # a full disk or another system error on a file: one line naming it, exit 1
        where = exc.filename2 if exc.filename2 is not None else exc.filename
        cause = exc.strerror or str(exc)
        err.print(
            f"[red]error[/red] {escape(one_line(where))}: {escape(cause)}"
            if where
            else f"[red]error[/red] {escape(cause)}"
        )
        return 1
    except Exception as exc:
        # usage errors from click (typer vendors its own copy, so match by shape, not class)
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
            return 2
        raise
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console entry point."""
    sys.exit(run())
