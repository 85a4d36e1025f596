"""The clips of a fold, loaded once from the feature store, as recorded and with the leading silence trimmed.

Each clip carries the inputs of every detector: emotion tokens (EmoForensics) and face crops +
log-mel (low-level detectors). The **trimmed** variant drops the grid frames before the first
frame louder than ``silence_db`` (leading silence is a known shortcut of FakeAVCeleb's fakes)
and never sees them in any feature:

- per-frame features (face embeddings, face crops, log-mel, levels) are cut at the same frame;
- ``face-geometry``'s deviation-from-the-clip-median columns are taken again from the median of
  the kept span (:func:`emoboost.encoders.face_geometry.respan`), exactly as for the span alone;
- the ``egemaps`` speech embedding is embedded again from its descriptors over the kept span
  (:meth:`EgemapsEncoder.span`: clip statistics, voiced-only statistics and deltas of the span),
  which equals extracting the trimmed clip from scratch up to openSMILE's 20 ms window at the cut;
- the speech-activity mask is cut with the features, so silent tokens stay masked;
- contextual speech encoders (``hf:``) saw the lead-in through attention; their trimmed tokens
  are an approximation, and :attr:`FoldData.exact_trim` says so (re-extract trimmed files for
  an exact answer).

Clips without a feature record are counted per split and category; the caller decides how
many it tolerates.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emoboost.data.manifest import ManifestRow
from emoboost.encoders.face_geometry import geometry_columns, respan
from emoboost.encoders.speech import EgemapsEncoder
from emoboost.features.clips import open_clips
from emoboost.features.store import FeatureRecord, FeatureStore
from emoboost.media.timebase import MEL_PER_FRAME
from emoboost.models.tokens import tokenize
from emoboost.train import LabelledClip
from emoboost.train_lowlevel import LowLevelClip

EGEMAPS = "egemaps"


@dataclasses.dataclass(frozen=True)
class DetectorClip:
    """The inputs of every detector for one clip."""

    row: ManifestRow
    emo: LabelledClip
    lowlevel: LowLevelClip


@dataclasses.dataclass(frozen=True)
class FoldClip:
    """One clip as recorded and with its leading silence trimmed (the same object when there is none)."""

    original: DetectorClip
    trimmed: DetectorClip
    trimmed_frames: int

    @property
    def row(self) -> ManifestRow:
        return self.original.row


@dataclasses.dataclass(frozen=True)
class FoldData:
    splits: dict[str, list[FoldClip]]
    missing: dict[str, dict[str, list[int]]]  # split -> category -> [clips without features, clips]
    missing_paths: list[str]
    encoders: dict[str, str]
    exact_trim: bool  # False when a contextual speech encoder saw the trimmed lead-in


def leading_silence_frames(record: FeatureRecord, silence_db: float) -> int:
    """Grid frames before the first frame louder than ``silence_db`` (0 when the clip is silent throughout)."""
    loud = np.flatnonzero(record.audio_rms_db > silence_db)
    return int(loud[0]) if len(loud) else 0


@functools.cache
def _egemaps(version: str) -> EgemapsEncoder:
    return EgemapsEncoder(clip_normalisation=not version.endswith(".raw"))


def _variant(row: ManifestRow, record: FeatureRecord, start: int, token_frames: int) -> DetectorClip:
    speech = record.speech[start:]
    if start and record.speech_encoder == EGEMAPS:
        speech = _egemaps(record.speech_encoder_version).span(speech)
    visual, face_mask = record.visual[start:], record.face_mask[start:]
    if start:  # face-geometry's identity normalisation over the kept span only, like egemaps above
        visual = respan(visual, face_mask, geometry_columns(record.visual_encoder, record.meta.get("visual_groups")))
    tokens = tokenize(visual, speech, face_mask, token_frames, record.audio_mask[start:])
    crops = record.face_crops[record.crop_frames >= start]
    video_fake, audio_fake = int(row.video_fake), int(row.audio_fake)
    return DetectorClip(
        row,
        LabelledClip(row.path, tokens, row.label, row.video_fake, row.audio_fake),
        LowLevelClip(row.path, crops, record.logmel[start * MEL_PER_FRAME :], row.label, video_fake, audio_fake),
    )


def fold_clip(row: ManifestRow, record: FeatureRecord, token_frames: int, silence_db: float) -> FoldClip:
    """Both variants of one clip's inputs from its feature record (at least one token is always kept)."""
    start = min(leading_silence_frames(record, silence_db), max(0, record.n_frames - token_frames))
    original = _variant(row, record, 0, token_frames)
    return FoldClip(original, _variant(row, record, start, token_frames) if start else original, start)


def load_fold(
    rows: Sequence[ManifestRow], store: FeatureStore, root: Path, token_frames: int, silence_db: float
) -> FoldData:
    """Clips per split, read lazily from the store (:mod:`emoboost.features.clips`), with missing-feature counts.

    Every record must come from the same encoders; both variants of a clip (as recorded, silence
    trimmed) read their features only when a training or scoring step asks for them.
    """
    loader = open_clips(rows, store, root, token_frames, silence_db)
    splits: dict[str, list[FoldClip]] = {row.split: [] for row in rows}
    missing: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        missing.setdefault(row.split, {}).setdefault(row.category, [0, 0])[1] += 1
    for row in loader.missing:
        missing[row.split][row.category][0] += 1
    for clip in loader.clips:
        original = DetectorClip(clip.row, loader.emo(clip), loader.lowlevel(clip))
        trimmed = original
        if clip.trim_start:
            trimmed = DetectorClip(clip.row, loader.emo(clip, trimmed=True), loader.lowlevel(clip, trimmed=True))
        splits[clip.row.split].append(FoldClip(original, trimmed, clip.trim_start))
    exact = loader.encoders.get("speech", EGEMAPS) == EGEMAPS
    return FoldData(splits, missing, [row.path for row in loader.missing], loader.encoders, exact)


def missing_fraction(missing: dict[str, list[int]]) -> float:
    """Share of a split's clips without features."""
    lost, total = (sum(v[i] for v in missing.values()) for i in (0, 1))
    return lost / total if total else 0.0
