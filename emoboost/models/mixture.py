"""A fusion that fits how fakes are made: a mixture over manipulation types.

A FakeAVCeleb-style fake has a fake video, a fake voice, or both. The logistic fusion
(:class:`emoboost.models.fusion.Fusion`) adds every detector's evidence as if every fake moved
every score, so on a fold whose calibration fakes all have fake audio it leans on the acoustic
detector, which is blind to the held-out lip-sync fakes. This fusion instead writes the
likelihood ratio of "fake" as a mixture of the three ways to be fake::

    LR = p_video * LR_video + p_audio * LR_audio + p_both * LR_video * LR_audio

- ``LR_video`` is a calibrated fusion of the video-side scores (the RGB detector, EmoForensics'
  face head) fitted on the **video_fake** label: real-video clips (real and voice-only fakes)
  against fake-video clips. ``LR_audio`` likewise on the audio side (the acoustic detector,
  EmoForensics' voice head) with **audio_fake**.
- A video-only fake keeps its real voice, so its audio scores follow the real-audio
  distribution and contribute a factor 1; likewise for audio-only fakes. ``LR_video * LR_audio``
  for fakes of both kinds assumes the two sides' scores independent given the type.
- ``p_video, p_audio, p_both`` (they sum to 1) are **assumptions** stated in the config
  (``benchmark.mixture_weights``; equal thirds by default), never copied from the calibration
  set's category shares: those describe the training categories, not the one held out.
- A side whose every input is missing for a clip gives ``LR = 1`` (no evidence), not the
  side's fitted offset.

The output is a natural-log LLR; the decision is Bayes at prior 0.5 (LLR >= 0) or, with
``target_fpr``, the lowest threshold meeting it on the calibration clips (clip labels).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from emoboost.errors import ConfigError
from emoboost.models.fusion import (
    LLR_DECIMALS,
    Fusion,
    bayes_threshold,
    calibration_record,
    decision_rule,
    logit,
    sigmoid,
)

MIXTURE_FORMAT = "emoboost.mixture/1"
DEFAULT_WEIGHTS = (1 / 3, 1 / 3, 1 / 3)  # video only, audio only, both


def check_weights(weights: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(w) for w in weights)
    if len(values) != 3 or any(not math.isfinite(w) or w < 0 for w in values) or abs(sum(values) - 1) > 1e-6:
        raise ConfigError(
            f"mixture weights must be three non-negative numbers (video only, audio only, both) summing to 1, "
            f"not {list(weights)}"
        )
    return values[0], values[1], values[2]


def _side(fusion: Fusion, logits: np.ndarray) -> np.ndarray:
    """One side's LLR per clip; 0 (LR 1) where every input of the side is missing."""
    logits = np.atleast_2d(np.asarray(logits, np.float64))
    llrs = fusion.llr(logits)
    return np.where(np.isnan(logits).all(axis=1), 0.0, llrs)


@dataclasses.dataclass(frozen=True)
class MixtureFusion:
    """See the module docstring. ``inputs`` = the video side's inputs, then the audio side's."""

    video: Fusion
    audio: Fusion
    weights: tuple[float, float, float]  # p_video, p_audio, p_both
    llr_threshold: float
    operating_point: dict[str, Any]
    calibration: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def inputs(self) -> tuple[str, ...]:
        return (*self.video.inputs, *self.audio.inputs)

    @classmethod
    def fit(
        cls,
        video_logits: np.ndarray,
        audio_logits: np.ndarray,
        video_fake: np.ndarray,
        audio_fake: np.ndarray,
        video_inputs: Sequence[str],
        audio_inputs: Sequence[str],
        weights: Sequence[float] = DEFAULT_WEIGHTS,
        target_fpr: float | None = None,
    ) -> MixtureFusion:
        """Each side fitted on its own modality's label (calibration clips); the decision on the clip label
        (fake when either side is fake)."""
        video_fake, audio_fake = np.asarray(video_fake).astype(int), np.asarray(audio_fake).astype(int)
        video = Fusion.fit(video_logits, video_fake, video_inputs)
        audio = Fusion.fit(audio_logits, audio_fake, audio_inputs)
        model = cls(video, audio, check_weights(weights), 0.0, {})
        labels = ((video_fake + audio_fake) > 0).astype(int)
        llrs = np.round(model.llr(np.hstack([np.atleast_2d(video_logits), np.atleast_2d(audio_logits)])), LLR_DECIMALS)
        threshold, point = decision_rule(labels, llrs, target_fpr)
        return dataclasses.replace(
            model, llr_threshold=threshold, operating_point=point, calibration=calibration_record(llrs, labels, None)
        )

    def llr(self, logits: np.ndarray) -> np.ndarray:
        """Natural-log LRs ``[N]`` from ``[N, len(inputs)]`` logits (video side's columns first)."""
        logits = np.atleast_2d(np.asarray(logits, np.float64))
        split = len(self.video.inputs)
        video, audio = _side(self.video, logits[:, :split]), _side(self.audio, logits[:, split:])
        p_video, p_audio, p_both = self.weights
        terms = [(p_video, video), (p_audio, audio), (p_both, video + audio)]
        stacked = np.stack([np.log(p) + t for p, t in terms if p > 0])
        top = stacked.max(axis=0)
        return top + np.log(np.exp(stacked - top).sum(axis=0))

    def probability(self, logits: np.ndarray, prior: float = 0.5) -> np.ndarray:
        return sigmoid(self.llr(logits) + logit(prior))

    @property
    def threshold(self) -> float:
        return float(sigmoid(np.array(self.decision_threshold(0.5))))

    def decision_threshold(self, prior: float = 0.5) -> float:
        if self.operating_point.get("rule") == "bayes":
            return bayes_threshold(prior)
        bayes_threshold(prior)
        return self.llr_threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MIXTURE_FORMAT,
            "method": "mixture",
            "inputs": list(self.inputs),
            "video": self.video.to_dict(),
            "audio": self.audio.to_dict(),
            "weights": list(self.weights),
            "weights_are": "assumed shares of video-only, audio-only and both-fake manipulations (not fitted)",
            "llr_threshold": self.llr_threshold,
            "operating_point": self.operating_point,
            "calibration": self.calibration,
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MixtureFusion:
        if data.get("format") != MIXTURE_FORMAT:
            raise ConfigError(f"mixture fusion format {data.get('format')!r}, expected {MIXTURE_FORMAT!r}")
        return cls(
            Fusion.from_dict(data["video"]),
            Fusion.from_dict(data["audio"]),
            check_weights(data["weights"]),
            float(data["llr_threshold"]),
            dict(data["operating_point"]),
            dict(data.get("calibration", {})),
        )
