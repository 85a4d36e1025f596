"""Feature extraction: video -> decode -> faces -> visual + speech encoders -> :class:`FeatureRecord`.

:class:`FeatureExtractor` holds the models and turns one file into one record;
:func:`extract_many` runs it over many files into a :class:`FeatureStore`, skipping files
whose record exists (resume) and reporting each failure by name without stopping the batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

import emoboost
from emoboost import errors
from emoboost.cache import fingerprint, sha256_file
from emoboost.config import ExtractConfig, resolve_device, to_dict
from emoboost.encoders import build_speech_encoder, build_visual_encoder
from emoboost.encoders.speech import SpeechEmotionEncoder
from emoboost.encoders.visual import FaceEmotionEncoder
from emoboost.features.store import FeatureRecord, FeatureStore
from emoboost.media.decode import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME, MediaReader, check_file
from emoboost.media.faces import FaceDetector, FaceTracker, crop_faces

logger = logging.getLogger(__name__)
T = TypeVar("T")
SILENCE_FLOOR_DB = -100.0


class Stopwatch:
    """Accumulates wall time per named stage; a stage entered inside another is not counted twice
    (the outer stage gets its own time only), so the stages add up to the total."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._inner: list[float] = []  # time spent in nested stages, per open stage

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        self._inner.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            nested = self._inner.pop()
            self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed - nested
            if self._inner:
                self._inner[-1] += elapsed

    def timed(self, stage: str, items: Iterable[T]) -> Iterator[T]:
        """Iterate ``items`` counting the time spent producing each one under ``stage``."""
        iterator = iter(items)
        while True:
            with self(stage):
                item = next(iterator, None)
            if item is None:
                return
            yield item


def frame_levels_db(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS level of each grid frame's 640 samples in dBFS, floored at -100. ``[T]``."""
    frames = audio[: n_frames * SAMPLES_PER_FRAME].reshape(n_frames, SAMPLES_PER_FRAME).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return np.maximum(20 * np.log10(np.maximum(rms, 1e-10)), SILENCE_FLOOR_DB).astype(np.float32)


MEL_WINDOW = 400  # 25 ms at 16 kHz
MEL_HOP = 160  # 10 ms: 4 mel frames per grid frame


def log_mel(audio: np.ndarray, n_mels: int) -> np.ndarray:
    """Log-mel spectrogram ``[F, n_mels]`` float16 at 100 Hz (``F = len(audio) / 160``), natural log of power + 1e-6."""
    import torchaudio

    transform = torchaudio.transforms.MelSpectrogram(SAMPLE_RATE, n_fft=512, win_length=MEL_WINDOW, hop_length=MEL_HOP, n_mels=n_mels, center=True)
    with torch.inference_mode():
        power = transform(torch.from_numpy(np.ascontiguousarray(audio)))  # [n_mels, F + 1]
    frames = len(audio) // MEL_HOP
    return torch.log(power[:, :frames] + 1e-6).T.contiguous().numpy().astype(np.float16)


def face_detection_summary(faces) -> str:
    """How faces were found, in words (goes into records and verdicts)."""
    rescan = f"whole frame at <= {faces.detect_max_side} px every {faces.rescan_s:g} s and when the track is lost, O-Net refinement of the track in between" if faces.rescan_s > 0 else f"whole frame at <= {faces.detect_max_side} px on every keyframe"
    return f"MTCNN on every {faces.stride}th frame of the 25 fps grid ({FPS / faces.stride:g} Hz; {rescan}), boxes and landmarks interpolated between keyframes"


def no_face_cause(scanned: int, n_frames: int, source_duration_s: float) -> str:
    """Why a video has no face, with how much of it was looked at."""
    if scanned >= n_frames and n_frames / FPS >= source_duration_s - 1.0 / FPS:
        return f"no face found in any of {n_frames} frames"
    return f"no face found in the first {scanned / FPS:g} s ({scanned} frames scanned of {source_duration_s:g} s; faces.give_up_s, media.max_duration_s)"


class FeatureExtractor:
    """Turns one video into one :class:`FeatureRecord` (see DESIGN section 2)."""

    def __init__(
        self,
        config: ExtractConfig | None = None,
        visual: FaceEmotionEncoder | None = None,
        speech: SpeechEmotionEncoder | None = None,
    ):
        self.config = config or ExtractConfig()
        self.config.validate()
        resolve_device(self.config.runtime.device)
        runtime, encoders = self.config.runtime, self.config.encoders
        if runtime.threads:
            torch.set_num_threads(runtime.threads)
        self.visual = visual or build_visual_encoder(encoders.visual, runtime.device, encoders.local_files_only)
        self.speech = speech or build_speech_encoder(encoders.speech, runtime.device, encoders.local_files_only)
        self.tracker = FaceTracker(FaceDetector(self.config.faces, runtime.device), self.config.faces)

    @property
    def key(self) -> str:
        """Fingerprint of everything the features depend on (part of the record's cache key)."""
        return fingerprint(
            {
                "visual": [self.visual.id, self.visual.version],
                "speech": [self.speech.id, self.speech.version],
                "faces": to_dict(self.config.faces),
                "max_side": self.config.media.max_side,
                "max_duration_s": self.config.media.max_duration_s,
                "grid": [FPS, SAMPLE_RATE],
                "lowlevel": to_dict(self.config.lowlevel),
            }
        )

    def extract(self, path: str | Path, sha256: str | None = None, require_face: bool = True) -> FeatureRecord:
        """Features of one file. Raises a :class:`~emoboost.errors.MediaError` for unusable input."""
        watch = Stopwatch()
        with watch("decode"):
            reader = MediaReader(path, self.config.media, require_audio=True, threads=self.config.runtime.threads)
        info = reader.info
        n_frames = info.n_frames
        visual = np.zeros((n_frames, self.visual.dim), np.float32)  # [T, Dv]
        expressions = np.zeros((n_frames, len(self.visual.labels)), np.float32)  # [T, C]
        boxes = np.full((n_frames, 4), np.nan, np.float32)  # [T, 4]
        face_scores = np.zeros(n_frames, np.float32)  # [T]
        face_mask = np.zeros(n_frames, bool)  # [T]
        batch_size = self.config.encoders.batch_size
        lowlevel = self.config.lowlevel
        rgb_crops: list[np.ndarray] = []  # [k, S, S, 3] per chunk
        crop_frames: list[np.ndarray] = []  # grid frame of each crop

        pending_index: list[np.ndarray] = []  # crops waiting for a full encoder batch
        pending_crops: list[np.ndarray] = []

        def encode(final: bool) -> None:
            if not pending_index or (not final and sum(len(i) for i in pending_index) < batch_size):
                return
            index, crops = np.concatenate(pending_index), np.concatenate(pending_crops)
            pending_index.clear()
            pending_crops.clear()
            with watch("visual"):
                for begin in range(0, len(crops), batch_size):
                    embedding, probabilities = self.visual.encode(crops[begin : begin + batch_size])
                    visual[index[begin : begin + batch_size]] = embedding
                    expressions[index[begin : begin + batch_size]] = probabilities

        tracked_chunks = self.tracker.track(watch.timed("decode", reader.iter_frames()))
        give_up = int(round(self.config.faces.give_up_s * FPS)) or n_frames  # frames scanned before a faceless video is given up
        scanned, found = 0, False
        while True:
            with watch("faces"):
                tracked = next(tracked_chunks, None) if scanned < give_up or found else None
                if tracked is None:
                    tracked_chunks.close()  # stops decoding the rest
                    break
                rows = np.flatnonzero(tracked.mask)
                scanned, found = tracked.start + len(tracked.mask), found or len(rows) > 0
            index = tracked.start + rows
            keep = rows[index % lowlevel.crop_stride == 0]  # the low-level detector's crops: every crop_stride-th frame
            with watch("crops"):
                margin = self.config.faces.margin
                for wanted, size, crops in ((rows, self.visual.input_size, pending_crops), (keep, lowlevel.crop_size, rgb_crops)):
                    frames = [tracked.frames[row] for row in wanted]  # references: only face regions are copied
                    crops.append(crop_faces(frames, tracked.boxes[wanted], tracked.landmarks[wanted], [size], margin)[size])
            pending_index.append(index)
            crop_frames.append(tracked.start + keep)
            boxes[tracked.start : tracked.start + len(tracked.mask)] = tracked.boxes
            face_scores[tracked.start : tracked.start + len(tracked.mask)] = tracked.scores
            face_mask[index] = True
            encode(final=False)
        encode(final=True)
        if require_face and not face_mask.any():
            raise errors.NoFaceError(info.path, no_face_cause(scanned, n_frames, info.source_duration_s))
        with watch("speech"):
            speech = self.speech.encode(reader.audio, n_frames)  # [T, Da]
        levels = frame_levels_db(reader.audio, n_frames)
        with watch("lowlevel"):
            logmel = log_mel(reader.audio, lowlevel.n_mels)  # [F, n_mels], 100 Hz
        meta = {
            "sha256": sha256 or sha256_file(info.path),
            "source_path": str(info.path),
            "n_frames": n_frames,
            "fps": FPS,
            "sample_rate": SAMPLE_RATE,
            "duration_s": info.duration_s,
            "width": info.width,
            "height": info.height,
            "source_width": info.source_width,
            "source_height": info.source_height,
            "source_fps": info.source_fps,
            "audio_duration_s": info.audio_duration_s,
            "source_duration_s": info.source_duration_s,
            "face_scanned_s": scanned / FPS,
            "face_fraction": float(face_mask.mean()),
            "face_stride": self.config.faces.stride,
            "face_detection": face_detection_summary(self.config.faces),
            "visual_encoder": self.visual.id,
            "visual_encoder_version": self.visual.version,
            "speech_encoder": self.speech.id,
            "speech_encoder_version": self.speech.version,
            "expression_labels": list(self.visual.labels),
            "extraction_key": self.key,
            "extract_config": to_dict(self.config),
            "emoboost_version": emoboost.__version__,
            "timings_s": {stage: round(seconds, 4) for stage, seconds in watch.seconds.items()},
        }
        arrays = {
            "visual": visual,
            "speech": speech,
            "face_mask": face_mask,
            "expressions": expressions,
            "boxes": boxes,
            "face_scores": face_scores,
            "audio_rms_db": levels,
            "face_crops": np.concatenate(rgb_crops) if rgb_crops else np.zeros((0, lowlevel.crop_size, lowlevel.crop_size, 3), np.uint8),
            "crop_frames": np.concatenate(crop_frames).astype(np.int64) if crop_frames else np.zeros(0, np.int64),
            "logmel": logmel,
        }
        return FeatureRecord(arrays, meta)


@dataclasses.dataclass(frozen=True)
class ExtractOutcome:
    """What happened to one input."""

    path: Path
    status: str  # "done", "skipped" (record already there) or "failed"
    message: str = ""  # the one-line problem when failed; when done, the damaged record it replaced (if any)
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class ExtractSummary:
    outcomes: tuple[ExtractOutcome, ...]

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def failed(self) -> list[ExtractOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    def line(self) -> str:
        repaired = sum(outcome.status == "done" and bool(outcome.message) for outcome in self.outcomes)
        line = f"{self.count('done')} done, {self.count('skipped')} skipped, {self.count('failed')} failed"
        return line + (f" ({repaired} damaged record{'s' if repaired > 1 else ''} recomputed)" if repaired else "")


def extract_one(path: Path, store: FeatureStore, extractor: FeatureExtractor) -> ExtractOutcome:
    """Extract one file into ``store`` unless its record exists; failures become outcomes, not exceptions."""
    start = time.perf_counter()
    try:
        check_file(path)
        sha256 = store.content_hash(path)
        intact, damage = store.check(sha256, extractor.key)
        if intact:
            return ExtractOutcome(path, "skipped")
        store.put(extractor.extract(path, sha256=sha256), extractor.key)
    except errors.MediaError as exc:
        return ExtractOutcome(path, "failed", str(exc), time.perf_counter() - start)
    return ExtractOutcome(path, "done", f"recomputed {damage}" if damage else "", time.perf_counter() - start)


def extract_many(
    paths: Sequence[Path],
    store: FeatureStore,
    extractor: FeatureExtractor,
    on_outcome: Callable[[ExtractOutcome], None] | None = None,
) -> ExtractSummary:
    """Extract every path into ``store`` (resumable); ``on_outcome`` is called after each file."""
    outcomes = []
    for path in paths:
        outcome = extract_one(Path(path), store, extractor)
        outcomes.append(outcome)
        if outcome.status == "failed":
            logger.info("%s", outcome.message)
        if on_outcome is not None:
            on_outcome(outcome)
    return ExtractSummary(tuple(outcomes))
