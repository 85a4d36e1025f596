"""A detector with tiny random networks, built from configs in a second (no training): for CLI and API tests."""

from __future__ import annotations

from pathlib import Path

import torch

from emoboost.api import Detector
from emoboost.config import ExtractConfig
from emoboost.encoders.speech import EgemapsEncoder
from emoboost.encoders.visual import FerMiniXceptionEncoder
from emoboost.models.emoforensics import EmoForensics, EmoForensicsConfig
from emoboost.models.fusion import Fusion
from emoboost.models.lowlevel import AcousticConfig, AcousticDetector, RGBConfig, RGBDetector

TINY = EmoForensicsConfig(d_model=32, heads=2, intra_layers=1, inter_layers=1, feedforward=64, dropout=0.0, alignment_dim=16, window_tokens=10, hop_tokens=5)


def tiny_detector(folder: Path, seed: int = 0) -> Path:
    """Save a random-weight detector (fer-minixception + egemaps features, default extraction) to ``folder``."""
    torch.manual_seed(seed)
    extract = ExtractConfig()
    fusion = Fusion(("emo", "rgb", "audio"), (1.0, 0.5, 0.5), 0.0, 0.5, {"rule": "EER point", "fpr": 0.1, "tpr": 0.9, "val_clips": 20})
    detector = Detector(
        EmoForensics(TINY, FerMiniXceptionEncoder.dim, EgemapsEncoder.dim),
        RGBDetector(RGBConfig(width=8)),
        AcousticDetector(AcousticConfig(channels=(8, 8, 8)), extract.lowlevel.n_mels),
        fusion,
        extract,
        {"model_id": "tiny-random", "encoders": {"visual": FerMiniXceptionEncoder.id, "speech": EgemapsEncoder.id}},
    )
    return detector.save_pretrained(folder)
