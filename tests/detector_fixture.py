"""A detector with tiny random networks, built from configs in a second (no training): for CLI and API tests."""

from __future__ import annotations

from pathlib import Path

from emoboost.api import Detector
from emoboost.models.emoforensics import EmoForensicsConfig
from emoboost.models.lowlevel import AcousticConfig, RGBConfig

TINY = EmoForensicsConfig(d_model=32, heads=2, intra_layers=1, inter_layers=1, feedforward=64, dropout=0.0, alignment_dim=16, window_tokens=10, hop_tokens=5)


def tiny_detector(folder: Path, seed: int = 0) -> Path:
    """Save a random-weight detector (fer-minixception + egemaps features, default extraction) to ``folder``."""
    detector = Detector.untrained(emo_config=TINY, rgb_config=RGBConfig(width=8), acoustic_config=AcousticConfig(channels=(8, 8, 8)), seed=seed)
    return detector.save_pretrained(folder)
