"""Video-level metrics, in one place: AUC, AP, EER (and its threshold), accuracy, calibration error,
and the paired identity bootstrap of a gain between two detectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(labels).astype(int).ravel(), np.asarray(scores, np.float64).ravel()
    if len(labels) != len(scores):
        raise ValueError("labels and scores differ in length")
    return labels, scores


def both_classes(labels: np.ndarray) -> bool:
    labels = np.asarray(labels)
    return bool((labels == 0).any() and (labels == 1).any())


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (a random fake scores above a random real; ties count half). NaN with one class."""
    labels, scores = _check(labels, scores)
    if not both_classes(labels):
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: sum over thresholds of (recall step) x precision, as scikit-learn's step-wise AP.

    NaN with no fakes.

    Computed here with numpy (ties grouped into one threshold): the bootstrap calls it thousands of times."""
    labels, scores = _check(labels, scores)
    positives = int((labels == 1).sum())
    if not positives:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, hits = scores[order], (labels[order] == 1).astype(np.float64)
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    true_positives = np.cumsum(hits)[last_of_tie]
    precision = true_positives / (last_of_tie + 1)
    recall_step = np.diff(np.r_[0.0, true_positives]) / positives
    return float(np.sum(recall_step * precision))


def eer(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Equal error rate and the score threshold where the false-positive and false-negative rates meet."""
    labels, scores = _check(labels, scores)
    if not both_classes(labels):
        return float("nan"), float("nan")
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(
        labels, scores, drop_intermediate=False
    )  # keep every point: the EER may sit on a dropped one
    fnr = 1 - tpr
    index = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[index] + fnr[index]) / 2), float(thresholds[index])


def accuracy(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> float:
    """Fraction of clips on the right side of ``threshold`` (fake when probability >= threshold)."""
    labels, probabilities = _check(labels, probabilities)
    return float(np.mean((probabilities >= threshold) == (labels == 1))) if len(labels) else float("nan")


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> float:
    """ECE: mean |fraction fake - mean probability| over equal-width probability bins, weighted by bin size."""
    labels, probabilities = _check(labels, probabilities)
    if not len(labels):
        return float("nan")
    index = np.minimum((probabilities * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.sum() * abs(labels[members].mean() - probabilities[members].mean())
    return float(total / len(labels))


def bootstrap_interval(
    labels: np.ndarray, scores: np.ndarray, metric, samples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(labels, scores)``, resampling real and fake clips separately."""
    labels, scores = _check(labels, scores)
    if not both_classes(labels) or samples <= 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    real, fake = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    values = []
    for _ in range(samples):
        chosen = np.concatenate([rng.choice(real, len(real)), rng.choice(fake, len(fake))])
        values.append(metric(labels[chosen], scores[chosen]))
    low, high = np.nanpercentile(values, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(low), float(high)


def evaluate(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float, bootstrap: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The benchmark's metrics for one detector on one test set (probabilities: the detector's calibrated outputs)."""
    labels, probabilities = _check(labels, probabilities)
    equal_error, _ = eer(labels, probabilities)
    result: dict[str, Any] = {
        "auc": auc(labels, probabilities),
        "ap": average_precision(labels, probabilities),
        "eer": equal_error,
        "acc": accuracy(labels, probabilities, threshold),
        "ece": expected_calibration_error(labels, probabilities),
        "n_real": int((labels == 0).sum()),
        "n_fake": int((labels == 1).sum()),
    }
    for name, metric in (("auc", auc), ("ap", average_precision)):
        low, high = bootstrap_interval(labels, probabilities, metric, bootstrap, seed)
        result[f"{name}_ci"] = [low, high]
    return result


def _identity_draw(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Clip indices of one resample: test identities drawn with replacement, each bringing all of its clips."""
    names, members = np.unique(groups, return_inverse=True)
    chosen = rng.integers(0, len(names), len(names))
    counts = np.bincount(chosen, minlength=len(names))
    return np.repeat(np.arange(len(groups)), counts[members])


def identity_mean(
    values: np.ndarray, groups: np.ndarray, samples: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, Any]:
    """The mean of per-item ``values`` (paired differences), with a percentile bootstrap over identities.

    Each draw resamples the identities with replacement, each bringing all of its items, so several
    items of one person count as one person's evidence. Returns ``mean``, ``ci``, ``n`` items,
    ``identities`` and ``share_positive`` (items with a value above 0).
    """
    values = np.asarray(values, float).ravel()
    groups = np.asarray(groups).astype(str).ravel()
    if len(values) != len(groups):
        raise ValueError("values and groups differ in length")
    if not len(values):
        return {"mean": float("nan"), "ci": [float("nan"), float("nan")], "n": 0, "identities": 0,
                "share_positive": float("nan")}  # fmt: skip
    rng = np.random.default_rng(seed)
    draws = [float(values[_identity_draw(groups, rng)].mean()) for _ in range(max(samples, 0))]
    low, high = np.percentile(draws, [(1 - level) / 2 * 100, (1 + level) / 2 * 100]) if draws else (np.nan, np.nan)
    return {
        "mean": float(values.mean()),
        "ci": [float(low), float(high)],
        "n": int(len(values)),
        "identities": int(len(np.unique(groups))),
        "share_positive": float(np.mean(values > 0)),
    }


def paired_gain(
    sets: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    metric=None,
    samples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Gain ``metric(boosted) - metric(base)`` averaged over test sets, with a paired bootstrap over identities.

    ``sets`` holds one ``(labels, base_scores, boosted_scores, groups)`` per test set (a fold, or a
    fold of one repeat); ``groups`` names each clip's identity. Each bootstrap draw resamples the
    identities of every set with replacement (an identity brings all of its clips), scores **both**
    rows on that same resample and averages the per-set gains, so the interval reflects how the
    gain varies with the people tested, not with clips of the same person. Returns ``gain`` (the
    mean over sets on the data as they are), ``per_set`` gains, ``ci`` (percentile interval of the
    mean gain) and ``samples`` used (draws where a set lost a class are skipped).
    """
    metric = metric or auc
    checked = []
    for labels, base, boosted, groups in sets:
        labels, base = _check(labels, base)
        _, boosted = _check(labels, boosted)
        groups = np.asarray(groups).astype(str).ravel()
        if len(groups) != len(labels):
            raise ValueError("groups and labels differ in length")
        checked.append((labels, base, boosted, groups))
    per_set = [metric(y, b2) - metric(y, b1) for y, b1, b2, _ in checked]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(samples):
        gains = []
        for labels, base, boosted, groups in checked:
            index = _identity_draw(groups, rng)
            if not both_classes(labels[index]):
                break
            gains.append(metric(labels[index], boosted[index]) - metric(labels[index], base[index]))
        else:
            draws.append(float(np.mean(gains)))
    low = high = float("nan")
    if draws:
        low, high = (float(v) for v in np.percentile(draws, [(1 - level) / 2 * 100, (1 + level) / 2 * 100]))
    return {
        "gain": float(np.mean(per_set)) if per_set else float("nan"),
        "per_set": [float(g) for g in per_set],
        "ci": [low, high],
        "samples": len(draws),
    }
