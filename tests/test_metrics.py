"""Metrics against values computed by hand."""

import numpy as np
import pytest

from emoboost.metrics import accuracy, auc, average_precision, bootstrap_interval, eer, evaluate, expected_calibration_error
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
    assert (fusion.llr(logits) >= fusion.decision_threshold(0.5)).tolist() == (probabilities >= fusion.threshold).tolist()
    assert Fusion.from_dict(fusion.to_dict()) == fusion
    assert Fusion.mean(logits, labels, ["emo", "noise"]).weights == (0.5, 0.5)
