"""The shortcut-only baseline: how far leading silence and clip length alone get.

FakeAVCeleb's fakes start with silence far more often than its real clips (AVH-Align, CVPR 2025;
arXiv 2412.00175), so a detector can score well without reading any manipulation. This row reads
nothing else: a logistic regression (standardised inputs, classes weighted equally) on three
numbers per clip, from the feature record's level track and Silero VAD mask
(:meth:`emoboost.training.clips.FoldClip.shortcut_features`):

- seconds before the first frame louder than ``silence_db`` (the level rule; the trimmed variants cut by it or,
  with ``trim_rule: vad``, by the next),
- seconds before Silero VAD's first speech frame (the level rule's value in records without the mask),
- the clip's duration in seconds.

It is fitted on the fold's train clips (their clip labels) and calibrated on calib like every
other row. On the silence-trimmed test clips it should fall to about 50 AUC: whatever it keeps
there is a shortcut the trimming did not remove (a duration difference, speech that starts late
after the cut).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from emoboost.metrics import both_classes
from emoboost.training.clips import FoldClip

FEATURES = ("lead_in_level_s", "lead_in_vad_s", "duration_s")
SHORTCUT = "shortcut"  # the row's name in every table


@dataclasses.dataclass(frozen=True)
class ShortcutModel:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray) -> ShortcutModel:
        from sklearn.linear_model import LogisticRegression

        features, labels = np.asarray(features, np.float64), np.asarray(labels).astype(int)
        if not both_classes(labels):
            raise ValueError("the shortcut baseline needs real and fake training clips")
        mean, scale = features.mean(axis=0), features.std(axis=0)
        scale = np.where(scale > 1e-9, scale, 1.0)  # a constant input carries nothing and stays 0
        model = LogisticRegression(class_weight="balanced", C=1.0, max_iter=1000)
        model.fit((features - mean) / scale, labels)
        return cls(mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))

    def logits(self, features: np.ndarray) -> np.ndarray:
        return ((np.asarray(features, np.float64) - self.mean) / self.scale) @ self.weights + self.bias

    def to_dict(self) -> dict:
        """Weights per input (on standardised inputs) and the standardisation, for the fold's training entry."""
        return {
            "inputs": list(FEATURES),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
        }


def features_of(clips: Sequence[FoldClip], trimmed: bool = False) -> np.ndarray:
    return np.array([c.shortcut_features(trimmed) for c in clips], np.float64).reshape(-1, len(FEATURES))


def fit_shortcut(train: Sequence[FoldClip], trimmed: bool = False) -> ShortcutModel:
    """The baseline fitted on ``train`` (as recorded, or silence-trimmed with ``trimmed``)."""
    return ShortcutModel.fit(features_of(train, trimmed), np.array([c.row.label for c in train]))
