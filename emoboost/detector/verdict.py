"""The verdict data types: :class:`Verdict` (one file's answer), its :class:`Segment` timeline and the 5 Hz
:class:`Tracks` behind it, built by :func:`record_tracks`. :class:`emoboost.detector.detector.Detector` makes them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from emoboost.errors import MediaError
from emoboost.features.store import FeatureRecord
from emoboost.media.timebase import FPS
from emoboost.models.inference import ClipScores, sigmoid
from emoboost.text import printable


@dataclasses.dataclass(frozen=True)
class Segment:
    """A stretch of the clip (one EmoForensics window) and how fake it looks there."""

    start_s: float
    end_s: float
    llr: float  # fused natural-log likelihood ratio of this stretch
    probability: float  # posterior probability of fake for this stretch at the verdict's prior
    emotion_mismatch: float | None  # mean face-voice emotion distance (0 agree .. 2 opposite); None with one modality
    # the real-only consistency detector's inconsistency here (higher: face and voice less plausible together);
    # None for a detector without one
    consistency: float | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class Tracks:
    """Token-rate (5 Hz) series behind a verdict, for timelines and plots. Not part of ``to_dict()``."""

    time_s: np.ndarray  # [N] token centres
    emo_probability: np.ndarray  # [N] EmoForensics' per-token probability of fake (uncalibrated)
    mismatch: np.ndarray | None  # [N] face-voice emotion distance (0 agree .. 2 opposite); None with one modality
    face_fraction: np.ndarray  # [N] share of the token's frames with a tracked face
    expressions: np.ndarray  # [N, C] mean facial-expression probabilities over frames with a face
    expression_labels: tuple[str, ...]
    voice_level_db: np.ndarray  # [N] mean RMS level in dBFS
    prosody: dict[str, np.ndarray]  # name -> [N] clip z-scores (loudness, pitch) when the speech encoder is egemaps
    # [T, 4] main-face box per 25 fps frame in decoded-frame pixels (NaN: no face); not in to_dict()
    face_boxes: np.ndarray | None = None
    # [N] share of the token's frames in which Silero VAD hears speech (None: not known); prosody is not drawn at 0
    speech_fraction: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        def plain(value):  # NaN (no face in a token) becomes null: strict JSON parsers reject NaN
            if value is None:
                return None
            rounded = np.round(np.asarray(value, np.float64), 5)
            return np.where(np.isfinite(rounded), rounded, None).tolist()

        return {
            "time_s": plain(self.time_s),
            "emo_probability": plain(self.emo_probability),
            "mismatch": plain(self.mismatch),
            "face_fraction": plain(self.face_fraction),
            "expressions": plain(self.expressions),
            "expression_labels": list(self.expression_labels),
            "voice_level_db": plain(self.voice_level_db),
            "prosody": {name: plain(values) for name, values in self.prosody.items()},
            "speech_fraction": plain(self.speech_fraction),
        }


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The detector's answer for one file. ``label`` is "fake" when ``scores["fused"] >= threshold`` (natural-log LRs;
    ``llr`` is the fused score within the calibration's bounds)."""

    path: str
    sha256: str
    label: str
    llr: float  # natural log of LR = P(scores | manipulated) / P(scores | authentic)
    log10_lr: float
    lr_verbal: str  # e.g. "moderate support for manipulated" (README: the verbal scale)
    prior: float  # prior probability of fake the posterior and the Bayes threshold use
    probability: float  # posterior probability of fake at ``prior``
    threshold: float  # decision threshold on the LLR
    scores: dict[str, float | None]  # logits: emo, rgb, audio; and fused (the LLR)
    modalities: dict[str, float | None]  # face / voice manipulated (EmoForensics' per-modality heads, uncalibrated)
    segments: tuple[Segment, ...]
    duration_s: float
    model_id: str
    warnings: tuple[str, ...]
    provenance: dict[str, Any]
    warning_codes: tuple[str, ...] = ()  # one stable code per warning, in the same order (docs/user-guide.md)
    tracks: Tracks | None = dataclasses.field(default=None, compare=False, repr=False)

    def to_dict(self, tracks: bool = False) -> dict[str, Any]:
        """Plain JSON-ready data (stable key order when dumped with ``sort_keys``); ``tracks=True`` adds
        the 5 Hz series."""
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self) if field.name != "tracks"}
        data = json.loads(json.dumps(data, default=json_default))
        if tracks and self.tracks is not None:
            data["tracks"] = self.tracks.to_dict()
        return data


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)`` hook: dataclasses as dicts, NumPy scalars as Python numbers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def record_tracks(record: FeatureRecord, emo: ClipScores, token_frames: int) -> Tracks:
    """The 5 Hz series of one record and EmoForensics' per-token outputs."""
    from emoboost.encoders.speech import EGEMAPS_PROSODY, clip_normalised
    from emoboost.models.tokens import token_means

    everywhere = np.ones(record.n_frames, bool)
    expressions, face_count = token_means(record.expressions, record.face_mask, token_frames)
    level, frames = token_means(record.audio_rms_db[:, None], everywhere, token_frames)
    speech, _ = token_means(record.audio_mask[:, None].astype(np.float64), everywhere, token_frames)
    n = len(frames)
    prosody = {}
    if record.speech_encoder == "egemaps" and clip_normalised(record.speech_encoder_version):  # clip z-scores only
        means, _ = token_means(record.speech, everywhere, token_frames)
        prosody = {name: means[:, column] for name, (column, _) in EGEMAPS_PROSODY.items()}
    return Tracks(
        time_s=(np.arange(n) * token_frames + frames / 2) / FPS,
        emo_probability=sigmoid(np.asarray(emo.token_logits, np.float64)),
        mismatch=None if emo.mismatch is None else np.asarray(emo.mismatch),
        face_fraction=face_count / frames,
        expressions=np.where(face_count[:, None] > 0, expressions, np.nan),
        expression_labels=tuple(record.meta.get("expression_labels", ())),
        voice_level_db=level[:, 0],
        prosody=prosody,
        face_boxes=np.asarray(record.boxes, np.float32),
        speech_fraction=speech[:, 0],
    )


@dataclasses.dataclass(frozen=True)
class Decision:
    """The decision rule of a verdict: the prior, the LLR threshold, where it comes from, and the calibration
    false- and true-positive rates at that threshold (``operating_point``)."""

    prior: float
    threshold: float  # natural-log LR
    source: str
    operating_point: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def operating_point_words(point: dict[str, Any]) -> str:
    """What the threshold does on the calibration clips, in words: ``"the threshold calls 4 of 8 real calibration
    clips (50%) fake and 33 of 40 fake ones (82%)"``; "" when the rates are not stored."""
    fpr, tpr, real, fake = (point.get(k) for k in ("fpr", "tpr", "real_clips", "fake_clips"))
    if fpr is None or tpr is None or not real or not fake:
        return ""
    return (
        f"the threshold calls {round(fpr * real)} of {real} real calibration clips ({fpr:.0%}) fake "
        f"and {round(tpr * fake)} of {fake} fake ones ({tpr:.0%})"
    )


@dataclasses.dataclass(frozen=True)
class Failure:
    """An input without a verdict: its path, the error's stable code and the one-line reason."""

    path: Path
    code: str
    message: str  # the whole line, naming the file
    cause: str  # the reason alone

    @classmethod
    def of(cls, path: Path, exc: MediaError) -> Failure:
        return cls(path, exc.code, printable(exc), printable(exc.cause))

    def to_dict(self) -> dict[str, Any]:
        """The entry ``--output`` keeps for it (the same keys as before: path, error, error_type)."""
        return {"path": printable(self.path), "error": self.cause, "error_type": self.code}
