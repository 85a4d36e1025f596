"""Likelihood-ratio validation as forensic practice does it: Cllr, Cllr_min, ECE at the balanced prior, Tippett and DET.

Scores here are natural-log likelihood ratios (LLRs, ``log P(e | fake) / P(e | real)``), as
:class:`emoboost.models.fusion.Fusion` outputs. Definitions (Brümmer & du Preez 2006; Morrison
et al. 2021; Meuwly, Ramos & Haraksim 2017):

- ``Cllr = 1/2 [mean_fake log2(1 + 1/LR) + mean_real log2(1 + LR)]`` in bits: 0 is perfect, 1 is
  a system that always says LR = 1, above 1 is worse than saying nothing.
- ``Cllr_min``: the Cllr after the optimal monotonic recalibration of the same scores (pool
  adjacent violators on the pooled scores, the result turned back into LLRs by removing the set's
  own prior): the discrimination loss. ``Cllr - Cllr_min`` is the calibration loss.
- ECE at the balanced prior: posterior ``sigmoid(llr)`` against the observed share of fakes in
  ten equal-width bins, each class weighted to half of the total, so the test set's class balance
  does not enter.
- Tippett: for each class, the share of clips whose log10 LR is at least x; DET: miss rate against
  false-alarm rate on normal-deviate axes.
- ELUB, the empirical lower and upper bounds (Vergeer, van Es, de Jongh, Alberink & Stoel 2016,
  Science & Justice 56, 482-491): the LRs a validation set can support. For an LR threshold t
  the system's expected cost is ``P(LR <= t | fake) + t P(LR > t | real)`` with one misleading
  LR added to each class (an LR of 0 among the fakes, of infinity among the reals); a system that
  always says LR = 1 costs ``min(1, t)``. The bounds are the thresholds closest to LR 1 beyond
  which the system does worse than saying nothing, searched in steps of 0.01 in log10, and never
  beyond ``1 / (fake clips + 1)`` and ``real clips + 1``. An LR outside them is reported at the
  bound. Checked against the cases of the NFI's ``lir`` test suite.

The NFI's ``lir`` package implements these too; it pulls optuna, SQLAlchemy and alembic in
beside the project's pins (``pip install --dry-run lir``: 9 new packages), so the few functions
are written here and tested against values computed by hand.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

NEUTRAL_BAND = 2.0  # an LR between 1/2 and 2 supports neither proposition in words (decisions.md, verbal scale)
# ENFSI (2015) verbal equivalents: the lower bound of each LR range, and its wording
VERBAL_SCALE = (
    (1e6, "extremely strong"),
    (1e4, "very strong"),
    (1e3, "strong"),
    (1e2, "moderately strong"),
    (1e1, "moderate"),
    (NEUTRAL_BAND, "weak"),
)
PROPOSITIONS = ("manipulated", "authentic")
ECE_BINS = 10
DET_RANGE = (0.005, 0.97)  # error rates shown on a DET plot


def _check(labels: np.ndarray, llrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, llrs = np.asarray(labels).astype(int).ravel(), np.asarray(llrs, np.float64).ravel()
    if len(labels) != len(llrs):
        raise ValueError("labels and LLRs differ in length")
    return labels, llrs


def verbal(llr: float) -> str:
    """The LR's verbal equivalent: ``"moderate support for manipulated"`` (LR 10-100), "... for authentic" (LR < 1);
    from 1/2 to 2 ``"no meaningful support for either proposition"``."""
    if llr is None or math.isnan(llr):
        return "no likelihood ratio"
    ratio = math.exp(min(abs(llr), 700.0))
    if ratio < NEUTRAL_BAND:
        return "no meaningful support for either proposition"
    proposition = PROPOSITIONS[0] if llr > 0 else PROPOSITIONS[1]
    for bound, words in VERBAL_SCALE:
        if ratio >= bound:
            return f"{words} support for {proposition}"
    raise AssertionError("unreachable: ratio >= 1")


ELUB_STEP = 0.01  # log10 resolution of the bounds


def _expected_cost(lrs: np.ndarray, labels: np.ndarray, thresholds: np.ndarray, misleading: int) -> np.ndarray:
    """``P(LR <= t | fake) + t P(LR > t | real)`` per threshold ``t``, with ``misleading`` LRs of 0 added to the fakes
    and of infinity to the reals."""
    accept = lrs[:, None] > thresholds[None, :]
    fake, real = accept[labels == 1], accept[labels == 0]
    fake_accepted = fake.sum(axis=0) / (len(fake) + misleading)  # a misleading fake (LR 0) is never above t
    real_accepted = (real.sum(axis=0) + misleading) / (len(real) + misleading)  # a misleading real (LR inf) always
    return 1.0 - fake_accepted + thresholds * real_accepted


def elub_bounds(labels: np.ndarray, llrs: np.ndarray) -> tuple[float, float]:
    """The ELUB ``(lower, upper)`` as natural-log LLRs (lower <= 0 <= upper; ``(0, 0)``: the set supports no LR
    other than 1). Needs both classes."""
    labels, llrs = _check(labels, llrs)
    if not (labels == 0).any() or not (labels == 1).any():
        raise ValueError("ELUB needs real and fake validation clips")
    log10 = np.clip(llrs / math.log(10), -9.0, 9.0)  # LRs of 0 and infinity become 1e-9 and 1e9
    n_fake, n_real = int((labels == 1).sum()), int((labels == 0).sum())
    low = max(log10.min(), -math.log10(n_fake + 1))
    high = min(log10.max(), math.log10(n_real + 1))
    first, last = min(0, math.floor(low / ELUB_STEP)), max(0, math.floor(high / ELUB_STEP) + 1)
    grid = np.linspace(first * ELUB_STEP, last * ELUB_STEP, last - first + 1)
    thresholds = 10.0**grid
    neutral = np.minimum(1.0, thresholds)  # LR 1 everywhere: every clip accepted below t = 1, none from there
    worse = neutral / _expected_cost(10.0**log10, labels, thresholds, 1) < 1.0
    lower = (grid[(grid <= 0) & worse] + ELUB_STEP).max(initial=grid.min())  # the worse threshold nearest LR 1
    upper = (grid[(grid >= 0) & worse] - ELUB_STEP).min(initial=grid.max())
    return min(float(lower), 0.0) * math.log(10), max(float(upper), 0.0) * math.log(10)


def format_lr(llr: float) -> str:
    """The LR for people: ``"LR 8.2"``, ``"LR 1,230"``, ``"LR 1/45"`` below 1, ``"LR 2.5e+07"`` from 10^6."""
    ratio = math.exp(min(abs(llr), 700.0))
    shown = f"{ratio:.1e}" if ratio >= 1e6 else f"{ratio:.1f}" if ratio < 10 else f"{ratio:,.0f}"
    return f"LR {shown}" if llr >= 0 else f"LR 1/{shown}"


def cllr(labels: np.ndarray, llrs: np.ndarray) -> float:
    """Log-likelihood-ratio cost in bits (NaN without both classes)."""
    labels, llrs = _check(labels, llrs)
    if not ((labels == 0).any() and (labels == 1).any()):
        return float("nan")
    fake = np.logaddexp(0.0, -llrs[labels == 1]).mean()
    real = np.logaddexp(0.0, llrs[labels == 0]).mean()
    return float((fake + real) / 2 / math.log(2))


def pav_llrs(labels: np.ndarray, llrs: np.ndarray) -> np.ndarray:
    """The scores after the optimal monotonic (PAV) recalibration, as LLRs (+-inf where a pool holds one class)."""
    from sklearn.isotonic import IsotonicRegression

    labels, llrs = _check(labels, llrs)
    posterior = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True).fit_transform(llrs, labels.astype(np.float64))
    prior_odds = math.log(labels.mean() / (1 - labels.mean()))
    with np.errstate(divide="ignore"):
        return np.log(posterior) - np.log1p(-posterior) - prior_odds


def cllr_min(labels: np.ndarray, llrs: np.ndarray) -> float:
    """Cllr after PAV recalibration: the discrimination part of Cllr (NaN without both classes)."""
    labels, llrs = _check(labels, llrs)
    if not ((labels == 0).any() and (labels == 1).any()):
        return float("nan")
    return cllr(labels, pav_llrs(labels, llrs))


def ece_balanced(labels: np.ndarray, llrs: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error of the posterior at prior 0.5, each class weighted to half (NaN without both)."""
    labels, llrs = _check(labels, llrs)
    if not ((labels == 0).any() and (labels == 1).any()):
        return float("nan")
    posterior = 1.0 / (1.0 + np.exp(-np.clip(llrs, -60, 60)))
    weight = np.where(labels == 1, 0.5 / (labels == 1).sum(), 0.5 / (labels == 0).sum())
    index = np.minimum((posterior * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():  # |weighted fakes - weighted posterior| = bin weight x |share of fakes - mean posterior|
            total += abs(np.dot(weight[members], labels[members]) - np.dot(weight[members], posterior[members]))
    return float(total)


def tippett(labels: np.ndarray, llrs: np.ndarray) -> dict[str, np.ndarray]:
    """Tippett curves: ``log10_lr`` (sorted grid) and, per class, the share of clips with log10 LR >= each value."""
    labels, llrs = _check(labels, llrs)
    grid = np.unique(llrs / math.log(10))
    grid = np.r_[grid[0] - 0.5, grid, grid[-1] + 0.5] if len(grid) else grid
    result = {"log10_lr": grid}
    for name, value in (("real", 0), ("fake", 1)):
        scores = np.sort(llrs[labels == value] / math.log(10))
        result[name] = 1.0 - np.searchsorted(scores, grid, side="left") / max(len(scores), 1)
    return result


def det_curve(labels: np.ndarray, llrs: np.ndarray) -> dict[str, np.ndarray]:
    """False-alarm (real called fake) and miss (fake called real) rates at every LLR threshold."""
    labels, llrs = _check(labels, llrs)
    thresholds = np.r_[np.unique(llrs), np.inf]
    real, fake = np.sort(llrs[labels == 0]), np.sort(llrs[labels == 1])
    false_alarm = 1.0 - np.searchsorted(real, thresholds, side="left") / max(len(real), 1)
    miss = np.searchsorted(fake, thresholds, side="left") / max(len(fake), 1)
    return {"threshold": thresholds, "false_alarm": false_alarm, "miss": miss}


def llr_metrics(labels: np.ndarray, llrs: np.ndarray, threshold: float = 0.0) -> dict[str, Any]:
    """Cllr, Cllr_min, calibration loss, balanced ECE, EER, rates of misleading evidence, FPR / TPR at ``threshold``."""
    from emoboost.metrics import eer

    labels, llrs = _check(labels, llrs)
    real, fake = llrs[labels == 0], llrs[labels == 1]
    total, minimum = cllr(labels, llrs), cllr_min(labels, llrs)
    return {
        "cllr": total,
        "cllr_min": minimum,
        "cllr_cal": total - minimum,
        "ece_balanced": ece_balanced(labels, llrs),
        "eer": eer(labels, llrs)[0],
        "misleading_real": float((real > 0).mean()) if len(real) else float("nan"),  # real clips with LR > 1
        "misleading_fake": float((fake < 0).mean()) if len(fake) else float("nan"),  # fake clips with LR < 1
        "fpr": float((real >= threshold).mean()) if len(real) else float("nan"),
        "tpr": float((fake >= threshold).mean()) if len(fake) else float("nan"),
        "threshold": float(threshold),
        "n_real": len(real),
        "n_fake": len(fake),
    }


# -- plots --------------------------------------------------------------------------------------
def plot_tippett(axis, labels: np.ndarray, llrs: np.ndarray, name: str = "") -> None:
    """Draw the Tippett curves of one system on a matplotlib axis (log10 LR on x)."""
    curves = tippett(labels, llrs)
    prefix = f"{name}: " if name else ""
    axis.step(curves["log10_lr"], curves["fake"], where="post", color="#d62728", label=f"{prefix}fake clips")
    axis.step(curves["log10_lr"], curves["real"], where="post", color="#2ca02c", label=f"{prefix}real clips")
    axis.axvline(0.0, color="0.5", linewidth=0.8, linestyle=":")
    axis.set(xlabel="log10 LR (> 0 supports manipulated)", ylabel="share of clips with log10 LR >= x", ylim=(0, 1.02))


def plot_det(axis, labels: np.ndarray, llrs: np.ndarray, name: str = "") -> None:
    """Draw one system's DET curve on a matplotlib axis (normal-deviate scales, ticks in %)."""
    from scipy.stats import norm

    curve = det_curve(labels, llrs)
    low, high = DET_RANGE  # rates of 0 and 1 are drawn on the plot's edges
    x = norm.ppf(np.clip(curve["false_alarm"], low, high))
    y = norm.ppf(np.clip(curve["miss"], low, high))
    axis.plot(x, y, label=name or None, linewidth=1.5)
    ticks = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95])
    axis.set_xticks(norm.ppf(ticks), [f"{t * 100:g}" for t in ticks])
    axis.set_yticks(norm.ppf(ticks), [f"{t * 100:g}" for t in ticks])
    axis.set(xlabel="false alarm: real called fake (%)", ylabel="miss: fake called real (%)")
    limit = norm.ppf(DET_RANGE)
    axis.set_xlim(*limit)
    axis.set_ylim(*limit)


def save_validation_plots(
    folder: str | Path, systems: dict[str, tuple[np.ndarray, np.ndarray]], title: str = ""
) -> dict[str, Path]:
    """Write ``tippett.png`` (a panel per system) and ``det.png`` (all systems) into ``folder``; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emoboost.files import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"tippett": folder / "tippett.png", "det": folder / "det.png"}
    fig, axes = plt.subplots(1, len(systems), figsize=(4.2 * len(systems), 3.6), squeeze=False)
    try:
        for axis, (name, (labels, llrs)) in zip(axes[0], systems.items(), strict=False):
            plot_tippett(axis, labels, llrs)
            axis.set_title(f"{name}  (Cllr {cllr(labels, llrs):.3f})", fontsize=10)
        axes[0][0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False, fontsize=8)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        with atomic_path(paths["tippett"]) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
    fig, axis = plt.subplots(figsize=(6.5, 4.5))
    try:
        for name, (labels, llrs) in systems.items():
            plot_det(axis, labels, llrs, name)
        axis.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=8)
        axis.set_title(title, fontsize=10)
        fig.tight_layout()
        with atomic_path(paths["det"]) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
    return paths
