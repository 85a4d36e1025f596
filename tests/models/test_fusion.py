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
