"""Feature extraction: video -> decode -> faces -> visual + speech encoders -> :class:`FeatureRecord`.

:class:`FeatureExtractor` holds the models and turns one file into one record;
:func:`extract_many` runs it over many files into a :class:`FeatureStore`, skipping files
whose record exists (resume) and reporting each failure by name without stopping the batch.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import emoboost
from emoboost import errors
from emoboost.cache import fingerprint, sha256_file
from emoboost.config import ExtractConfig, FaceConfig, resolve_device, to_dict
from emoboost.encoders import build_speech_encoder, build_visual_encoder
from emoboost.encoders.speech import SpeechEmotionEncoder
from emoboost.encoders.visual import FaceEmotionEncoder
from emoboost.features import version
from emoboost.features.store import FeatureRecord, FeatureStore
from emoboost.media.decode import MediaInfo, MediaReader, check_file
from emoboost.media.faces import FaceDetector, FaceTracker, TrackedChunk, crop_faces
from emoboost.media.levels import frame_levels_db
from emoboost.media.timebase import FPS, MEL_HOP, MEL_WINDOW, SAMPLE_RATE
from emoboost.timing import Stopwatch

logger = logging.getLogger(__name__)
MEL_FFT = 512  # FFT size of the log-mel spectrogram (the 400-sample window zero-padded)


def log_mel(audio: np.ndarray, n_mels: int) -> np.ndarray:
    """Log-mel spectrogram ``[F, n_mels]`` float16 at 100 Hz (``F = len(audio) / MEL_HOP``), natural log of power + 1e-6."""
    import torchaudio

    transform = torchaudio.transforms.MelSpectrogram(SAMPLE_RATE, n_fft=MEL_FFT, win_length=MEL_WINDOW, hop_length=MEL_HOP, n_mels=n_mels, center=True)
    with torch.inference_mode():
        power = transform(torch.from_numpy(np.ascontiguousarray(audio)))  # [n_mels, F + 1]
    frames = len(audio) // MEL_HOP
    return torch.log(power[:, :frames] + 1e-6).T.contiguous().numpy().astype(np.float16)


def face_detection_summary(faces: FaceConfig) -> str:
    """How faces were found, in words (goes into records and verdicts)."""
    if faces.rescan_s > 0:
        rescan = (
            f"whole frame at <= {faces.detect_max_side} px every {faces.rescan_s:g} s and when the track is lost, "
            "O-Net refinement of the track in between"
        )
    else:
        rescan = f"whole frame at <= {faces.detect_max_side} px on every keyframe"
    return (
        f"MTCNN on every {faces.stride}th frame of the 25 fps grid ({FPS / faces.stride:g} Hz; {rescan}), "
        "boxes and landmarks interpolated between keyframes"
    )


class FaceFeatures:
    """The per-frame face outputs of one clip, filled chunk by chunk as the tracker streams frames.

    Face crops wait until a full batch of the visual encoder is pending, then are encoded together;
    the low-level detector's RGB crops are kept for every ``lowlevel.crop_stride``-th frame."""

    def __init__(self, n_frames: int, visual: FaceEmotionEncoder, config: ExtractConfig, watch: Stopwatch):
        self.encoder, self.config, self.watch = visual, config, watch
        self.visual = np.zeros((n_frames, visual.dim), np.float32)  # [T, Dv]
        self.expressions = np.zeros((n_frames, len(visual.labels)), np.float32)  # [T, C]
        self.boxes = np.full((n_frames, 4), np.nan, np.float32)  # [T, 4]
        self.face_scores = np.zeros(n_frames, np.float32)  # [T]
        self.face_mask = np.zeros(n_frames, bool)  # [T]
        self.rgb_crops: list[np.ndarray] = []  # [k, S, S, 3] per chunk
        self.crop_frames: list[np.ndarray] = []  # grid frame of each RGB crop
        self._pending_index: list[np.ndarray] = []  # encoder crops waiting for a full batch, and their frames
        self._pending_crops: list[np.ndarray] = []

    def add(self, tracked: TrackedChunk, rows: np.ndarray) -> None:
        """Crop the frames of ``tracked`` where a face was tracked (``rows``) and encode full batches."""
        index = tracked.start + rows
        lowlevel, margin = self.config.lowlevel, self.config.faces.margin
        keep = rows[index % lowlevel.crop_stride == 0]  # the low-level detector's crops: every crop_stride-th frame
        with self.watch("crops"):
            wanted_crops = ((rows, self.encoder.input_size, self._pending_crops), (keep, lowlevel.crop_size, self.rgb_crops))
            for wanted, size, crops in wanted_crops:
                frames = [tracked.frames[row] for row in wanted]  # references: only face regions are copied
                crops.append(crop_faces(frames, tracked.boxes[wanted], tracked.landmarks[wanted], [size], margin)[size])
        self._pending_index.append(index)
        self.crop_frames.append(tracked.start + keep)
        span = slice(tracked.start, tracked.start + len(tracked.mask))
        self.boxes[span] = tracked.boxes
        self.face_scores[span] = tracked.scores
        self.face_mask[index] = True
        self.encode(final=False)

    def encode(self, final: bool) -> None:
        """Run the visual encoder on the pending crops once a batch is full (or whatever is left when ``final``)."""
        batch_size = self.config.encoders.batch_size
        if not self._pending_index or (not final and sum(len(i) for i in self._pending_index) < batch_size):
            return
        index, crops = np.concatenate(self._pending_index), np.concatenate(self._pending_crops)
        self._pending_index.clear()
        self._pending_crops.clear()
        with self.watch("visual"):
            for begin in range(0, len(crops), batch_size):
                embedding, probabilities = self.encoder.encode(crops[begin : begin + batch_size])
                self.visual[index[begin : begin + batch_size]] = embedding
                self.expressions[index[begin : begin + batch_size]] = probabilities

    def arrays(self) -> dict[str, np.ndarray]:
        size = self.config.lowlevel.crop_size
        return {
            "visual": self.visual,
            "face_mask": self.face_mask,
            "expressions": self.expressions,
            "boxes": self.boxes,
            "face_scores": self.face_scores,
            "face_crops": np.concatenate(self.rgb_crops) if self.rgb_crops else np.zeros((0, size, size, 3), np.uint8),
            "crop_frames": np.concatenate(self.crop_frames).astype(np.int64) if self.crop_frames else np.zeros(0, np.int64),
        }


class FeatureExtractor:
    """Turns one video into one :class:`FeatureRecord`: decode, track the face, encode face crops and
    speech, keep the low-level detectors' inputs (RGB face crops, log-mel).

    ``config.runtime.threads`` sets FFmpeg's decoding threads here; torch's thread count is a process-wide
    setting left to the entry point (the ``emoboost`` command applies it; from Python call
    ``torch.set_num_threads``)."""

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
        self.visual = visual or build_visual_encoder(encoders.visual, runtime.device, encoders.local_files_only)
        self.speech = speech or build_speech_encoder(encoders.speech, runtime.device, encoders.local_files_only)
        self.tracker = FaceTracker(FaceDetector(self.config.faces, runtime.device), self.config.faces)

    @property
    def key(self) -> str:
        """The record's cache key: the extraction code's version, then a fingerprint of everything else the
        features depend on (see :mod:`emoboost.features.version`)."""
        return version.key_prefix() + fingerprint(
            {
                "visual": [self.visual.id, self.visual.version],
                "speech": [self.speech.id, self.speech.version],
                "faces": to_dict(self.config.faces),
                "max_side": self.config.media.max_side,
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
        faces = self._faces(reader, watch)
        if require_face and not faces.face_mask.any():
            raise errors.NoFaceError(info.path, f"no face found in any of {info.n_frames} frames")
        with watch("speech"):
            speech = self.speech.encode(reader.audio, info.n_frames)  # [T, Da]
        levels = frame_levels_db(reader.audio, info.n_frames)
        with watch("lowlevel"):
            logmel = log_mel(reader.audio, self.config.lowlevel.n_mels)  # [F, n_mels], 100 Hz
        arrays = {**faces.arrays(), "speech": speech, "audio_rms_db": levels, "logmel": logmel}
        meta = self._meta(info, sha256 or sha256_file(info.path), float(faces.face_mask.mean()))
        meta["timings_s"] = {stage: round(seconds, 4) for stage, seconds in watch.seconds.items()}
        return FeatureRecord(arrays, meta)

    def _faces(self, reader: MediaReader, watch: Stopwatch) -> FaceFeatures:
        """Track the face through the streamed frames, crop and encode it."""
        faces = FaceFeatures(reader.info.n_frames, self.visual, self.config, watch)
        tracked_chunks = self.tracker.track(watch.timed("decode", reader.iter_frames()))
        while True:
            with watch("faces"):
                tracked = next(tracked_chunks, None)
                if tracked is None:
                    break
                rows = np.flatnonzero(tracked.mask)
            faces.add(tracked, rows)
        faces.encode(final=True)
        return faces

    def _meta(self, info: MediaInfo, sha256: str, face_fraction: float) -> dict[str, Any]:
        return {
            "sha256": sha256,
            "source_path": str(info.path),
            "n_frames": info.n_frames,
            "fps": FPS,
            "sample_rate": SAMPLE_RATE,
            "duration_s": info.duration_s,
            "width": info.width,
            "height": info.height,
            "source_width": info.source_width,
            "source_height": info.source_height,
            "source_fps": info.source_fps,
            "audio_duration_s": info.audio_duration_s,
            "face_fraction": face_fraction,
            "face_stride": self.config.faces.stride,
            "face_detection": face_detection_summary(self.config.faces),
            "visual_encoder": self.visual.id,
            "visual_encoder_version": self.visual.version,
            "speech_encoder": self.speech.id,
            "speech_encoder_version": self.speech.version,
            "expression_labels": list(self.visual.labels),
            "extraction_key": self.key,
            "extraction_version": version.EXTRACTION_VERSION,
            "extract_config": to_dict(self.config),
            "emoboost_version": emoboost.__version__,
        }


@dataclasses.dataclass(frozen=True)
class ExtractOutcome:
    """What happened to one input."""

    path: Path
    status: str  # "done", "skipped" (record already there) or "failed"
    message: str = ""  # the one-line problem when failed
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
        return f"{self.count('done')} done, {self.count('skipped')} skipped, {self.count('failed')} failed"


def extract_one(path: Path, store: FeatureStore, extractor: FeatureExtractor) -> ExtractOutcome:
    """Extract one file into ``store`` unless its record exists; failures become outcomes, not exceptions."""
    start = time.perf_counter()
    try:
        check_file(path)
        sha256 = store.content_hash(path)
        if store.has(sha256, extractor.key):
            return ExtractOutcome(path, "skipped")
        store.put(extractor.extract(path, sha256=sha256), extractor.key)
    except errors.MediaError as exc:
        return ExtractOutcome(path, "failed", str(exc), time.perf_counter() - start)
    return ExtractOutcome(path, "done", "", time.perf_counter() - start)


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
