"""No LLR a verdict reports passes the bounds its detector stores: on the real-photo clips of the test media and on
SynthAV clips, with a fusion whose raw scores go far past what its calibration clips support."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import detector_fixture
import numpy as np
import pytest

from emoboost.cli import run
from emoboost.data.manifest import read_manifest
from emoboost.data.synthav import DEVELOPMENT_SEED, SynthConfig, generate
from emoboost.detector.detector import Detector
from emoboost.models.fusion import Fusion


@pytest.fixture(scope="module")
def steep(tmp_path_factory) -> tuple[Path, Fusion]:
    """A tiny detector refitted on 10 + 10 calibration logits, its weights (and its subset fusions' weights, which
    score a clip missing a score) then multiplied by 40: its raw fused scores are extreme while its calibration (and
    so its ELUB) stays that of 20 clips."""
    folder = tmp_path_factory.mktemp("steep")
    detector = Detector.from_pretrained(detector_fixture.tiny_detector(folder / "tiny"))
    rng = np.random.default_rng(0)
    width = len(detector.fusion.inputs)
    logits = np.r_[rng.normal(-1.0, 1.0, (10, width)), rng.normal(1.0, 1.0, (10, width))]
    fitted = Fusion.fit(logits, np.r_[np.zeros(10), np.ones(10)], detector.fusion.inputs)
    subsets = {k: {**v, "weights": [40.0 * w for w in v["weights"]]} for k, v in fitted.subsets.items()}
    detector.fusion = dataclasses.replace(fitted, weights=tuple(40.0 * w for w in fitted.weights), subsets=subsets)
    for present in [detector.fusion.inputs, [n for n in detector.fusion.inputs if n != "rgb"]]:
        bounds = detector.fusion.llr_bounds(present)
        assert bounds is not None and bounds[0] >= -np.log(11) - 1e-9 and bounds[1] <= np.log(11) + 1e-9
    return detector.save_pretrained(folder / "steep"), detector.fusion


@pytest.fixture(scope="module")
def synthav_clips(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("synthav")
    config = SynthConfig(identities=2, clips_per_identity=1, seconds=2.5, seed=DEVELOPMENT_SEED)
    generate(out, config, categories=("real", "RVFA", "FVRA-WL"))
    return [out / row.path for row in read_manifest(out / "manifest.csv")]


def verdicts(capfd, model: Path, clips: list[Path]) -> list[dict]:
    code = run(["detect", *map(str, clips), "--model", str(model), "--format", "json", "--allow-audio-only"])
    captured = capfd.readouterr()
    assert code == 0, captured.err
    return [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]


def check(entries: list[dict], fusion: Fusion) -> int:
    """Each verdict within the ELUB of the fusion that scored it (the subset's where a score is missing)."""
    outside = 0
    for entry in entries:
        bounds = fusion.llr_bounds([n for n in fusion.inputs if entry["scores"][n] is not None])
        assert bounds is not None
        low, high = bounds
        assert low - 1e-6 <= entry["llr"] <= high + 1e-6, entry["path"]
        assert entry["provenance"]["llr_bounds"] == pytest.approx(list(bounds), abs=1e-6)
        for segment in entry["segments"]:
            assert low - 1e-6 <= segment["llr"] <= high + 1e-6, (entry["path"], segment)
        raw = entry["provenance"]["llr_unbounded"]
        if not low <= raw <= high:
            outside += 1
            assert "lr_bounded" in entry["warning_codes"], entry["warning_codes"]
    return outside


def test_real_photo_clips_never_pass_the_bounds(steep, talking_clip, faceless_clip, capfd):
    model, fusion = steep
    entries = verdicts(capfd, model, [talking_clip, faceless_clip])
    assert len(entries) == 2 and entries[1]["scores"]["rgb"] is None  # the faceless clip: scored without rgb
    check(entries, fusion)


def test_synthav_clips_never_pass_the_bounds(steep, synthav_clips, capfd):
    model, fusion = steep
    entries = verdicts(capfd, model, synthav_clips)
    assert len(entries) == len(synthav_clips) >= 4
    assert check(entries, fusion) >= 1  # the weights make raw scores leave the bounds: the clipping is exercised
