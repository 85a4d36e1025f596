"""A detector with tiny random networks, built from configs in a second (no training): for CLI and API tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoboost.detector.detector import Detector
from emoboost.features import FeatureRecord
from emoboost.models.consistency import ConsistencyConfig
from emoboost.models.emoforensics import EmoForensicsConfig
from emoboost.models.lowlevel import AcousticConfig, RGBConfig

# the keys of Verdict.to_dict(): the JSON schema analysts and scripts rely on
VERDICT_KEYS = {
    "path",
    "sha256",
    "label",
    "llr",
    "log10_lr",
    "lr_verbal",
    "prior",
    "probability",
    "threshold",
    "scores",
    "modalities",
    "segments",
    "duration_s",
    "model_id",
    "warnings",
    "warning_codes",
    "provenance",
}

TINY = EmoForensicsConfig(
    d_model=32,
    heads=2,
    intra_layers=1,
    inter_layers=1,
    feedforward=64,
    dropout=0.0,
    alignment_dim=16,
    window_tokens=10,
    hop_tokens=5,
)


TINY_CONSISTENCY = ConsistencyConfig(hidden=16, embed_dim=8)


def tiny_detector(folder: Path, seed: int = 0) -> Path:
    """Save a random-weight detector (default extraction: face-geometry+fer-minixception, egemaps) to ``folder``."""
    detector = Detector.untrained(
        emo_config=TINY,
        rgb_config=RGBConfig(width=8),
        acoustic_config=AcousticConfig(channels=(8, 8, 8)),
        seed=seed,
        consistency_config=TINY_CONSISTENCY,
    )
    return detector.save_pretrained(folder)


def tiny_record(frames: int = 100) -> FeatureRecord:
    """A random feature record of the embedded encoders' sizes (4 s), for scoring without extraction."""
    rng = np.random.default_rng(0)
    arrays = {
        "visual": rng.normal(size=(frames, 30 + 135)).astype(np.float32),  # face-geometry + fer-minixception
        "speech": rng.normal(size=(frames, 76)).astype(np.float32),  # egemaps
        "face_mask": np.ones(frames, bool),
        "expressions": np.full((frames, 7), 1 / 7, np.float32),
        "boxes": np.zeros((frames, 4), np.float32),
        "audio_rms_db": np.full(frames, -20.0, np.float32),
        "face_crops": rng.integers(0, 255, (4, 112, 112, 3), dtype=np.uint8),
        "crop_frames": np.arange(0, 40, 10, dtype=np.int64),
        "logmel": rng.normal(size=(frames * 4, 64)).astype(np.float16),
    }
    meta = {
        "sha256": "0" * 64,
        "source_path": "clip.mp4",
        "n_frames": frames,
        "fps": 25,
        "duration_s": frames / 25,
        "visual_encoder": "face-geometry+fer-minixception",
        "speech_encoder": "egemaps",
        "visual_encoder_version": "1",
        "speech_encoder_version": "1",
    }
    return FeatureRecord(arrays, meta)
