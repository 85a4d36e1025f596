"""``emoboost detect``: verdicts for analysts (table) and tools (JSON Lines, CSV), resumable with --output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape

from emoboost.cli.common import app, err, out, progress
from emoboost.errors import ConfigError

DEFAULT_MODEL = Path("quickstart")  # the named detector the quickstart saves under <cache>/detectors
FORMATS = ("table", "json", "csv")


@app.command()
def detect(
    inputs: Annotated[list[str], typer.Argument(help="Video files, folders (searched recursively), manifest CSVs or @list.txt.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Detector directory, or the name of one under <cache>/detectors (default: the last quickstart's).")] = DEFAULT_MODEL,
    output_format: Annotated[str, typer.Option("--format", "-f", help="table (people), json (JSON Lines) or csv (tools).")] = "table",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the results here (JSON Lines, or CSV for .csv / --format csv); a rerun resumes.")] = None,
    timeline_png: Annotated[Optional[Path], typer.Option("--timeline-png", help="Folder for one timeline plot per file.")] = None,
    threshold: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="Override the detector's threshold (probability of fake).")] = None,
    allow_audio_only: Annotated[bool, typer.Option("--allow-audio-only", help="Give an audio-only verdict when no face is found.")] = False,
    device: Annotated[str, typer.Option(help="cpu, or cuda / cuda:N where a GPU is visible to torch.")] = "cpu",
) -> None:
    """Say whether videos are real or fake, with per-modality scores and where it looks fake."""
    from emoboost.api import Detector
    from emoboost.cache import sha256_file
    from emoboost.errors import MediaError, NoFaceError
    from emoboost.media.inputs import expand_inputs
    from emoboost.outputs import ResultLog, output_format as file_format

    if output_format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}")
    paths = expand_inputs(inputs)
    if not paths:
        raise ConfigError("no video files found in the given inputs")
    log = ResultLog(output, file_format(output, output_format)) if output is not None else None
    with err.status("loading the detector"):
        detector = Detector.from_pretrained(model).to(device)
    cut = round(detector.fusion.threshold if threshold is None else threshold, 6)

    def expected(path: Path):
        try:
            return sha256_file(path), detector.weights_sha256, cut
        except OSError:
            return None, None, None

    def plotted(entry: dict[str, Any]) -> bool:
        from emoboost.timeline import timeline_name

        return timeline_png is None or (timeline_png / timeline_name(entry["path"], entry.get("sha256", ""))).is_file()

    stream = _Stream(output_format)
    entries: list[dict[str, Any]] = []
    failed = resumed = 0
    with progress(err) as bar:
        task = bar.add_task("detect", total=len(paths), current="", visible=len(paths) > 1)
        for path in paths:
            bar.update(task, current=escape(path.name))
            entry = log.finished(path, lambda: expected(path)) if log is not None else None
            if entry is not None and plotted(entry):
                resumed += 1
            else:
                try:
                    verdict = detector.predict(path, allow_audio_only=allow_audio_only, threshold=threshold)
                except MediaError as exc:
                    failed += 1
                    hint = " (--allow-audio-only gives a voice-only verdict)" if isinstance(exc, NoFaceError) and not allow_audio_only else ""
                    err.print(f"[red]error[/red] {escape(str(exc))}{hint}", soft_wrap=True)
                    entry = {"path": str(path), "error": exc.cause, "error_type": exc.code}
                    if log is not None:
                        log.add(entry)
                    bar.advance(task)
                    continue
                if timeline_png is not None:
                    from emoboost.timeline import plot_timeline, timeline_name

                    plot_timeline(verdict, timeline_png / timeline_name(verdict.path, verdict.sha256))
                entry = verdict.to_dict()
                if log is not None:
                    log.add(entry)
            entries.append(entry)
            stream.emit(entry)
            bar.advance(task)
    if log is not None:
        log.close()
    if output_format == "table" and entries:
        print_verdicts(entries)
    if output_format == "table" or err.is_terminal:
        fakes = sum(entry.get("label") == "fake" for entry in entries)
        summary = f"{len(entries)} verdict{'s' if len(entries) != 1 else ''} ({fakes} fake), {failed} failed" + (f", {resumed} taken from {output}" if resumed else "")
        (out if output_format == "table" else err).print(summary + (f" -> {output}" if output else ""), markup=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


class _Stream:
    """Writes machine-readable results to stdout as they come (JSON Lines, or CSV with one header)."""

    def __init__(self, fmt: str):
        self.fmt = fmt
        self.header = False

    def emit(self, entry: dict[str, Any]) -> None:
        from emoboost.outputs import render

        if self.fmt == "json":
            out.print(json.dumps(entry, sort_keys=True, ensure_ascii=False), soft_wrap=True, highlight=False, markup=False)
        elif self.fmt == "csv":
            lines = render([entry], "csv").splitlines()
            out.print("\n".join(lines if not self.header else lines[1:]), soft_wrap=True, highlight=False, markup=False)
            self.header = True


def probability_and_threshold(probability: float, threshold: float) -> str:
    """``"0.83 / 0.81"``, with more decimals (up to 6) where two would show equal numbers for different verdicts."""
    for decimals in range(2, 7):
        shown = f"{probability:.{decimals}f} / {threshold:.{decimals}f}"
        if round(probability, decimals) != round(threshold, decimals):
            break
    return shown


def print_verdicts(entries: list[dict[str, Any]]) -> None:
    """One compact row per file (JSON and CSV carry every field)."""
    from rich.table import Table

    from emoboost.outputs import flat_row

    table = Table(title="emoboost verdicts", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("verdict")
    table.add_column("P(fake) / thr", justify="right")
    table.add_column("face / voice", justify="right")
    table.add_column("emo / rgb / audio", justify="right")
    table.add_column("most fake stretch", overflow="fold")
    table.add_column("warnings", overflow="fold")

    def number(value) -> str:
        return "-" if value in (None, "") else f"{float(value):.2f}"

    for entry in entries:
        row = flat_row(entry)
        colour = "red" if row["label"] == "fake" else "green"
        stretch = "-" if row.get("worst_start_s") in (None, "") else f"{float(row['worst_start_s']):.1f}-{float(row['worst_end_s']):.1f}s {float(row['worst_probability']):.2f}"
        table.add_row(
            escape(Path(row["path"]).name),
            f"[{colour}]{row['label']}[/{colour}]",
            probability_and_threshold(float(row["probability"]), float(row["threshold"])),
            f"{number(row.get('face'))} / {number(row.get('voice'))}",
            " / ".join(number(row.get(f"score_{k}")) for k in ("emo", "rgb", "audio")),
            stretch,
            escape(row.get("warnings") or "-"),
        )
    out.print(table)
