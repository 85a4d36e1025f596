"""EMO-BOOST fusion: its output is a log-likelihood ratio, free of the calibration set's class balance."""

import json
import math

import numpy as np
import pytest

from emoboost.errors import ConfigError
from emoboost.models.fusion import Fusion, bayes_threshold


def gaussian_set(n_real: int, n_fake: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One logit per clip, N(0, 1) for real and N(2, 1) for fake: the true LLR is 2x - 2."""
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(n_real), np.ones(n_fake)].astype(int)
    return (labels * 2.0 + rng.normal(0, 1, len(labels)))[:, None], labels


@pytest.mark.parametrize("n_real, n_fake", [(200, 800), (800, 200), (500, 500)])
def test_output_is_the_likelihood_ratio_whatever_the_class_balance(n_real, n_fake):
    logits, labels = gaussian_set(n_real, n_fake)
    fusion = Fusion.fit(logits, labels, ["emo"], regularisation=1e6)
    # the true LLR of two unit Gaussians 2 apart is 2x - 2; an 80 % fake set must not shift it by log(4)
    assert fusion.weights[0] == pytest.approx(2.0, abs=0.25) and fusion.bias == pytest.approx(-2.0, abs=0.25)
    assert fusion.llr(np.array([[1.0]]))[0] == pytest.approx(0.0, abs=0.25)  # midway: LR 1


def test_posterior_and_bayes_threshold_follow_the_prior():
    logits, labels = gaussian_set(300, 300)
    fusion = Fusion.fit(logits, labels, ["emo"])
    x = np.array([[1.5]])
    llr = fusion.llr(x)[0]
    for prior in (0.1, 0.5, 0.9):
        expected = 1 / (1 + math.exp(-(llr + math.log(prior / (1 - prior)))))
        assert fusion.probability(x, prior)[0] == pytest.approx(expected)
        # deciding "fake" at the Bayes threshold is the same as a posterior of at least 1/2
        assert (llr >= fusion.decision_threshold(prior)) == (fusion.probability(x, prior)[0] >= 0.5)
    assert fusion.operating_point["rule"] == "bayes" and fusion.decision_threshold(0.5) == 0.0
    assert bayes_threshold(0.2) == pytest.approx(math.log(4))
    with pytest.raises(ConfigError, match="prior"):
        fusion.decision_threshold(1.0)


def test_target_fpr_and_operating_points_come_from_the_calibration_llrs():
    logits, labels = gaussian_set(100, 100)
    fusion = Fusion.fit(logits, labels, ["emo"], target_fpr=0.05)
    point = fusion.operating_point_at(fusion.llr_threshold)
    assert (
        point["fpr"] <= 0.05
        and point["fpr"] == pytest.approx(fusion.operating_point["fpr"])
        and point["real_clips"] == 100
    )
    assert fusion.decision_threshold(0.1) == fusion.llr_threshold  # a fixed-FPR threshold ignores the prior
    bayes = Fusion.fit(logits, labels, ["emo"])  # --target-fpr at detect time, on a Bayes-rule fusion
    assert bayes.operating_point_at(bayes.decision_threshold(0.5, target_fpr=0.05))["fpr"] <= 0.05


def test_round_trip_and_old_format_refused():
    logits, labels = gaussian_set(50, 80)
    fusion = Fusion.fit(logits, labels, ["emo"])
    again = Fusion.from_dict(json.loads(json.dumps(fusion.to_dict())))
    assert again == fusion and len(again.calibration_llrs()[0]) == 50
    old = {
        "format": "emoboost.fusion/1",
        "inputs": ["emo"],
        "weights": [1.0],
        "bias": 1.1,
        "threshold": 0.81,
        "operating_point": {},
    }
    with pytest.raises(ConfigError, match="not likelihood ratios.*retrain"):
        Fusion.from_dict(old)


def three_detector_set(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """emo, rgb, acoustic logits; rgb's real clips centre at +3 and fakes at +5, so a missing rgb counted as 0
    would read as strong evidence of "real"; every third clip has no rgb score."""
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(300), np.ones(300)].astype(int)
    logits = np.stack(
        [labels * 1.0 + rng.normal(0, 1, 600), 3 + labels * 2.0 + rng.normal(0, 1, 600), rng.normal(0, 1, 600)],
        axis=1,
    )
    logits[::3, 1] = np.nan
    return logits, labels


def test_a_missing_score_gets_the_fusion_of_the_scores_the_clip_has():
    from emoboost.calibration import cllr

    logits, labels = three_detector_set()
    fusion = Fusion.fit(logits, labels, ["emo", "rgb", "acoustic"])
    assert set(fusion.subsets) == {"emo", "rgb", "acoustic", "emo+rgb", "emo+acoustic", "rgb+acoustic"}
    # the subset without rgb is the fusion fitted on emo and acoustic alone, on every clip (rgb or not)
    alone = Fusion.fit(logits[:, [0, 2]], labels, ["emo", "acoustic"])
    subset = fusion.subsets["emo+acoustic"]
    assert subset["weights"] == pytest.approx(list(alone.weights)) and subset["bias"] == pytest.approx(alone.bias)
    assert subset["clips"] == [300, 300]
    missing = np.isnan(logits[:, 1])
    assert fusion.llr(logits)[missing] == pytest.approx(alone.llr(logits[missing][:, [0, 2]]))
    complete = ~missing
    assert fusion.llr(logits)[complete] == pytest.approx(logits[complete] @ np.array(fusion.weights) + fusion.bias)
    # calibrated, where the old rule (the missing logit as 0) is not: every clip without rgb looked real
    old = np.nan_to_num(logits[missing], nan=0.0) @ np.array(fusion.weights) + fusion.bias
    assert cllr(labels[missing], fusion.llr(logits)[missing]) < 0.9 < cllr(labels[missing], old)
    # shares add up to the subset's LLR, rgb's is 0; the bounds are the subset's ELUB
    row = logits[np.flatnonzero(missing)[0]]
    shares = fusion.contributions(list(row))
    assert shares["rgb"] == 0.0 and sum(shares.values()) == pytest.approx(fusion.llr(row[None])[0])
    assert fusion.llr_bounds(["emo", "acoustic"]) == tuple(subset["elub"]) != fusion.llr_bounds()
    assert fusion.llr_bounds(["emo", "rgb", "acoustic"]) == fusion.llr_bounds()
    # no score at all: no evidence
    assert fusion.llr(np.full((1, 3), np.nan))[0] == 0.0 and fusion.llr_bounds([]) == (0.0, 0.0)


def test_subset_fusions_are_stored_and_checked_and_old_fusions_fall_back_to_logit_zero():
    logits, labels = three_detector_set(1)
    fusion = Fusion.fit(logits, labels, ["emo", "rgb", "acoustic"])
    again = Fusion.from_dict(json.loads(json.dumps(fusion.to_dict())))
    assert again.subsets == fusion.subsets
    assert again.llr(logits) == pytest.approx(fusion.llr(logits), nan_ok=False)
    data = fusion.to_dict()
    data["subsets"] = {"acoustic+emo": data["subsets"]["emo+acoustic"]}  # not in the inputs' order
    with pytest.raises(ConfigError, match="acoustic\\+emo"):
        Fusion.from_dict(data)
    data = fusion.to_dict()
    del data["subsets"]  # written before subset fusions existed
    old = Fusion.from_dict(data)
    row = logits[:1]
    assert np.isnan(row[0, 1]) and old.subset(["emo", "acoustic"]) is None
    assert old.llr(row)[0] == pytest.approx(row[0, 0] * old.weights[0] + row[0, 2] * old.weights[2] + old.bias)
    # the mean baseline averages the logits a clip has
    mean = Fusion.mean(logits, labels, ["emo", "rgb", "acoustic"])
    assert mean.llr(row)[0] == pytest.approx((row[0, 0] + row[0, 2]) / 2)


@pytest.mark.parametrize("regularisation", [0.01, 1.0, 1e6])
def test_the_newton_fit_is_scikit_learns_logistic_regression_at_its_optimum(regularisation):
    from sklearn.linear_model import LogisticRegression

    from emoboost.models.fusion import fit_logistic

    rng = np.random.default_rng(3)
    labels = np.r_[np.zeros(300), np.ones(100)].astype(int)
    logits = rng.normal(size=(400, 3)) + labels[:, None] * np.array([1.0, 0.5, 0.0])
    weights, bias = fit_logistic(logits, labels, regularisation, 0.5)
    sample_weight = np.where(labels == 1, 0.5 * 400 / 100, 0.5 * 400 / 300)
    model = LogisticRegression(C=regularisation, max_iter=10000, tol=1e-10).fit(
        logits, labels, sample_weight=sample_weight
    )
    assert weights == pytest.approx(list(model.coef_[0]), abs=1e-6)
    assert bias == pytest.approx(float(model.intercept_[0]), abs=1e-6)  # logit(0.5) = 0: no prior offset
    # a separable set stays finite (the penalty), as in scikit-learn
    separable = np.r_[rng.normal(-3, 0.1, (20, 1)), rng.normal(3, 0.1, (20, 1))]
    split = np.r_[np.zeros(20), np.ones(20)].astype(int)
    assert fit_logistic(separable, split, 1.0, 0.5)[0] == pytest.approx(
        list(LogisticRegression(C=1.0, tol=1e-10).fit(separable, split).coef_[0]), abs=1e-5
    )
