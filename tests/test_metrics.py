"""Metrics against values computed by hand."""

import numpy as np
import pytest

from emoboost.metrics import (
    accuracy,
    auc,
    average_precision,
    bootstrap_interval,
    eer,
    evaluate,
    expected_calibration_error,
    paired_gain,
)
from emoboost.models.fusion import Fusion, choose_threshold

LABELS = np.array([0, 0, 0, 1, 1, 1])
SCORES = np.array([0.1, 0.4, 0.35, 0.8, 0.3, 0.9])


def test_auc_by_hand():
    # fake/real pairs ranked right: (0.8: 3 of 3) + (0.3: 1 of 3, above 0.1 only) + (0.9: 3 of 3) = 7 of 9
    assert auc(LABELS, SCORES) == pytest.approx(7 / 9)
    assert auc([0, 1], [0.5, 0.5]) == 0.5  # ties count half
    assert np.isnan(auc([1, 1], [0.2, 0.3]))


def test_average_precision_by_hand():
    # ranking: 0.9 F, 0.8 F, 0.4 R, 0.35 R, 0.3 F, 0.1 R -> precision at each fake: 1, 1, 3/5
    assert average_precision(LABELS, SCORES) == pytest.approx((1 + 1 + 3 / 5) / 3)


def test_eer_by_hand():
    rate, threshold = eer(LABELS, SCORES)
    # at threshold 0.4: FPR 1/3 (0.4), FNR 1/3 (0.3 missed)
    assert rate == pytest.approx(1 / 3) and threshold == pytest.approx(0.4)


def test_accuracy_and_ece_by_hand():
    assert accuracy(LABELS, SCORES, 0.5) == pytest.approx(5 / 6)
    probabilities = np.array([0.05, 0.05, 0.95, 0.95])  # two bins: fakes 0 of 2 at 0.05, 1 of 2 at 0.95
    assert expected_calibration_error(np.array([0, 0, 1, 0]), probabilities) == pytest.approx(0.5 * 0.05 + 0.5 * 0.45)


def test_bootstrap_interval_brackets_the_estimate():
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(100), np.ones(100)].astype(int)
    scores = np.r_[rng.normal(0, 1, 100), rng.normal(1, 1, 100)]
    low, high = bootstrap_interval(labels, scores, auc, samples=300)
    assert low < auc(labels, scores) < high and high - low < 0.2
    result = evaluate(labels, 1 / (1 + np.exp(-scores)), 0.5, bootstrap=100)
    assert set(result) >= {"auc", "ap", "eer", "acc", "ece", "auc_ci", "ap_ci"} and result["n_fake"] == 100


def test_threshold_at_target_fpr():
    labels = np.array([0] * 10 + [1] * 10)
    probabilities = np.r_[np.linspace(0.0, 0.9, 10), np.linspace(0.5, 1.0, 10)]
    threshold, point = choose_threshold(labels, probabilities, target_fpr=0.1)
    assert point["fpr"] <= 0.1 and threshold > 0.8
    _, eer_point = choose_threshold(labels, probabilities)
    assert abs(eer_point["fpr"] - (1 - eer_point["tpr"])) <= 0.1 + 1e-9


def test_fusion_is_calibrated_and_round_trips():
    rng = np.random.default_rng(1)
    labels = np.r_[np.zeros(200), np.ones(200)].astype(int)
    logits = np.stack([labels * 2.0 + rng.normal(0, 1, 400), rng.normal(0, 1, 400)], axis=1)  # one informative input
    fusion = Fusion.fit(logits, labels, ["emo", "noise"])
    assert abs(fusion.weights[0]) > 5 * abs(fusion.weights[1])
    probabilities = fusion.probability(logits)  # balanced set: the posterior at prior 0.5 is calibrated
    assert expected_calibration_error(labels, probabilities) < 0.08
    assert (fusion.llr(logits) >= fusion.decision_threshold(0.5)).tolist() == (
        probabilities >= fusion.threshold
    ).tolist()
    assert Fusion.from_dict(fusion.to_dict()) == fusion
    assert Fusion.mean(logits, labels, ["emo", "noise"]).weights == (0.5, 0.5)


def test_average_precision_matches_scikit_learn_with_ties():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    for _ in range(100):
        labels = rng.integers(0, 2, int(rng.integers(2, 40)))
        labels[0] = 1
        scores = np.round(rng.normal(size=len(labels)), int(rng.integers(0, 3)))  # coarse rounding makes ties
        assert average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores), abs=1e-12)


# four test identities, each with one real and one fake clip; base ranks one fake below one real
GAIN_LABELS = np.array([0, 1, 0, 1, 0, 1, 0, 1])
GAIN_GROUPS = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
GAIN_BASE = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.6, 0.25])  # fake of d below reals of c and d: AUC 14/16
GAIN_BOOSTED = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.4, 0.95])  # every fake above every real: AUC 1


def test_paired_gain_by_hand():
    result = paired_gain([(GAIN_LABELS, GAIN_BASE, GAIN_BOOSTED, GAIN_GROUPS)], samples=500, seed=0)
    assert result["gain"] == pytest.approx(1 - 14 / 16) and result["per_set"] == [pytest.approx(2 / 16)]
    low, high = result["ci"]
    # boosted is perfect on every resample, so no draw has a negative gain; a draw without identity d
    # (probability (3/4)^4 = 32 %) has gain 0, so the 2.5th percentile is exactly 0
    assert low == 0 and result["gain"] < high <= 1
    # the mean over test sets, each with its own gain
    both = paired_gain(
        [(GAIN_LABELS, GAIN_BASE, GAIN_BOOSTED, GAIN_GROUPS), (GAIN_LABELS, GAIN_BASE, GAIN_BASE, GAIN_GROUPS)],
        samples=50,
    )
    assert both["gain"] == pytest.approx(1 / 16) and both["per_set"][1] == 0


def test_paired_gain_is_exactly_zero_when_both_rows_rank_alike():
    """Paired: a monotone rescaling of the base is the same detector, so every resample gives 0 (an unpaired
    bootstrap would give a wide interval around 0)."""
    result = paired_gain([(GAIN_LABELS, GAIN_BASE, GAIN_BASE**3 + 1, GAIN_GROUPS)], samples=200, seed=1)
    assert result["gain"] == 0 and result["ci"] == [0, 0] and result["samples"] > 100


def test_paired_gain_resamples_whole_identities():
    """Clips of one identity travel together: with shared identity effects the interval is wider than by clips."""
    rng = np.random.default_rng(0)
    labels = np.tile([0, 0, 0, 1, 1, 1], 6)
    groups = np.repeat([f"id{i}" for i in range(12)], 3)
    shift = np.repeat(rng.normal(0, 1.0, 12), 3)  # identity effects shared by every clip of a person
    base = shift + labels * 0.5 + rng.normal(0, 0.1, len(labels))
    boosted = base + labels * np.repeat(rng.normal(0.5, 0.5, 12), 3)
    by_identity = paired_gain([(labels, base, boosted, groups)], samples=300, seed=0)
    by_clip = paired_gain([(labels, base, boosted, np.arange(len(labels)))], samples=300, seed=0)
    assert by_identity["gain"] == by_clip["gain"]
    assert by_identity["ci"][1] - by_identity["ci"][0] > by_clip["ci"][1] - by_clip["ci"][0]
