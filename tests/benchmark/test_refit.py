"""The gain interval that refits the fusions on resampled calibration people (emoboost.benchmark.refit)."""

from __future__ import annotations

import numpy as np
import pytest

from emoboost.benchmark.gain import gain_for, gain_summary
from emoboost.benchmark.refit import refit_gain
from emoboost.benchmark.results import FoldResult
from emoboost.metrics import auc
from emoboost.models.fusion import Fusion

ROWS = {"lowlevel": ("rgb", "acoustic"), "fusion": ("emo", "rgb", "acoustic")}


def scores(labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Three weak detectors (effect 0.6 each, unit noise): a fusion fitted on few people is unstable."""
    return {name: labels * 0.6 + rng.normal(0, 1, len(labels)) for name in ("emo", "rgb", "acoustic")}


def fold(category: str, calib_people: int, rng: np.random.Generator, logits: bool = True) -> FoldResult:
    """A fold with ``calib_people`` calibration identities (2 real + 2 fake clips each) and 40 test identities
    (shared by every fold, as a partition's folds share their test people), fusions fitted on calib."""
    calib_labels = np.tile([0, 0, 1, 1], calib_people)
    calib_groups = np.repeat([f"c{i}" for i in range(calib_people)], 4)
    test_labels = np.tile([0, 1, 1], 40)
    test_groups = np.repeat([f"t{i}" for i in range(40)], 3)
    calib, test = scores(calib_labels, rng), scores(test_labels, rng)
    fusions, metrics = {}, {}
    for row, inputs in ROWS.items():
        fusion = Fusion.fit(np.stack([calib[i] for i in inputs], axis=1), calib_labels, inputs)
        probabilities = fusion.probability(np.stack([test[i] for i in inputs], axis=1))
        fusions[row] = fusion.to_dict()
        metrics[row] = {"auc": auc(test_labels, probabilities), "probabilities": probabilities.tolist()}
    stored = {
        "calib": {k: v.tolist() for k, v in calib.items()},
        "test": {k: v.tolist() for k, v in test.items()},
        "calib_labels": calib_labels.tolist(),
        "calib_groups": calib_groups.tolist(),
    }
    return FoldResult(
        category=category, seed=0, training={}, fusions=fusions, metrics=metrics, trimmed={}, trim={},
        labels=test_labels.tolist(), paths=[f"{i}.mp4" for i in range(len(test_labels))],
        groups=test_groups.tolist(), cells=[None] * len(test_labels), controls={}, sizes={}, missing={},
        dropped_duplicates=[], logits=stored if logits else None,
    )  # fmt: skip


def folds(calib_people: int, seed: int = 0, logits: bool = True) -> dict[str, FoldResult]:
    rng = np.random.default_rng(seed)
    return {c: fold(c, calib_people, rng, logits) for c in ("RVFA", "FVRA-WL", "FVFA-WL")}


def width(entry: dict) -> float:
    return entry["ci"][1] - entry["ci"][0]


def test_the_refit_interval_is_the_gain_at_its_centre_and_wider_when_calibration_rests_on_few_people():
    results = folds(calib_people=6)
    fixed = gain_for(results, 300, 0)["average"]
    refit = refit_gain([results], "lowlevel", "fusion", 300, 0)
    assert refit["gain"] == pytest.approx(fixed["gain"], abs=1e-6)  # the same fits on the data as they are
    assert refit["calib_identities"] == 6 and refit["folds"] == 3 and refit["repeats"] == 1
    assert refit["ci"][0] <= refit["gain"] <= refit["ci"][1]
    # who the fusion was fitted on moves the gain: covering it widens the interval
    assert width(refit) > 1.2 * width(fixed), (refit["ci"], fixed["ci"])
    assert refit_gain([results], "lowlevel", "fusion", 300, 0) == refit  # seeded
    # with repeats, the repeats are resampled first
    pooled = refit_gain([results, folds(6, seed=1)], "lowlevel", "fusion", 100, 0)
    assert pooled["repeats"] == 2 and pooled["ci"] is not None


def test_fold_results_without_their_logits_say_why_there_is_no_refit_interval():
    summary = gain_summary([folds(6, logits=False)], 50, 0)
    assert summary["refit"]["average"]["ci"] is None
    assert "run the folds again" in summary["refit"]["average"]["why"]
    with_logits = gain_summary([folds(6)], 50, 0)["refit"]["average"]
    assert with_logits["ci"] is not None and with_logits["samples"] == 50


def test_few_calibration_people_give_no_interval():
    entry = refit_gain([folds(calib_people=3)], "lowlevel", "fusion", 50, 0)
    assert entry["ci"] is None and "3 calibration identities" in entry["why"]
