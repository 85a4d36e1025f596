"""EMO-BOOST: calibrated fusion of detector logits, with the decision threshold chosen on validation data.

``Fusion.fit`` takes the validation logits of the detectors (any subset of emo, rgb, audio,
external) and fits a logistic regression on them: its output is a calibrated probability of
fake. The threshold is the EER point of that probability on the same validation data, or the
highest threshold whose false-positive rate stays at or below ``target_fpr``. It is fitted
only on validation clips of the training categories (the benchmark never shows it the
held-out category). ``Fusion.mean`` is the uncalibrated baseline (mean of logits), thresholded
the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from emoboost.errors import ConfigError
from emoboost.metrics import both_classes, eer

FUSION_FORMAT = "emoboost.fusion/1"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def choose_threshold(labels: np.ndarray, probabilities: np.ndarray, target_fpr: float | None = None) -> tuple[float, dict[str, Any]]:
    """Threshold on ``probabilities`` (EER point, or the lowest threshold with FPR <= target) and its operating point."""
    labels, probabilities = np.asarray(labels).astype(int), np.asarray(probabilities, np.float64)
    if not both_classes(labels):
        raise ConfigError("choosing a threshold needs real and fake validation clips")
    if target_fpr is None:
        _, threshold = eer(labels, probabilities)
    else:
        real = np.sort(probabilities[labels == 0])
        allowed = int(np.floor(target_fpr * len(real)))  # real clips allowed above the threshold
        threshold = float(np.nextafter(real[len(real) - allowed - 1], np.inf)) if allowed < len(real) else float(real.min())
    threshold = float(min(max(threshold, 0.0), 1.0))
    predicted = probabilities >= threshold
    point = {
        "rule": "EER point" if target_fpr is None else f"FPR <= {target_fpr:g}",
        "fpr": float(predicted[labels == 0].mean()),
        "tpr": float(predicted[labels == 1].mean()),
        "val_clips": int(len(labels)),
    }
    return threshold, point


@dataclasses.dataclass(frozen=True)
class Fusion:
    """``probability = sigmoid(weights . logits + bias)``; ``label = fake`` when ``probability >= threshold``."""

    inputs: tuple[str, ...]  # detector names, in the order of the logit columns
    weights: tuple[float, ...]
    bias: float
    threshold: float
    operating_point: dict[str, Any]  # rule, validation FPR / TPR at the threshold, clips
    method: str = "logistic"  # or "mean" (baseline)

    @classmethod
    def fit(cls, logits: np.ndarray, labels: np.ndarray, inputs: Sequence[str], target_fpr: float | None = None, regularisation: float = 1.0) -> Fusion:
        """Fit on validation logits ``[N, len(inputs)]`` (rows with a missing logit are dropped)."""
        from sklearn.linear_model import LogisticRegression

        logits, labels = _complete(logits, labels, inputs)
        model = LogisticRegression(C=regularisation, solver="lbfgs", max_iter=1000)
        model.fit(logits, labels)
        probabilities = model.predict_proba(logits)[:, 1]
        threshold, point = choose_threshold(labels, probabilities, target_fpr)
        return cls(tuple(inputs), tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]), threshold, point)

    @classmethod
    def mean(cls, logits: np.ndarray, labels: np.ndarray, inputs: Sequence[str], target_fpr: float | None = None) -> Fusion:
        """The baseline: mean of the logits, squashed by a sigmoid (not calibrated)."""
        logits, labels = _complete(logits, labels, inputs)
        weights = tuple(1.0 / len(inputs) for _ in inputs)
        threshold, point = choose_threshold(labels, _sigmoid(logits @ np.asarray(weights)), target_fpr)
        return cls(tuple(inputs), weights, 0.0, threshold, point, method="mean")

    def probability(self, logits: np.ndarray) -> np.ndarray:
        """Probabilities ``[N]`` from logits ``[N, len(inputs)]``; a missing (NaN) logit counts as 0 (no evidence)."""
        logits = np.nan_to_num(np.atleast_2d(np.asarray(logits, np.float64)), nan=0.0)
        return _sigmoid(logits @ np.asarray(self.weights) + self.bias)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FUSION_FORMAT, **dataclasses.asdict(self), "inputs": list(self.inputs), "weights": list(self.weights)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fusion:
        if data.get("format") != FUSION_FORMAT:
            raise ConfigError(f"fusion format {data.get('format')!r}, expected {FUSION_FORMAT!r}")
        return cls(tuple(data["inputs"]), tuple(data["weights"]), float(data["bias"]), float(data["threshold"]), dict(data["operating_point"]), data.get("method", "logistic"))


def _complete(logits: np.ndarray, labels: np.ndarray, inputs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    logits, labels = np.atleast_2d(np.asarray(logits, np.float64)), np.asarray(labels).astype(int)
    if logits.shape != (len(labels), len(inputs)):
        raise ConfigError(f"fusion: logits of shape {logits.shape} for {len(labels)} clips and {len(inputs)} inputs")
    keep = ~np.isnan(logits).any(axis=1)
    if not both_classes(labels[keep]):
        raise ConfigError("fusion needs real and fake validation clips with every logit")
    return logits[keep], labels[keep]
