"""What every command shares: the two consoles, progress (a bar on a terminal, periodic lines in a log),
logging, the process-wide settings of the command line and the help text's type names."""

from __future__ import annotations

import logging
import os
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from emoboost.text import printable as one_line  # every message is one line (re-exported for the commands)

TYPED: list[str] = []  # the words of the running command as typed (``emoboost.cli.run`` sets them)

app = typer.Typer(
    name="emoboost",
    help="Audio-visual deepfake detection with emotion consistency (EmoForensics + EMO-BOOST).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
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


PROGRESS_LINE_EVERY_S = 30.0  # without a terminal, one progress line at most this often (and at the end)


def setup_logging(verbose: bool) -> None:
    """Process-wide settings of the command line (an entry point): log level and format, third-party noise."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # read by transformers when it first logs
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[OneLineHandler()],
        force=True,
    )


def progress(console: Console = out) -> Progress | LineProgress:
    """Progress on ``console``: a live bar on a terminal; elsewhere (a log file, a pipe) one plain line
    per task every :data:`PROGRESS_LINE_EVERY_S` seconds and when it finishes. Redirected stderr stays
    for one-line errors only (``detect`` reports progress there), so progress on it is not written."""
    if not console.is_terminal and not console.stderr:
        return LineProgress(console)
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


class LineProgress:
    """The part of rich's :class:`Progress` the commands use, written as one-line reports: when a task
    finishes, and every ``every_s`` seconds while it runs (from a background thread, so a long stage
    without updates still shows it is alive)."""

    def __init__(self, console: Console, every_s: float = PROGRESS_LINE_EVERY_S):
        self.console = console
        self.every_s = every_s
        self.tasks: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> LineProgress:
        if self.every_s > 0:
            self._heartbeat = threading.Thread(target=self._beat, name="emoboost-progress", daemon=True)
            self._heartbeat.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        for task_id, task in self.tasks.items():
            if not task["reported_done"] and exc_info[0] is None:
                self._report(task_id)

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            for task_id, task in list(self.tasks.items()):
                if not task["reported_done"] and time.monotonic() - task["last"] >= self.every_s:
                    self._report(task_id)

    def add_task(self, description: str, total: float | None = None, current: str = "", visible: bool = True) -> TaskID:
        now = time.monotonic()
        with self._lock:
            task_id = TaskID(len(self.tasks))
            self.tasks[task_id] = {
                "description": description,
                "total": total,
                "done": 0.0,
                "current": current,
                "started": now,
                "last": now,
                "visible": visible,
                "reported_done": not visible,  # an invisible task is never reported
            }
        return task_id

    def update(
        self, task_id: TaskID, advance: float = 0, total: float | None = None, current: str | None = None
    ) -> None:
        task = self.tasks[task_id]
        with self._lock:
            task["done"] += advance
            if total is not None:
                task["total"] = total
            if current is not None:
                task["current"] = current
        finished = task["total"] is not None and task["done"] >= task["total"]
        due = finished or time.monotonic() - task["last"] >= self.every_s
        if due and task["visible"] and not task["reported_done"]:
            self._report(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def _report(self, task_id: int) -> None:
        with self._lock:
            task = self.tasks[task_id]
            now = time.monotonic()
            task["last"] = now
            elapsed, total, done = now - task["started"], task["total"], task["done"]
            task["reported_done"] = bool(total) and done >= total
            current = f"  {task['current']}" if task["current"] else ""
        count = f"{done:g}/{total:g}" if total else f"{done:g}"
        left = f", about {_duration(elapsed * (total - done) / done)} left" if total and 0 < done < total else ""
        line = f"{task['description']}: {count} after {_duration(elapsed)}{left}{current}"
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def plain_help_types() -> None:
    """Show click's conventional placeholders in ``--help`` (PATH, TEXT, INTEGER, NUMBER; nothing for a flag;
    ``INPUTS...`` in the usage line) where recent typer releases print Python type names (``<bool>``,
    ``<list[str]>``, ``{inputs}...``). Called once by the command line; a typer without these hooks is left as is."""
    try:
        from typer.core import TyperArgument, _TyperParameter
    except ImportError:
        return
    if not hasattr(_TyperParameter, "display_type") or not hasattr(TyperArgument, "_usage_display_name"):
        return
    original = _TyperParameter.display_type
    names = {str: "TEXT", int: "INTEGER", float: "NUMBER", Path: "PATH"}

    def display_type(self, ctx) -> str:
        if getattr(self, "is_flag", False):
            return ""
        descriptor = self.type_descriptor
        annotation = descriptor.annotation
        if descriptor.is_list:
            annotation = next(iter(getattr(annotation, "__args__", ())), str)
        if descriptor.is_choice:
            return original(self, ctx).strip("<>")
        return "PATH" if descriptor.is_path else names.get(annotation, "VALUE")

    def usage_name(self) -> str:
        name = (self.metavar or self.name or "").upper()
        name = name if self.required else f"[{name}]"
        return f"{name}..." if self.nargs != 1 else name

    _TyperParameter.display_type = display_type  # type: ignore[method-assign]
    TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]


class OutputFormat(StrEnum):
    """``detect --format``: table for people, JSON Lines or CSV for tools."""

    table = "table"
    json = "json"
    csv = "csv"


class Engine(StrEnum):
    """``extract --engine``: this process, or Ray Data actors on a cluster."""

    local = "local"
    ray = "ray"
