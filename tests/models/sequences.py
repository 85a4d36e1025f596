"""Generated emotion feature sequences: face and voice from one trajectory (real) or from two (fake)."""

from __future__ import annotations

import numpy as np

from emoboost.models.tokens import tokenize
from emoboost.training.emoforensics import LabelledClip


def trajectory(rng: np.random.Generator, frames: int, emotions: int = 5) -> np.ndarray:
    """Smooth piecewise emotion weights ``[frames, emotions]``: a new emotion every 1-3 s."""
    weights = np.zeros((frames, emotions), np.float32)
    start = 0
    while start < frames:
        length = int(rng.integers(25, 75))
        weights[start : start + length, rng.integers(emotions)] = 1
        start += length
    kernel = np.ones(9) / 9
    return np.stack(
        [np.convolve(np.pad(weights[:, j], 4, mode="edge"), kernel, mode="valid") for j in range(emotions)], axis=1
    )


def clips(
    count: int, seed: int, frames: int = 200, face_dim: int = 16, voice_dim: int = 12, noise: float = 0.2
) -> list[LabelledClip]:
    """Half real (one trajectory drives both), half fake (the voice follows an unrelated trajectory)."""
    rng = np.random.default_rng(seed)
    face_map = np.random.default_rng(100).normal(size=(5, face_dim))
    voice_map = np.random.default_rng(101).normal(size=(5, voice_dim))
    out = []
    for i in range(count):
        fake = i % 2
        z = trajectory(rng, frames)
        z_voice = trajectory(rng, frames) if fake else z
        visual = (z @ face_map + noise * rng.normal(size=(frames, face_dim))).astype(np.float32)
        speech = (z_voice @ voice_map + noise * rng.normal(size=(frames, voice_dim))).astype(np.float32)
        face_mask = np.ones(frames, bool)
        out.append(LabelledClip(f"clip{i}", tokenize(visual, speech, face_mask, 5), fake, False, bool(fake)))
    return out
