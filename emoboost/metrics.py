"""Video-level metrics, in one place: AUC, AP, EER (and its threshold), accuracy, calibration error."""

from __future__ import annotations

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
    """Area under the ROC curve (probability a random fake scores above a random real; ties count half). NaN with one class."""
    labels, scores = _check(labels, scores)
    if not both_classes(labels):
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision (area under precision-recall, step-wise as scikit-learn). NaN with no fakes."""
    labels, scores = _check(labels, scores)
    if not (labels == 1).any():
        return float("nan")
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, scores))


def eer(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Equal error rate and the score threshold where the false-positive and false-negative rates meet."""
    labels, scores = _check(labels, scores)
    if not both_classes(labels):
        return float("nan"), float("nan")
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(labels, scores)
    fnr = 1 - tpr
    index = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[index] + fnr[index]) / 2), float(thresholds[index])
