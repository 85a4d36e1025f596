"""``emoboost detect``: verdicts for analysts (table, case reports) and tools (JSON Lines, CSV); resumable."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from emoboost.cli.common import OutputFormat, app, err, one_line, out, progress
from emoboost.errors import ConfigError
from emoboost.models.networks import DETECTOR_SCORES

DEFAULT_MODEL = Path("quickstart")  # the named detector the quickstart saves under <cache>/detectors


@app.command()
def detect(
    ctx: typer.Context,
    inputs: Annotated[
        list[str], typer.Argument(help="Video files, folders (searched recursively), manifest CSVs or @list.txt.")
    ],
    model: Annotated[
        Path,
        typer.Option(
            "--model",
            "-m",
            help="Detector directory, or the name of one under <cache>/detectors (default: the last quickstart's).",
        ),
    ] = DEFAULT_MODEL,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table (people), json (JSON Lines) or csv (tools).")
    ] = OutputFormat.table,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write the results here (JSON Lines, or CSV for .csv / --format csv); a rerun resumes.",
        ),
    ] = None,
    timeline_png: Annotated[
        Path | None, typer.Option("--timeline-png", help="Folder for one timeline plot per file.")
    ] = None,
    prior: Annotated[
        float,
        typer.Option(help="Prior P(fake), between 0 and 1 (exclusive): sets the posterior and the Bayes threshold."),
    ] = 0.5,
    threshold: Annotated[
        float | None,
        typer.Option(help="Decide on this LLR (natural log of the LR) instead of the Bayes decision at the prior."),
    ] = None,
    target_fpr: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="Decide on the LLR threshold whose calibration false-positive rate is at most this."
        ),
    ] = None,
    details: Annotated[
        bool,
        typer.Option(
            "--details", help="Table: add the per-detector scores, face / voice and the most suspicious stretch."
        ),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Folder for one self-contained HTML case report per file (and index.html)."),
    ] = None,
    case_id: Annotated[
        str, typer.Option("--case-id", help="Case identifier, printed on every case report and the index.")
    ] = "",
    exhibit: Annotated[str, typer.Option("--exhibit", help="Exhibit (item) reference, printed on the reports.")] = "",
    examiner: Annotated[str, typer.Option("--examiner", help="Examiner's name, printed on the reports.")] = "",
    allow_audio_only: Annotated[
        bool, typer.Option("--allow-audio-only", help="Give an audio-only verdict when no face is found.")
    ] = False,
    device: Annotated[str, typer.Option(help="cpu, or cuda / cuda:N where a GPU is visible to torch.")] = "cpu",
    allow_outside_root: Annotated[
        bool,
        typer.Option("--allow-outside-root", help="Read manifest rows whose path leaves the manifest's dataset root."),
    ] = False,
    trust_encoder: Annotated[
        list[str] | None,
        typer.Option(
            "--trust-encoder",
            help="Allow the detector to run this encoder (an hf: name its config.json gives); repeatable.",
        ),
    ] = None,
) -> None:
    """Say whether videos are real or fake, with per-modality scores and where it looks fake.

    Example: emoboost detect clip.mp4 folder/ --output verdicts.jsonl --report reports/
    """
    from emoboost.detector.batch import run_batch
    from emoboost.detector.detector import Detector
    from emoboost.detector.outputs import ResultLog, prepare_folder, refuse_inputs_as_output
    from emoboost.detector.outputs import output_format as file_format
    from emoboost.detector.verdict import Failure, operating_point_words
    from emoboost.errors import NoFaceError
    from emoboost.media.inputs import expand_inputs

    fmt = OutputFormat(output_format).value
    paths = expand_inputs(inputs, allow_outside_root=allow_outside_root)
    if not paths:
        raise ConfigError("no video files found in the given inputs")
    if output is not None:
        refuse_inputs_as_output(output, paths)
    for folder, option in ((timeline_png, "--timeline-png"), (report, "--report")):
        if folder is not None:
            prepare_folder(folder, option)  # destinations are checked before any work
    log = ResultLog(output, file_format(output, fmt)) if output is not None else None
    with err.status("loading the detector"):
        detector = Detector.from_pretrained(model, trusted_encoders=trust_encoder or ()).to(device)
    decision = detector.decision(prior, threshold, target_fpr)
    reporter = _reporter(report, detector, ctx, (case_id, exhibit, examiner))
    extras: dict[str, Any] = {}
    if timeline_png is not None:
        extras["timeline"] = functools.partial(_plot, folder=timeline_png)
    if reporter is not None:
        extras["case report"] = reporter.add

    def plotted(entry: dict[str, Any]) -> bool:
        from emoboost.detector.timeline import timeline_name

        done = timeline_png is None or (timeline_png / timeline_name(entry["path"], entry.get("sha256", ""))).is_file()
        return done and (reporter is None or reporter.has(entry))

    def failed(result: Failure) -> None:
        hint = " (--allow-audio-only gives a voice-only verdict)" if result.code == NoFaceError.code else ""
        err.print(f"[red]error[/red] {escape(one_line(result.message))}{hint if not allow_audio_only else ''}")

    def extra_failed(verdict, what: str, cause: str) -> None:
        err.print(
            f"[yellow]warning[/yellow] {escape(one_line(verdict.path))}: {what} not written "
            f"({escape(one_line(cause))}); the verdict is kept"
        )

    stream = _Stream(fmt if output is None else "none")
    with progress(err) as bar:
        task = bar.add_task("detect", total=len(paths), current="", visible=len(paths) > 1)

        def done(path: Path, result, entry: dict[str, Any]) -> None:
            if isinstance(result, Failure):
                failed(result)
            else:
                stream.emit(entry)
            bar.advance(task)

        try:
            batch = run_batch(
                detector,
                paths,
                allow_audio_only=allow_audio_only,
                prior=prior,
                threshold=threshold,
                target_fpr=target_fpr,
                log=log,
                extras=extras,
                extras_done=plotted,
                on_start=lambda path: bar.update(task, current=escape(one_line(path.name))),
                on_result=done,
                on_extra_failed=extra_failed,
            )
        finally:
            closed = _close_log(log)
    entries = batch.entries
    problems = [message for message in (batch.stopped, closed) if message]
    if batch.stopped and fmt != "table" and entries and "path" in entries[-1]:
        _Stream(fmt).emit(entries[-1])  # the verdict the output could not keep is shown, not lost
    if reporter is not None:
        try:
            reporter.close(entries)
        except OSError as exc:
            cause = exc.strerror or exc
            problems.append(
                f"--report {one_line(reporter.index)}: index not written ({cause}); the case reports are kept"
            )
    if fmt == "table" and entries:
        print_verdicts(entries, details, detector.scope_warnings())
    if fmt == "table" or output is not None or err.is_terminal:
        summary = (
            f"{len(entries)} verdict{'s' if len(entries) != 1 else ''} ({batch.fakes} fake), "
            f"{len(batch.failures)} failed" + (f", {batch.resumed} taken from {output}" if batch.resumed else "")
        )
        summary += f" (prior {decision.prior:g}, LLR threshold {decision.threshold:+.3f})"
        words = operating_point_words(decision.operating_point)
        summary += f"; {words}" if words else ""
        summary += f", {batch.unwritten} plot(s) or report(s) not written" if batch.unwritten else ""
        summary += f" -> {output}" if output else ""
        summary += f"; case reports: {reporter.index}" if reporter is not None else ""
        (out if fmt == "table" or output is not None else err).print(one_line(summary), markup=False)
    for message in problems:
        err.print(f"[red]error[/red] {escape(one_line(message))}", soft_wrap=True)
    if batch.not_attempted:
        err.print(f"{batch.not_attempted} input(s) not attempted; rerun the same command to go on", soft_wrap=True)
    if batch.exit_code or problems:
        raise typer.Exit(1 if problems else batch.exit_code)


def _close_log(log) -> str:
    """Close the ``--output`` log; the one-line problem when it could not be written, else ""."""
    from emoboost.errors import WriteError

    if log is None:
        return ""
    try:
        log.close()
    except WriteError as exc:
        return str(exc)
    return ""


def _plot(verdict, folder: Path) -> None:
    """Write ``verdict``'s timeline PNG into ``folder``."""
    from emoboost.detector.timeline import plot_timeline, timeline_name

    plot_timeline(verdict, folder / timeline_name(verdict.path, verdict.sha256))


class _Stream:
    """Writes machine-readable results to stdout as they come (JSON Lines, or CSV with one header)."""

    def __init__(self, fmt: str):
        self.fmt = fmt
        self.header = False

    def emit(self, entry: dict[str, Any]) -> None:
        from emoboost.detector.outputs import render

        if self.fmt == "json":
            out.print(
                json.dumps(entry, sort_keys=True, ensure_ascii=False), soft_wrap=True, highlight=False, markup=False
            )
        elif self.fmt == "csv":
            lines = render([entry], "csv").splitlines()
            out.print("\n".join(lines if not self.header else lines[1:]), soft_wrap=True, highlight=False, markup=False)
            self.header = True


def command_line(ctx: typer.Context) -> str:
    """The command as run, every option spelt out (defaults included): ``emoboost detect a.mp4 --model ...``."""
    import shlex

    words = ["emoboost", ctx.info_name or "detect"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or value is False or value == "" or (isinstance(value, (list, tuple)) and not value):
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        if getattr(param, "param_type_name", "") == "argument":
            words += [str(v) for v in values]
        elif value is True:
            words.append(param.opts[0])
        else:
            for item in values:  # a repeatable option once per value
                words += [param.opts[0], str(getattr(item, "value", item))]
    return shlex.join(words)


def typed_command() -> str:
    """The command line as the user typed it (shell-quoted), from :data:`emoboost.cli.common.TYPED`."""
    import shlex

    from emoboost.cli.common import TYPED

    return shlex.join(one_line(word) for word in TYPED) if TYPED else ""


def _reporter(folder: Path | None, detector, ctx: typer.Context, case: tuple[str, str, str]):
    if folder is None:
        return None
    from emoboost.detector.case_report import CaseInfo, CaseReports

    settings = command_line(ctx)
    return CaseReports(folder, detector, typed_command() or settings, CaseInfo(*case), settings)


def lr_cell(llr: float) -> str:
    """``"1/45"`` or ``"230"``: the LR a person reads (the verbal label goes in its own column)."""
    from emoboost.calibration import format_lr

    return format_lr(llr).removeprefix("LR ")


def support_cell(verbal: str) -> str:
    """``"moderate support for authentic"`` -> ``"moderate -> authentic"`` (narrow enough for 80 columns)."""
    return "neither" if verbal.startswith("no meaningful support") else verbal.replace(" support for ", " -> ")


def print_verdicts(
    entries: list[dict[str, Any]], details: bool = False, shared_warnings: tuple[str, ...] = (), console=None
) -> None:
    """One row per file: file, verdict, LR, its verbal label, P(fake) at the prior, warnings (numbered notes below).

    Files are named by the shortest trailing part of their path that tells them apart in this batch
    (:func:`emoboost.text.shortest_unique`); a name is never split: when the names are too long for the file column
    at the console's width, the rows carry ``#1``, ``#2``... and the names follow the table, one whole line each.
    Warnings every verdict of the detector carries (``shared_warnings``) are printed once under the table.
    ``details`` adds a second table: the per-detector logits, the fused LLR, the face / voice heads and
    the most suspicious stretch, then each detector's share of the fused LLR."""
    from rich.text import Text

    from emoboost.detector.outputs import flat_row
    from emoboost.text import shortest_unique

    console = console or out
    kept = [entry for entry in entries if "error" not in entry]
    rows = [flat_row(entry) for entry in kept]
    names = shortest_unique([str(row["path"]) for row in rows])
    width = max(40, console.width)
    fits = all(len(name) <= width - MAIN_COLUMNS for name in names)
    cells = names if fits else _references(len(names))
    notes: dict[str, int] = {}
    console.print(_verdict_table(rows, cells, shared_warnings, notes))
    if not fits:
        for cell, name in zip(cells, names, strict=True):
            console.print(Text(f"  {cell} {name}"), soft_wrap=True)
    for warning, number in notes.items():
        _print_note(console, f"  {number}. ", warning)
    if shared_warnings:
        console.print(Text("Every verdict of this detector:", style="yellow"))
        for warning in shared_warnings:
            _print_note(console, "  - ", warning)
    if details:
        shares = [(e.get("provenance") or {}).get("llr_contributions") for e in kept]
        fits_details = all(len(c) <= width - DETAIL_COLUMNS for c in cells)
        detail_cells = cells if fits_details else _references(len(cells))
        console.print(_details_table(rows, detail_cells, shares))
        if detail_cells != cells:
            for cell, name in zip(detail_cells, names, strict=True):
                console.print(Text(f"  {cell} {name}"), soft_wrap=True)
        _print_shares(console, detail_cells, shares)


def _references(count: int) -> list[str]:
    """``["#1", "#2", ...]``: what rows carry when the names do not fit (the names follow the table)."""
    return [f"#{i}" for i in range(1, count + 1)]


def _print_shares(console, cells: list[str], shares: list[dict[str, float] | None]) -> None:
    """Each file's fused LLR as the sum of the detectors' shares: ``emo -0.17 + rgb +0.00 + ... + bias -1.39 = +0.06``
    and what drove it (one line per file, wrapped with a hanging indent, never cropped)."""
    from emoboost.detector.case_report import driven_by

    lines = []
    for cell, share in zip(cells, shares, strict=True):
        if not share:
            continue
        terms = " + ".join(f"{k} {float(v):+.2f}" for k, v in share.items() if v is not None)
        total = sum(float(v) for v in share.values() if v is not None)
        lines.append(f"{cell}: {terms} = {total:+.2f}; driven by {driven_by(share)}")
    if lines:
        from rich.text import Text

        console.print(Text("shares of the fused LLR (before bounding) and the detector that drove it:"))
        for line in lines:
            _print_note(console, "  ", line)


def _print_note(console, marker: str, text: str) -> None:
    """A note under the table, wrapped to the console's width with a hanging indent (never cropped)."""
    import textwrap

    from rich.text import Text

    width = max(40, console.width)
    lines = textwrap.wrap(text, width - len(marker), break_long_words=False) or [""]
    for index, line in enumerate(lines):
        console.print(Text((marker if index == 0 else " " * len(marker)) + line), soft_wrap=True)


MAIN_COLUMNS = 50  # what the verdict table's other columns take at most (verdict, LR, support, P(fake), notes)
DETAIL_COLUMNS = 64  # what the details table's score columns take


def _verdict_table(
    rows: list[dict[str, Any]], cells: list[str], shared_warnings: tuple[str, ...], notes: dict[str, int]
):
    from rich import box
    from rich.table import Table

    priors = sorted({float(row["prior"]) for row in rows if row.get("prior") not in (None, "")})
    prior_text = ", ".join(f"{p:g}" for p in priors) or "?"
    title = f"emoboost verdicts (prior P(fake) {prior_text}; LR > 1 supports manipulated)"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("file", no_wrap=True)
    table.add_column("verdict")
    table.add_column("LR", justify="right", no_wrap=True)
    table.add_column("support", ratio=3)
    table.add_column("P(fake)", justify="right", no_wrap=True)
    table.add_column("notes", ratio=1)
    for row, cell in zip(rows, cells, strict=True):
        colour = "red" if row["label"] == "fake" else "green"
        own = [w for w in (row.get("warnings") or "").split("; ") if w and w not in shared_warnings]
        marks = ",".join(str(notes.setdefault(w, len(notes) + 1)) for w in own) or "-"
        table.add_row(
            escape(cell),
            f"[{colour}]{row['label']}[/{colour}]",
            lr_cell(float(row["llr"])),
            support_cell(row["lr_verbal"]),
            f"{float(row['probability']):.3f}",
            marks,
        )
    return table


def _details_table(rows: list[dict[str, Any]], cells: list[str], shares: list[dict[str, float] | None]):
    from rich import box
    from rich.table import Table

    def number(value, spec: str = "+.2f") -> str:
        return "-" if value in (None, "") else format(float(value), spec)

    title = "per-detector scores (logits; consist.: real-only consistency; fused: LLR; face / voice: EmoForensics)"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("file", no_wrap=True)
    # the consistency column only for a detector that has one
    names = [n for n in DETECTOR_SCORES if n != "consistency" or any(r.get("score_consistency") for r in rows)]
    short = {"consistency": "consist."}
    for name in (*names, "fused", "face", "voice"):
        table.add_column(short.get(name, name), justify="right", no_wrap=True)
    table.add_column("most suspicious", no_wrap=True)
    for row, cell in zip(rows, cells, strict=True):
        stretch = "-"
        if row.get("worst_start_s") not in (None, ""):
            start, end, llr = (float(row[k]) for k in ("worst_start_s", "worst_end_s", "worst_llr"))
            stretch = f"{start:.1f}-{end:.1f}s {llr:+.2f}"
        table.add_row(
            escape(cell),
            *(number(row.get(f"score_{k}")) for k in (*names, "fused")),
            number(row.get("face"), ".2f"),
            number(row.get("voice"), ".2f"),
            stretch,
        )
    return table
