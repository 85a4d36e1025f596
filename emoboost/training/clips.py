"""The one clip loader: the clips of a fold from the feature store, as recorded and silence-trimmed, read lazily.

Each clip carries the inputs of every network: emotion tokens (EmoForensics) and face crops +
log-mel (low-level detectors). The **trimmed** variant drops the grid frames before the first
frame louder than ``silence_db`` (leading silence is a known shortcut of FakeAVCeleb's fakes),
or with ``trim_rule="vad"`` before Silero VAD's first speech frame (so breath or room noise
before the speech goes too; records without the VAD mask fall back to the level rule), and
never sees them in any feature; :func:`span_tokens` is the one span rule:

- per-frame features (face embeddings, face crops, log-mel, masks) are cut at the same frame;
- ``face-geometry``'s deviation-from-the-clip-median columns are taken again from the median of
  the kept span (:func:`emoboost.encoders.face_geometry.respan`), exactly as for the span alone;
- the ``egemaps`` speech embedding is embedded again from its descriptors over the kept span
  (:meth:`EgemapsEncoder.span`: clip statistics, voiced-only statistics and deltas of the span),
  which equals extracting the trimmed clip from scratch up to openSMILE's 20 ms window at the cut;
- contextual speech encoders (``hf:``) saw the lead-in through attention; their trimmed tokens
  are an approximation, and :attr:`FoldData.exact_trim` says so.

Opening reads each record once, whole, to verify its checksum (a damaged record is counted as
missing and logged, never trained on), and keeps per clip only a few numbers: the encoders that
made it (every clip must agree), its length, where its face crops sit and its leading silence.
Features are read when a training or scoring step asks for them, a tensor (or a few rows of
one) at a time from the memory-mapped safetensors file, and dropped after use, so memory does
not hold the fold's features (face crops alone are ~0.6 MB per clip, ~7 GB for a
FakeAVCeleb-size fold); ``scripts/bench_benchmark.py --memory-only`` measures it. Reading the
same clip twice gives the same arrays. Clips without a feature record are counted per split and
category; the caller decides how many it tolerates.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np

from emoboost.data.manifest import ManifestRow
from emoboost.encoders.face_geometry import geometry_columns, respan
from emoboost.encoders.speech import egemaps_of_version
from emoboost.errors import ConfigError, StoreError
from emoboost.features.store import FeatureRecord, FeatureStore
from emoboost.media.levels import SILENCE_DB
from emoboost.media.timebase import FPS, MEL_PER_FRAME
from emoboost.models.consistency import AffectTokens, affect_tokens
from emoboost.models.tokens import ClipTokens, tokenize
from emoboost.training.emoforensics import LabelledClip
from emoboost.training.lowlevel import LowLevelClip

logger = logging.getLogger(__name__)

EGEMAPS = "egemaps"  # the speech encoder whose trimmed span is embedded again exactly


class DamagedRecordError(StoreError):
    """A feature record whose checksum does not match its content (or that cannot be read)."""


# the encoders that made a record: name in ``ClipLoader.encoders`` (and checkpoints) -> record metadata key
ENCODER_KEYS = {
    "visual": "visual_encoder",
    "visual_version": "visual_encoder_version",
    "speech": "speech_encoder",
    "speech_version": "speech_encoder_version",
}


def _read(path: Path, names: Sequence[str], rows: slice | None = None) -> dict[str, np.ndarray]:
    """Named tensors of a record (``rows`` of each), read through safetensors' memory map."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            if rows is None:
                return {name: handle.get_tensor(name) for name in names}
            return {name: handle.get_slice(name)[rows] for name in names}
    except (OSError, ValueError, SafetensorError) as exc:
        raise StoreError(f"{path}: unreadable feature record ({exc})") from exc


class StoredRows:
    """Rows ``[begin, end)`` of one tensor of a record, read on indexing (``len``, ``[i]``, ``[a:b]``, ``asarray``)."""

    def __init__(self, path: Path, name: str, begin: int, end: int, row_shape: tuple[int, ...], dtype: str):
        self.path, self.name, self.begin, self.end = path, name, begin, end
        self.row_shape, self.dtype = row_shape, dtype

    def __len__(self) -> int:
        return self.end - self.begin

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.row_shape)

    def __getitem__(self, index: int | slice) -> np.ndarray:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return np.asarray(self)[index]
            if stop <= start:
                return np.zeros((0, *self.row_shape), self.dtype)
            return _read(self.path, [self.name], slice(self.begin + start, self.begin + stop))[self.name]
        position = int(index) + (len(self) if int(index) < 0 else 0)
        if not 0 <= position < len(self):
            raise IndexError(f"{self.name}: row {index} of {len(self)}")
        return _read(self.path, [self.name], slice(self.begin + position, self.begin + position + 1))[self.name][0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        array = self[:]
        return array.astype(dtype) if dtype is not None else array


@dataclasses.dataclass(frozen=True)
class StoredClip:
    """What the loader keeps in memory per clip: the row, the record file and a few numbers."""

    row: ManifestRow
    record: Path
    n_frames: int
    crop_frames: np.ndarray  # [K] grid frame of each face crop
    crop_shape: tuple[int, ...]
    crop_dtype: str
    trim_start: int  # grid frames of leading silence (0 when not trimmed)
    has_audio_mask: bool = False
    geometry: tuple[tuple[int, int], ...] = ()  # face-geometry column groups of the visual stream
    lead_in: tuple[int, int] = (0, 0)  # grid frames before the first loud frame, before the first VAD speech frame
    affect_arrays: tuple[str, ...] = ()  # the record's arrays the consistency detector reads (AFFECT_ARRAYS present)


AFFECT_ARRAYS = ("visual", "expressions", "face_mask", "speech", "audio_mask", "audio_rms_db")


@dataclasses.dataclass(frozen=True)
class LazyAffectClip:
    """The consistency detector's input of a clip (:func:`emoboost.models.consistency.affect_tokens`), read from the
    record on access, from grid frame ``start`` on."""

    record: Path
    arrays: tuple[str, ...]
    n_frames: int
    start: int
    token_frames: int

    @property
    def tokens(self) -> AffectTokens:
        record = FeatureRecord(_read(self.record, self.arrays), {"n_frames": self.n_frames})
        return affect_tokens(record, self.token_frames, self.start)


@dataclasses.dataclass(frozen=True)
class LazyEmoClip:
    """An EmoForensics clip whose ``tokens`` are read from the record on access (like ``LabelledClip``)."""

    key: str
    label: int
    video_fake: bool
    audio_fake: bool
    record: Path
    start: int  # first grid frame used
    token_frames: int
    egemaps_version: str = ""  # egemaps speech of a trimmed clip is standardised again over the kept span
    has_audio_mask: bool = False  # records made before the voice-activity mask: every frame counts
    geometry: tuple[tuple[int, int], ...] = ()  # face-geometry deviations of a trimmed clip: from the span's median

    @property
    def tokens(self) -> ClipTokens:
        names = ("visual", "speech", "face_mask", *(("audio_mask",) if self.has_audio_mask else ()))
        arrays = _read(self.record, names)
        face_mask = arrays["face_mask"].astype(bool)
        audio_mask = arrays["audio_mask"].astype(bool) if self.has_audio_mask else np.ones(len(face_mask), bool)
        return span_tokens(
            arrays["visual"],
            arrays["speech"],
            face_mask,
            audio_mask,
            self.start,
            self.token_frames,
            self.egemaps_version,
            self.geometry,
        )


def span_tokens(
    visual: np.ndarray,
    speech: np.ndarray,
    face_mask: np.ndarray,
    audio_mask: np.ndarray,
    start: int,
    token_frames: int,
    egemaps_version: str = "",
    geometry: tuple[tuple[int, int], ...] = (),
) -> ClipTokens:
    """The span rule: the tokens of a clip's frames from ``start`` on, as if the span had been extracted alone.

    Per-frame streams and masks are cut; ``egemaps`` speech (``egemaps_version`` set) is embedded
    again from its descriptors over the span, and ``face-geometry``'s deviation columns
    (``geometry``) are taken again from the span's median (see the module docstring).
    """
    speech, visual = speech[start:], visual[start:]
    face_mask, audio_mask = face_mask[start:], audio_mask[start:]
    if start and egemaps_version:
        speech = egemaps_of_version(egemaps_version).span(speech)
    if start and geometry:
        visual = respan(visual, face_mask, geometry)
    return tokenize(visual, speech, face_mask, token_frames, audio_mask)


@dataclasses.dataclass(frozen=True)
class LazyLowLevelClip:
    """A low-level clip (like ``LowLevelClip``): ``crops`` are rows read on indexing, ``logmel`` on access."""

    key: str
    label: int
    record: Path
    crops: StoredRows
    mel_start: int
    video_fake: int = 0
    audio_fake: int = 0

    @property
    def logmel(self) -> np.ndarray:
        return _read(self.record, ("logmel",))["logmel"][self.mel_start :]


TRIM_RULES = ("level", "vad")  # where a trimmed variant starts: the first loud frame, or the first VAD speech frame


def leading_silence(levels_db: np.ndarray, silence_db: float) -> int:
    """Grid frames before the first frame louder than ``silence_db`` (0 when silent throughout)."""
    loud = np.flatnonzero(levels_db > silence_db)
    return int(loud[0]) if len(loud) else 0


class ClipLoader:
    """Clips of manifest rows from a feature store; see the module docstring.

    ``silence_db`` (None: no trimmed variant) places the silence-trimmed variant of each clip
    (frames before the first frame louder than it are dropped, keeping at least one token).
    """

    def __init__(
        self,
        rows: Sequence[ManifestRow],
        store: FeatureStore,
        root: Path,
        token_frames: int,
        silence_db: float | None = None,
        trim_rule: str = "level",
    ):
        if trim_rule not in TRIM_RULES:
            raise ConfigError(f"trim rule {trim_rule!r}: choose one of {', '.join(TRIM_RULES)}")
        self.trim_rule = trim_rule
        self.token_frames = token_frames
        self.clips: list[StoredClip] = []
        self.missing: list[ManifestRow] = []
        self.encoders: dict[str, str] = {}
        for row in rows:
            record = self._record_path(store, Path(root) / row.path)
            if record is None:
                self.missing.append(row)
                continue
            try:
                self.clips.append(self._open(row, record, silence_db))
            except DamagedRecordError as exc:  # counted as missing; the caller's missing-feature rule decides
                logger.warning("%s", exc)
                self.missing.append(row)

    @staticmethod
    def _record_path(store: FeatureStore, video: Path) -> Path | None:
        if not video.is_file():
            return None
        sha256 = store.content_hash(video)
        keys = store.keys_for(sha256)
        if len(keys) > 1:
            raise StoreError(
                f"{video}: {len(keys)} extractions in {store.root} ({', '.join(keys)}); keep one per video"
            )
        return store.record_path(sha256, keys[0]) if keys else None

    def _open(self, row: ManifestRow, record: Path, silence_db: float | None) -> StoredClip:
        # read whole once to verify its checksum (a damaged record never reaches training), then dropped
        try:
            stored = FeatureRecord.load(record)
        except StoreError as exc:
            raise DamagedRecordError(str(exc)) from exc
        made_by = {name: str(stored.meta.get(key, "")) for name, key in ENCODER_KEYS.items()}
        if self.encoders and made_by != self.encoders:
            raise StoreError(f"{row.path}: features made by other encoders ({made_by}) than the rest ({self.encoders})")
        self.encoders = made_by
        n_frames = int(stored.meta["n_frames"])
        quiet = leading_silence(stored.audio_rms_db, SILENCE_DB if silence_db is None else silence_db)
        if "audio_mask" in stored.arrays:  # Silero VAD's first speech frame (none heard: the whole clip)
            heard = np.flatnonzero(stored.audio_mask)
            onset = int(heard[0]) if len(heard) else n_frames
        else:  # records made before the voice-activity mask: the level rule stands in
            onset = quiet
        trim = 0
        if silence_db is not None:  # the level rule, or Silero VAD's onset (the level rule in records without it)
            cut = onset if self.trim_rule == "vad" else quiet
            trim = min(cut, max(0, n_frames - self.token_frames))
        crops = stored.arrays["face_crops"]
        return StoredClip(
            row,
            record,
            n_frames,
            stored.crop_frames,
            tuple(crops.shape[1:]),
            str(crops.dtype),
            trim,
            "audio_mask" in stored.arrays,
            geometry_columns(stored.visual_encoder, stored.meta.get("visual_groups")),
            (quiet, onset),
            tuple(name for name in AFFECT_ARRAYS if name in stored.arrays),
        )

    def emo(self, clip: StoredClip, trimmed: bool = False) -> LazyEmoClip:
        """The EmoForensics input of a clip (its silence-trimmed variant with ``trimmed``)."""
        row = clip.row
        return LazyEmoClip(
            row.path,
            row.label,
            row.video_fake,
            row.audio_fake,
            clip.record,
            clip.trim_start if trimmed else 0,
            self.token_frames,
            self.encoders["speech_version"] if self.encoders.get("speech") == EGEMAPS else "",
            clip.has_audio_mask,
            clip.geometry,
        )

    def affect(self, clip: StoredClip, trimmed: bool = False) -> LazyAffectClip:
        """The consistency detector's input of a clip (from the first kept frame on with ``trimmed``)."""
        start = clip.trim_start if trimmed else 0
        return LazyAffectClip(clip.record, clip.affect_arrays, clip.n_frames, start, self.token_frames)

    def lowlevel(self, clip: StoredClip, trimmed: bool = False) -> LazyLowLevelClip:
        """The low-level detectors' input of a clip (crops from the first kept frame on, log-mel likewise)."""
        start = clip.trim_start if trimmed else 0
        first = int(np.searchsorted(clip.crop_frames, start, side="left")) if start else 0
        # crops are stored in frame order; guard against a record that is not
        if start and not np.all(np.diff(clip.crop_frames) >= 0):
            raise StoreError(f"{clip.record}: face crops are not in frame order")
        crops = StoredRows(clip.record, "face_crops", first, len(clip.crop_frames), clip.crop_shape, clip.crop_dtype)
        row = clip.row
        return LazyLowLevelClip(
            row.path, row.label, clip.record, crops, start * MEL_PER_FRAME, int(row.video_fake), int(row.audio_fake)
        )

    def split(self, name: str) -> list[StoredClip]:
        return [c for c in self.clips if c.row.split == name]

    def missing_counts(self) -> dict[str, dict[str, int]]:
        """split -> category -> clips without a feature record (split ``""`` for rows without one)."""
        counts: dict[str, dict[str, int]] = {}
        for row in self.missing:
            per_category = counts.setdefault(row.split, {})
            per_category[row.category] = per_category.get(row.category, 0) + 1
        return {split: dict(sorted(c.items())) for split, c in sorted(counts.items())}


def open_clips(
    rows: Sequence[ManifestRow],
    store: FeatureStore,
    root: str | Path,
    token_frames: int,
    silence_db: float | None = None,
    trim_rule: str = "level",
) -> ClipLoader:
    """A :class:`ClipLoader` over ``rows`` (paths relative to ``root``)."""
    return ClipLoader(rows, store, Path(root), token_frames, silence_db, trim_rule)


@dataclasses.dataclass(frozen=True)
class DetectorClip:
    """The inputs of every detector for one clip."""

    row: ManifestRow
    emo: LabelledClip
    lowlevel: LowLevelClip
    affect: LazyAffectClip | None = None  # the consistency detector's input (None: not loaded for it)


@dataclasses.dataclass(frozen=True)
class FoldClip:
    """One clip as recorded and with its leading silence trimmed (the same object when there is none)."""

    original: DetectorClip
    trimmed: DetectorClip
    trimmed_frames: int
    n_frames: int = 0  # grid frames of the clip as recorded
    lead_in: tuple[int, int] = (0, 0)  # as recorded: frames before the first loud frame, before VAD speech

    def shortcut_features(self, trimmed: bool = False) -> tuple[float, float, float]:
        """``(seconds before the first loud frame, seconds before the first speech frame, duration in seconds)``
        of the clip as recorded or silence-trimmed: what a leading-silence shortcut can read, and nothing else."""
        cut = self.trimmed_frames if trimmed else 0
        quiet, onset = (max(0, frames - cut) for frames in self.lead_in)
        return quiet / FPS, onset / FPS, (self.n_frames - cut) / FPS

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


def load_fold(
    rows: Sequence[ManifestRow],
    store: FeatureStore,
    root: Path,
    token_frames: int,
    silence_db: float,
    trim_rule: str = "level",
) -> FoldData:
    """Clips per split, read lazily from the store, with missing-feature counts.

    Every record must come from the same encoders; both variants of a clip (as recorded, silence
    trimmed) read their features only when a training or scoring step asks for them.
    """
    loader = open_clips(rows, store, root, token_frames, silence_db, trim_rule)
    splits: dict[str, list[FoldClip]] = {row.split: [] for row in rows}
    missing: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        missing.setdefault(row.split, {}).setdefault(row.category, [0, 0])[1] += 1
    for row in loader.missing:
        missing[row.split][row.category][0] += 1

    def detector_clip(clip: StoredClip, trimmed: bool) -> DetectorClip:
        # the lazy clips read like LabelledClip and LowLevelClip (duck-typed: fields on access)
        emo = cast(LabelledClip, loader.emo(clip, trimmed=trimmed))
        lowlevel = cast(LowLevelClip, loader.lowlevel(clip, trimmed=trimmed))
        return DetectorClip(clip.row, emo, lowlevel, loader.affect(clip, trimmed=trimmed))

    for clip in loader.clips:
        original = detector_clip(clip, trimmed=False)
        trimmed = original
        if clip.trim_start:
            trimmed = detector_clip(clip, trimmed=True)
        splits[clip.row.split].append(FoldClip(original, trimmed, clip.trim_start, clip.n_frames, clip.lead_in))
    exact = loader.encoders.get("speech", EGEMAPS) == EGEMAPS
    return FoldData(splits, missing, [row.path for row in loader.missing], loader.encoders, exact)


def missing_fraction(missing: dict[str, list[int]]) -> float:
    """Share of a split's clips without features."""
    lost, total = (sum(v[i] for v in missing.values()) for i in (0, 1))
    return lost / total if total else 0.0
