"""LR validation metrics against values worked out by hand, and the verbal scale."""

import math

import numpy as np
import pytest

from emoboost.calibration import (
    cllr,
    cllr_min,
    det_curve,
    ece_balanced,
    elub_bounds,
    format_lr,
    llr_metrics,
    save_validation_plots,
    tippett,
    verbal,
)


def test_cllr_by_hand():
    # a system that always says LR = 1 costs exactly one bit
    assert cllr([0, 1], [0.0, 0.0]) == pytest.approx(1.0)
    # LR 3 for the fake and 1/3 for the real: each costs log2(1 + 1/3)
    assert cllr([0, 1], [-math.log(3), math.log(3)]) == pytest.approx(math.log2(4 / 3))
    # confidently wrong is worse than saying nothing: LR 1/3 for the fake, 3 for the real -> log2(4)
    assert cllr([0, 1], [math.log(3), -math.log(3)]) == pytest.approx(2.0)
    assert math.isnan(cllr([1, 1], [0.0, 1.0]))


def test_cllr_min_by_hand():
    # perfectly separated scores: PAV makes every LR 0 or infinite, no cost left
    assert cllr_min([0, 0, 1, 1], [-5.0, -4.0, 1.0, 2.0]) == pytest.approx(0.0)
    # the same separation with a badly calibrated offset: Cllr is high, Cllr_min still 0
    assert cllr([0, 0, 1, 1], [10.0, 11.0, 16.0, 17.0]) > 5 and cllr_min(
        [0, 0, 1, 1], [10.0, 11.0, 16.0, 17.0]
    ) == pytest.approx(0.0)
    # scores ordered the wrong way: PAV pools everything at the set's prior (LR 1): one bit
    assert cllr_min([1, 1, 0, 0], [-2.0, -1.0, 1.0, 2.0]) == pytest.approx(1.0)
    # labels 0,1,0,1 in score order: PAV pools (1,0) -> the posteriors are 0, 1/2, 1/2, 1 with prior 1/2,
    # so LRs 0, 1, 1, inf: the two pooled clips cost one bit each, averaged per class -> 1/2
    assert cllr_min([0, 1, 0, 1], [1.0, 2.0, 3.0, 4.0]) == pytest.approx(0.5)


def test_ece_at_the_balanced_prior_ignores_the_class_balance():
    # LR 1 everywhere, three real clips and one fake: at the balanced prior the posterior 0.5 is right
    assert ece_balanced([0, 0, 0, 1], [0.0] * 4) == pytest.approx(0.0)
    # LR 3 (posterior 0.75) for one real and one fake clip: the observed share is 0.5 -> 0.25
    assert ece_balanced([0, 1], [math.log(3)] * 2) == pytest.approx(0.25)


def test_tippett_and_det_by_hand():
    labels = np.array([0, 0, 1, 1])
    llrs = np.log(10.0) * np.array([-2.0, 0.5, -0.5, 1.0])  # log10 LRs -2, 0.5 (real); -0.5, 1 (fake)
    curves = tippett(labels, llrs)
    at = {round(float(x), 6): i for i, x in enumerate(curves["log10_lr"])}
    assert curves["real"][at[0.5]] == 0.5 and curves["fake"][at[0.5]] == 0.5  # one of each at or above 0.5
    assert curves["real"][at[-2.0]] == 1.0 and curves["fake"][at[1.0]] == 0.5 and curves["real"][at[1.0]] == 0.0
    assert curves["real"][-1] == 0.0 and curves["fake"][0] == 1.0
    det = det_curve(labels, llrs)
    at_zero = np.searchsorted(det["threshold"], 0.0)  # the first threshold above 0 is log(10) * 0.5
    assert det["false_alarm"][at_zero] == 0.5 and det["miss"][at_zero] == 0.5
    assert det["false_alarm"][-1] == 0.0 and det["miss"][-1] == 1.0


def test_llr_metrics_and_plots(tmp_path):
    labels = np.array([0, 0, 0, 1, 1, 1])
    llrs = np.array([-2.0, -1.0, 0.5, -0.2, 1.0, 3.0])
    result = llr_metrics(labels, llrs)
    assert (
        result["cllr_cal"] == pytest.approx(result["cllr"] - result["cllr_min"])
        and 0 <= result["cllr_min"] <= result["cllr"]
    )
    assert result["misleading_real"] == pytest.approx(1 / 3) and result["misleading_fake"] == pytest.approx(1 / 3)
    assert result["fpr"] == pytest.approx(1 / 3) and result["tpr"] == pytest.approx(2 / 3) and result["n_real"] == 3
    paths = save_validation_plots(tmp_path, {"fusion": (labels, llrs), "emo": (labels, llrs * 0.5)}, "held out: demo")
    assert all(path.stat().st_size > 5000 for path in paths.values())


@pytest.mark.parametrize(
    "lr, words",
    [
        (1.0, "no meaningful support for either proposition"),
        (1.1, "no meaningful support for either proposition"),
        (1 / 1.2, "no meaningful support for either proposition"),
        (1.99, "no meaningful support for either proposition"),
        (2.0, "weak support for manipulated"),
        (1 / 2.5, "weak support for authentic"),
        (5.0, "weak support for manipulated"),
        (50.0, "moderate support for manipulated"),
        (500.0, "moderately strong support for manipulated"),
        (5e3, "strong support for manipulated"),
        (5e5, "very strong support for manipulated"),
        (5e6, "extremely strong support for manipulated"),
        (1 / 50, "moderate support for authentic"),
        (1 / 2e4, "very strong support for authentic"),
    ],
)
def test_verbal_scale(lr, words):
    assert verbal(math.log(lr)) == words


def test_lr_for_people():
    assert (
        format_lr(math.log(8.2)) == "LR 8.2"
        and format_lr(-math.log(45)) == "LR 1/45"
        and format_lr(math.log(1234)) == "LR 1,234"
    )
    assert format_lr(math.log(2.5e7)) == "LR 2.5e+07"


# ELUB: the cases and expected bounds of the NFI lir test suite (tests/algorithms/test_bayeserror.py, Apache-2.0),
# LRs given here as natural-log LLRs
ELUB_CASES = [
    ([np.inf, 0], [1, 0], (1, 1)),
    ([np.inf] * 3 + [0] * 3, [1, 1, 1, 0, 0, 0], (0.3388442, 2.9512092)),
    ([0.01, 0.1, 1, 10, 100], [1, 1, 1, 0, 0], (1, 1)),
    ([0.01, 0.1, 1, 10, 100], [0, 0, 1, 1, 1], (0.3801894, 1.4791084)),
    ([0.01, 0.1, 1, 10, 100], [0, 0, 0, 1, 1], (0.6760830, 2.6302680)),
    ([1, 1], [1, 0], (1, 1)),
    ([10] * 10, [1] * 9 + [0], (1, 1)),
    ([10] * 10 + [1], [1] * 10 + [0], (1, 1.7782794)),
    ([1000] * 10 + [1.1], [1] * 10 + [0], (1, 1)),
]


@pytest.mark.parametrize(("lrs", "labels", "expected"), ELUB_CASES)
def test_elub_bounds_match_the_reference_cases(lrs, labels, expected):
    with np.errstate(divide="ignore"):
        low, high = elub_bounds(np.array(labels), np.log(np.array(lrs, np.float64)))
    assert (math.exp(low), math.exp(high)) == pytest.approx(expected, abs=1e-6)


def test_elub_grows_with_a_well_separated_set_and_is_capped_by_its_size():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    llrs = np.concatenate([rng.normal(-4, 1, 200), rng.normal(4, 1, 200)])
    low, high = elub_bounds(labels, llrs)
    assert -math.log(201) - 1e-9 <= low < -math.log(20) and math.log(20) < high <= math.log(201) + 1e-9
    with pytest.raises(ValueError, match="real and fake"):
        elub_bounds(np.zeros(3), np.zeros(3))
