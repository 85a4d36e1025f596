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


def _correlated_set(seed: int = 0, identities: int = 20):
    """One real and one fake clip per identity; the boosted row gains on some people and loses on others."""
    rng = np.random.default_rng(seed)
    labels = np.tile([0, 1], identities)
    groups = np.repeat([f"id{i:02d}" for i in range(identities)], 2)
    base = labels * 0.6 + rng.normal(0, 0.5, len(labels))
    boosted = base + labels * np.repeat(rng.normal(0.2, 0.8, identities), 2)
    return labels, groups, (base, boosted)


def _gain(labels, base, boosted):
    return auc(labels, boosted) - auc(labels, base)


def test_shared_draws_widen_the_interval_of_folds_that_share_people():
    """Five folds on the same test people (as in one partition): their gains move together, so the mean's
    interval is as wide as one fold's; drawing people independently per fold shrinks it about sqrt(5)-fold."""
    from emoboost.metrics import IdentityDraws, shared_intervals

    labels, groups, (base, boosted) = _correlated_set()
    folds = [(labels, groups, (base, boosted))] * 5
    draws = IdentityDraws([groups] * 5, samples=400, seed=0)
    per_fold, means = shared_intervals(folds, _gain, draws)
    shared = means["mean"]["ci"]
    independent = paired_gain([(labels, base, boosted, groups)] * 5, auc, samples=400, seed=0)["ci"]
    one = per_fold[0]["ci"]
    assert means["mean"]["value"] == pytest.approx(_gain(labels, base, boosted))
    assert shared == pytest.approx(one)  # identical folds on one draw: the mean is each fold
    assert shared[1] - shared[0] > 1.5 * (independent[1] - independent[0])
    # folds that share no one are independent under the shared draws too
    disjoint = [(labels, groups, (base, boosted)), (labels, np.char.add("x", groups.astype(str)), (base, boosted))]
    _, apart = shared_intervals(disjoint, _gain, IdentityDraws([d[1] for d in disjoint], 400, 0))
    assert apart["mean"]["ci"][1] - apart["mean"]["ci"][0] < 0.85 * (one[1] - one[0])


def test_no_interval_where_none_can_be_estimated():
    from emoboost.metrics import MIN_CLIPS_PER_CLASS, IdentityDraws, shared_intervals

    labels, groups, (base, boosted) = _correlated_set()
    few = np.r_[np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)[: MIN_CLIPS_PER_CLASS - 1]]
    sets = [(labels, groups, (base, boosted)), (labels[few], groups[few], (base[few], boosted[few]))]
    per_set, means = shared_intervals(sets, _gain, IdentityDraws([groups], 200, 0))
    assert per_set[0]["ci"] is not None and per_set[0]["why"] is None
    assert per_set[1]["ci"] is None and f"{MIN_CLIPS_PER_CLASS - 1} fake clips" in per_set[1]["why"]
    assert means["mean"]["ci"] is None and "a test set has" in means["mean"]["why"]
    # a gain that never reorders its base: exactly 0 on every draw, reported as no interval, never [0, 0]
    (same,), _ = shared_intervals([(labels, groups, (base, base * 2 + 1))], _gain, IdentityDraws([groups], 100, 0))
    assert same["value"] == 0 and same["ci"] is None and "every resample gives 0" in same["why"]
    # four people: too few distinct resamples
    four = np.isin(groups, ["id00", "id01", "id02", "id03"])
    small = (labels[four].repeat(3), groups[four].repeat(3), (base[four].repeat(3), boosted[four].repeat(3)))
    (entry,), _ = shared_intervals([small], _gain, IdentityDraws([small[1]], 100, 0))
    assert entry["ci"] is None and "4 test identities" in entry["why"]
    with pytest.raises(ValueError, match="not built from"):
        IdentityDraws([groups[:4]], 10, 0).members(groups)


def test_hierarchical_interval_adds_between_repeat_variance():
    """Two repeats (retrained models) on the same people, one gaining and one losing: resampling repeats first
    spreads the pooled interval over both; pooling every fold as independent draws hides the disagreement."""
    from emoboost.metrics import hierarchical_interval

    labels, groups, (base, _) = _correlated_set(0)
    rng = np.random.default_rng(1)
    gaining = (labels, groups, (base, base + labels * 0.8 + rng.normal(0, 0.2, len(labels))))
    losing = (labels, groups, (base, base - labels * 0.8 + rng.normal(0, 0.2, len(labels))))
    pooled = hierarchical_interval([[gaining], [losing]], _gain, samples=300, seed=0)
    expected = (_gain(labels, *gaining[2]) + _gain(labels, *losing[2])) / 2
    assert pooled["value"] == pytest.approx(expected) and pooled["repeats"] == 2
    low, high = pooled["ci"]
    assert low < _gain(labels, *losing[2]) / 2 and high > _gain(labels, *gaining[2]) / 2
    flat = paired_gain([(labels, *gaining[2], groups), (labels, *losing[2], groups)], auc, samples=300, seed=0)["ci"]
    assert high - low > 1.5 * (flat[1] - flat[0])
    single = hierarchical_interval([[gaining]], _gain, samples=50, seed=0)
    assert single["ci"] is None and "one repeat" in single["why"]
