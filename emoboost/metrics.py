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
    labels: np.ndarray, probabilities: np.ndarray, threshold: float, bootstrap: int = 0, seed: int = 0
) -> dict[str, Any]:
    """The benchmark's metrics for one detector on one test set (probabilities: the detector's calibrated outputs).

    With ``bootstrap`` > 0, also ``auc_ci`` / ``ap_ci`` from a clip bootstrap (:func:`bootstrap_interval`); the
    benchmark computes its intervals over identities instead (:func:`shared_intervals`)."""
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
    for name, metric in (("auc", auc), ("ap", average_precision)) if bootstrap > 0 else ():
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
    items of one person count as one person's evidence. Returns ``mean``, ``ci`` (None with ``why`` when
    :data:`INTERVAL_RULES` allow none), ``n`` items,
    ``identities`` and ``share_positive`` (items with a value above 0).
    """
    values = np.asarray(values, float).ravel()
    groups = np.asarray(groups).astype(str).ravel()
    if len(values) != len(groups):
        raise ValueError("values and groups differ in length")
    if not len(values):
        return {"mean": float("nan"), "ci": None, "why": "no items", "n": 0, "identities": 0,
                "share_positive": float("nan")}  # fmt: skip
    rng = np.random.default_rng(seed)
    draws = np.array([float(values[_identity_draw(groups, rng)].mean()) for _ in range(max(samples, 0))])
    interval = interval_from(draws, samples, level, None, len(np.unique(groups)))
    return {
        "mean": float(values.mean()),
        "ci": interval["ci"],
        "why": interval["why"],
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


# --- Intervals over identities, one resample shared by every test set -------------------------------------------

MIN_CLIPS_PER_CLASS = 5  # fewer real or fake clips in a test set: no interval
MIN_IDENTITIES = 5  # fewer test identities: an identity bootstrap has too few distinct resamples
MIN_VALID_SHARE = 0.9  # fewer resamples keeping both classes in every set: no interval
INTERVAL_RULES = (
    f"no interval when a test set has fewer than {MIN_CLIPS_PER_CLASS} real or fake clips or the sets fewer than "
    f"{MIN_IDENTITIES} identities, when under {MIN_VALID_SHARE:.0%} of resamples keep both classes, or when every "
    "resample gives the same value"
)


class IdentityDraws:
    """Bootstrap resamples of identities, each draw shared by every test set that holds them.

    One draw picks ``n`` identities with replacement from the ``n`` identities of all the sets
    (their union) and gives every clip of identity ``i`` the multiplicity ``count[i]`` in every set.
    Sets that share people (the folds of one partition: each keeps every real clip of the same
    test identities) move together, so the interval of a mean over folds carries their
    correlation instead of averaging it away, as independent draws per set would.
    """

    def __init__(self, groups: Sequence[np.ndarray], samples: int, seed: int = 0):
        arrays = [np.asarray(g).astype(str).ravel() for g in groups]
        self.names = np.unique(np.concatenate(arrays)) if arrays else np.array([], str)
        rng = np.random.default_rng(seed)
        n = len(self.names)
        self.counts = np.zeros((max(samples, 0), n), np.int32)
        for draw in range(max(samples, 0)):
            self.counts[draw] = np.bincount(rng.integers(0, n, n), minlength=n) if n else 0

    @property
    def samples(self) -> int:
        return len(self.counts)

    def members(self, groups: np.ndarray) -> np.ndarray:
        """Index of each clip's identity among :attr:`names` (every identity must be one of them)."""
        groups = np.asarray(groups).astype(str).ravel()
        index = np.searchsorted(self.names, groups)
        if len(groups) and (index.max() >= len(self.names) or (self.names[index] != groups).any()):
            raise ValueError("a test set holds an identity these draws were not built from")
        return index

    def indices(self, draw: int, members: np.ndarray) -> np.ndarray:
        """Clip indices of one set in draw ``draw`` (``members`` from :meth:`members`)."""
        return np.repeat(np.arange(len(members)), self.counts[draw, members])


def _percentile_interval(values: np.ndarray, level: float) -> list[float]:
    low, high = np.percentile(values, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return [float(low), float(high)]


def too_small(labels: np.ndarray, groups: np.ndarray) -> str | None:
    real, fake = int((labels == 0).sum()), int((labels == 1).sum())
    if min(real, fake) < MIN_CLIPS_PER_CLASS:
        return f"{real} real / {fake} fake clips (an interval needs {MIN_CLIPS_PER_CLASS} of each)"
    return None


def interval_from(
    values: np.ndarray, requested: int, level: float = 0.95, small: str | None = None, identities: int | None = None
) -> dict[str, Any]:
    """``{"ci": [low, high] | None, "why": reason | None, "samples": valid draws}`` from the draws' values
    (NaN where a draw lost a class), by the rules of :data:`INTERVAL_RULES`."""
    values = np.asarray(values, float)
    valid = values[np.isfinite(values)]
    why = small
    if why is None and identities is not None and identities < MIN_IDENTITIES:
        why = f"{identities} test identities (an interval needs {MIN_IDENTITIES})"
    if why is None and requested <= 0:
        why = "no bootstrap draws requested"
    if why is None and len(valid) < MIN_VALID_SHARE * requested:
        why = f"only {len(valid)} of {requested} resamples keep both classes in every test set"
    if why is None and valid.min() == valid.max():
        why = f"every resample gives {valid[0]:.4g} (no sampling variation to show)"
    return {"ci": None if why else _percentile_interval(valid, level), "why": why, "samples": int(len(valid))}


def shared_draw_values(
    sets: Sequence[tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]],
    statistic,
    draws: IdentityDraws,
) -> np.ndarray:
    """``statistic(labels, *arrays)`` of every set on every draw: an array ``(draws, sets)``, NaN where a
    resampled set lost a class. ``sets`` holds ``(labels, groups, arrays)`` per test set."""
    members = [draws.members(groups) for _, groups, _ in sets]
    out = np.full((draws.samples, len(sets)), np.nan)
    for draw in range(draws.samples):
        for column, ((labels, _, arrays), member) in enumerate(zip(sets, members, strict=True)):
            index = draws.indices(draw, member)
            if both_classes(labels[index]):
                out[draw, column] = statistic(labels[index], *(a[index] for a in arrays))
    return out


def shared_intervals(
    sets: Sequence[tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]],
    statistic,
    draws: IdentityDraws,
    level: float = 0.95,
    means: dict[str, Sequence[int]] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Each set's interval of ``statistic`` and the interval of its mean over sets, all from the same draws.

    ``means`` names the subsets of sets to average (default ``{"mean": every set}``). Returns
    ``(per_set, {name: mean})``, each entry as :func:`interval_from` plus ``value`` (on the data as
    they are)."""
    checked = [(np.asarray(y).astype(int).ravel(), np.asarray(g).astype(str).ravel(), a) for y, g, a in sets]
    values = shared_draw_values(checked, statistic, draws)
    points = [float(statistic(y, *a)) if both_classes(y) else float("nan") for y, _, a in checked]
    smalls = [too_small(y, g) for y, g, _ in checked]
    per_set = []
    for column, ((_, groups, _), small) in enumerate(zip(checked, smalls, strict=True)):
        entry = interval_from(values[:, column], draws.samples, level, small, len(np.unique(groups)))
        per_set.append({"value": points[column], **entry})
    out = {}
    for name, columns in (means if means is not None else {"mean": range(len(checked))}).items():
        columns = list(columns)
        if not columns:
            continue
        identities = len(np.unique(np.concatenate([checked[c][1] for c in columns])))
        small = next((f"a test set has {smalls[c]}" for c in columns if smalls[c]), None)
        out[name] = {
            "value": float(np.mean([points[c] for c in columns])),
            **interval_from(values[:, columns].mean(axis=1), draws.samples, level, small, identities),
        }  # a draw in which any set lost a class is NaN in the mean
    return per_set, out


def hierarchical_interval(
    repeats: Sequence[Sequence[tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]]],
    statistic,
    samples: int,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Interval of the mean over repeats of the mean over each repeat's sets, resampling twice per draw:
    the repeats with replacement, then, within each chosen repeat, its test identities (one draw shared by
    that repeat's sets). Between-repeat variance (partition, training seeds) and between-people variance
    both enter; clips of one person never count as independent evidence."""
    rng = np.random.default_rng(seed)
    checked = [[(np.asarray(y).astype(int).ravel(), np.asarray(g).astype(str).ravel(), a) for y, g, a in r]
               for r in repeats]  # fmt: skip
    points = [float(np.mean([statistic(y, *a) for y, _, a in r])) for r in checked]
    values = np.full(max(samples, 0), np.nan)
    for draw in range(max(samples, 0)):
        chosen = rng.integers(0, len(checked), len(checked))
        means = []
        for k in chosen:
            one = IdentityDraws([g for _, g, _ in checked[k]], 1, int(rng.integers(0, 2**31)))
            means.append(float(np.mean(shared_draw_values(checked[k], statistic, one)[0])))
        values[draw] = float(np.mean(means))
    smalls = [too_small(y, g) for r in checked for y, g, _ in r]
    small = next((f"a test set has {s}" for s in smalls if s), None)
    if small is None and len(checked) < 2:
        small = "one repeat (a between-repeat interval needs at least 2)"
    identities = min(len(np.unique(np.concatenate([g for _, g, _ in r]))) for r in checked) if checked else 0
    return {"value": float(np.mean(points)) if points else float("nan"), "repeats": len(checked),
            **interval_from(values, samples, level, small, identities)}  # fmt: skip
