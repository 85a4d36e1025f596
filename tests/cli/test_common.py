"""Progress without a terminal: periodic one-line reports instead of a bar nobody sees."""

from __future__ import annotations

import io
import time

from rich.console import Console

from emoboost.cli.common import LineProgress, progress


def test_progress_in_a_log_file_prints_lines():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    bar = progress(console)
    assert isinstance(bar, LineProgress)  # a live bar draws nothing into a file
    with bar:
        task = bar.add_task("extract (local)", total=3, current="")
        for name in ("a.mp4", "b.mp4", "c.mp4"):
            bar.update(task, advance=1, current=name)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("extract (local): 3/3 after ") and lines[0].endswith("c.mp4")


def test_progress_lines_come_periodically_with_an_estimate():
    buffer = io.StringIO()
    with LineProgress(Console(file=buffer, width=200), every_s=0.0) as bar:
        task = bar.add_task("benchmark", total=4, current="")
        bar.update(task, advance=1, current="RVFA: done")
        bar.update(task, advance=1, current="FVRA-WL: done")
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("benchmark: 1/4 after ") and "left" in lines[0] and lines[0].endswith("RVFA: done")
    assert lines[-1].startswith("benchmark: 2/4")


def test_a_long_stage_without_updates_still_reports():
    buffer = io.StringIO()
    with LineProgress(Console(file=buffer, width=200), every_s=0.05) as bar:
        task = bar.add_task("benchmark", total=5, current="RVFA: training")
        time.sleep(0.3)  # no update: a fold's training stage
        assert buffer.getvalue().count("benchmark: 0/5 after") >= 2
        bar.update(task, advance=5)
    assert buffer.getvalue().splitlines()[-1].startswith("benchmark: 5/5 after")


def test_progress_on_redirected_stderr_stays_silent():
    buffer = io.StringIO()  # `detect` keeps a redirected stderr for one-line errors
    with progress(Console(file=buffer, stderr=True, force_terminal=False)) as bar:
        task = bar.add_task("detect", total=2, current="", visible=True)
        bar.update(task, current="a.mp4")
        bar.advance(task)
        bar.advance(task)
    assert buffer.getvalue() == ""


def test_every_command_shows_an_example_in_its_help(capfd):
    from emoboost.cli import run
    from emoboost.cli.common import app

    commands = [[c.name or c.callback.__name__.replace("_", "-")] for c in app.registered_commands]
    commands += [
        [group.name, c.name or c.callback.__name__.split("_", 1)[1]]
        for group in app.registered_groups
        for c in group.typer_instance.registered_commands
    ]
    assert len(commands) >= 9
    for command in commands:
        assert run([*command, "--help"]) == 0
        assert "Example: emoboost" in " ".join(capfd.readouterr().out.split()), command
