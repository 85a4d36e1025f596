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
from emoboost.config import ExtractConfig, FaceConfig, resolve_device, to_dict
from emoboost.encoders import build_speech_encoder, build_visual_encoder
from emoboost.encoders.speech import SpeechEmotionEncoder
from emoboost.encoders.vad import SileroVAD
from emoboost.encoders.visual import FaceEmotionEncoder
from emoboost.features import version
from emoboost.features.store import FeatureRecord, FeatureStore
from emoboost.features.visual_pass import VisualPass
from emoboost.files import fingerprint, sha256_file
from emoboost.media.decode import MediaInfo, MediaReader, check_file
from emoboost.media.faces import FaceDetector, FaceTracker, TrackedChunk, crop_faces
from emoboost.media.levels import frame_levels_db
from emoboost.media.timebase import FPS, MEL_HOP, MEL_WINDOW, SAMPLE_RATE
from emoboost.text import printable
from emoboost.timing import Stopwatch

logger = logging.getLogger(__name__)
MEL_FFT = 512  # FFT size of the log-mel spectrogram (the 400-sample window zero-padded)


def log_mel(audio: np.ndarray, n_mels: int) -> np.ndarray:
    """Log-mel spectrogram ``[F, n_mels]`` float16 at 100 Hz (``F = len(audio) / MEL_HOP``).

    Values are the natural log of power + 1e-6."""
    import torchaudio

    transform = torchaudio.transforms.MelSpectrogram(
        SAMPLE_RATE, n_fft=MEL_FFT, win_length=MEL_WINDOW, hop_length=MEL_HOP, n_mels=n_mels, center=True
    )
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


def no_face_cause(scanned: int, n_frames: int, source_duration_s: float) -> str:
    """Why a video has no face, with how much of it was looked at."""
    if scanned >= n_frames and n_frames / FPS >= source_duration_s - 1.0 / FPS:
        return f"no face found in any of {n_frames} frames"
    return (
        f"no face found in the first {scanned / FPS:g} s ({scanned} frames scanned of {source_duration_s:g} s; "
        "faces.give_up_s, media.max_duration_s)"
    )


class FaceFeatures:
    """The per-frame face outputs of one clip, filled chunk by chunk as the tracker streams frames.

    The visual encoder's crops go through a :class:`~emoboost.features.visual_pass.VisualPass`
    (batches, one crop per encoder part, strided parts held between their frames); the low-level
    detector's RGB crops are kept for every ``lowlevel.crop_stride``-th frame."""

    def __init__(self, n_frames: int, visual: FaceEmotionEncoder, config: ExtractConfig, watch: Stopwatch):
        self.config, self.watch = config, watch
        self.visual_pass = VisualPass(visual, n_frames, config.faces.margin, config.encoders.batch_size, watch)
        self.visual = self.visual_pass.visual  # [T, Dv]
        self.expressions = self.visual_pass.expressions  # [T, C]
        self.boxes = np.full((n_frames, 4), np.nan, np.float32)  # [T, 4]
        self.face_scores = np.zeros(n_frames, np.float32)  # [T]
        self.face_mask = np.zeros(n_frames, bool)  # [T]
        self.rgb_crops: list[np.ndarray] = []  # [k, S, S, 3] per chunk
        self.crop_frames: list[np.ndarray] = []  # grid frame of each RGB crop
        self.scanned = 0  # grid frames the tracker has looked at

    def add(self, tracked: TrackedChunk, rows: np.ndarray) -> None:
        """Crop the frames of ``tracked`` where a face was tracked (``rows``) and encode full batches."""
        index = tracked.start + rows
        lowlevel, margin = self.config.lowlevel, self.config.faces.margin
        keep = rows[index % lowlevel.crop_stride == 0]  # the low-level detector's crops: every crop_stride-th frame
        with self.watch("crops"):
            frames = [tracked.frames[row] for row in keep]  # references: only face regions are copied
            size = lowlevel.crop_size
            self.rgb_crops.append(
                crop_faces(frames, tracked.boxes[keep], tracked.landmarks[keep], [size], margin)[size]
            )
        self.visual_pass.add(tracked.start, tracked.frames, tracked.boxes, tracked.landmarks, tracked.mask)
        self.crop_frames.append(tracked.start + keep)
        span = slice(tracked.start, tracked.start + len(tracked.mask))
        self.boxes[span] = tracked.boxes
        self.face_scores[span] = tracked.scores
        self.face_mask[index] = True

    def finish(self) -> None:
        """Encode what is left and normalise per clip (the visual encoder's ``finish_clip``)."""
        self.visual, self.expressions = self.visual_pass.finish(self.face_mask)

    def arrays(self) -> dict[str, np.ndarray]:
        size = self.config.lowlevel.crop_size
        return {
            "visual": self.visual,
            "face_mask": self.face_mask,
            "expressions": self.expressions,
            "boxes": self.boxes,
            "face_scores": self.face_scores,
            "face_crops": np.concatenate(self.rgb_crops) if self.rgb_crops else np.zeros((0, size, size, 3), np.uint8),
            "crop_frames": np.concatenate(self.crop_frames).astype(np.int64)
            if self.crop_frames
            else np.zeros(0, np.int64),
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
        self.visual = visual or build_visual_encoder(
            encoders.visual, runtime.device, encoders.local_files_only, encoders.face_mesh_stride
        )
        self.speech = speech or build_speech_encoder(
            encoders.speech, runtime.device, encoders.local_files_only, encoders.speech_clip_normalisation
        )
        self.vad = SileroVAD(threshold=encoders.vad_threshold)
        self.tracker = FaceTracker(FaceDetector(self.config.faces, runtime.device), self.config.faces)

    @property
    def key(self) -> str:
        """The record's cache key: the extraction code's version, then a fingerprint of everything else the
        features depend on (see :mod:`emoboost.features.version`)."""
        return version.key_prefix() + fingerprint(
            {
                "visual": [self.visual.id, self.visual.version],
                "speech": [self.speech.id, self.speech.version],
                "vad": [self.vad.version, self.vad.threshold],
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
        faces = self._faces(reader, watch)
        if require_face and not faces.face_mask.any():
            raise errors.NoFaceError(info.path, no_face_cause(faces.scanned, info.n_frames, info.source_duration_s))
        with watch("speech"):
            speech = self.speech.encode(reader.audio, info.n_frames)  # [T, Da]
        with watch("vad"):
            speech_activity, audio_mask = self.vad.speech_activity(reader.audio, info.n_frames)  # [T], [T]
        levels = frame_levels_db(reader.audio, info.n_frames)
        with watch("lowlevel"):
            logmel = log_mel(reader.audio, self.config.lowlevel.n_mels)  # [F, n_mels], 100 Hz
        arrays = {**faces.arrays(), "speech": speech, "audio_mask": audio_mask, "speech_activity": speech_activity}
        arrays.update({"audio_rms_db": levels, "logmel": logmel})
        meta = self._meta(info, sha256 or sha256_file(info.path), float(faces.face_mask.mean()))
        meta["speech_fraction"] = float(audio_mask.mean())
        meta["vad"] = self.vad.version
        meta["face_scanned_s"] = faces.scanned / FPS  # less than the duration when a faceless video was given up
        meta["timings_s"] = {stage: round(seconds, 4) for stage, seconds in watch.seconds.items()}
        return FeatureRecord(arrays, meta)

    def _faces(self, reader: MediaReader, watch: Stopwatch) -> FaceFeatures:
        """Track the face through the streamed frames, crop and encode it."""
        faces = FaceFeatures(reader.info.n_frames, self.visual, self.config, watch)
        tracked_chunks = self.tracker.track(watch.timed("decode", reader.iter_frames()))
        give_up = (
            int(round(self.config.faces.give_up_s * FPS)) or reader.info.n_frames
        )  # faceless frames before giving up
        found = False
        while True:
            with watch("faces"):
                tracked = next(tracked_chunks, None) if faces.scanned < give_up or found else None
                if tracked is None:
                    tracked_chunks.close()  # stops decoding the rest
                    break
                rows = np.flatnonzero(tracked.mask)
                faces.scanned, found = tracked.start + len(tracked.mask), found or len(rows) > 0
            faces.add(tracked, rows)
        faces.finish()
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
            "source_duration_s": info.source_duration_s,
            "video_track": info.video_track,
            "video_tracks": info.video_tracks,
            "face_fraction": face_fraction,
            "face_stride": self.config.faces.stride,
            "face_detection": face_detection_summary(self.config.faces),
            "visual_encoder": self.visual.id,
            "visual_encoder_version": self.visual.version,
            "speech_encoder": self.speech.id,
            "speech_encoder_version": self.speech.version,
            "expression_labels": list(self.visual.labels),
            "visual_groups": {name: list(span) for name, span in self.visual.groups.items()},
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
    message: str = ""  # the one-line problem when failed; when done, the damaged record it replaced (if any)
    seconds: float = 0.0
    disk_full: bool = False  # failed because the store's disk is full: the batch stops (every later write fails)


@dataclasses.dataclass(frozen=True)
class ExtractSummary:
    outcomes: tuple[ExtractOutcome, ...]
    not_attempted: int = 0  # inputs left when the batch stopped on a full disk (a rerun does them)

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def failed(self) -> list[ExtractOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    def line(self) -> str:
        repaired = sum(outcome.status == "done" and bool(outcome.message) for outcome in self.outcomes)
        line = f"{self.count('done')} done, {self.count('skipped')} skipped, {self.count('failed')} failed"
        line += f" ({repaired} damaged record{'s' if repaired > 1 else ''} recomputed)" if repaired else ""
        if self.not_attempted:
            line += f", {self.not_attempted} not attempted (the disk is full: free space and rerun to go on)"
        return line


def extract_one(path: Path, store: FeatureStore, extractor: FeatureExtractor) -> ExtractOutcome:
    """Extract one file into ``store`` unless its record exists; failures become outcomes, not exceptions."""
    start = time.perf_counter()
    try:
        check_file(path)
        sha256 = store.content_hash(path)
        intact, damage = store.check(sha256, extractor.key)
        if intact:
            return ExtractOutcome(path, "skipped")
        record = extractor.extract(path, sha256=sha256)
        try:
            store.put(record, extractor.key)
        except OSError as exc:  # the features are computed but cannot be kept; earlier records are intact
            target = printable(store.record_path(sha256, extractor.key))
            return ExtractOutcome(
                path,
                "failed",
                f"{printable(path)}: features not written to {target} ({exc.strerror or exc})",
                time.perf_counter() - start,
                disk_full=errors.disk_is_full(exc),
            )
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
    for number, path in enumerate(paths):
        outcome = extract_one(Path(path), store, extractor)
        outcomes.append(outcome)
        if outcome.status == "failed":
            logger.info("%s", outcome.message)
        if on_outcome is not None:
            on_outcome(outcome)
        if outcome.disk_full:  # every later record would be computed and then lost the same way
            return ExtractSummary(tuple(outcomes), not_attempted=len(paths) - number - 1)
    return ExtractSummary(tuple(outcomes))
