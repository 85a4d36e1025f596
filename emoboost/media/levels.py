"""Audio level per grid frame, and the one threshold below which a frame counts as silent."""

from __future__ import annotations

import numpy as np

from emoboost.media.timebase import SAMPLES_PER_FRAME

SILENCE_FLOOR_DB = -100.0  # levels are floored here (digital silence has no finite level)
SILENCE_DB = -45.0  # a grid frame at or below this RMS level (dBFS) is silent: verdict warnings, silence trimming


def frame_levels_db(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS level of each grid frame's samples in dBFS, floored at :data:`SILENCE_FLOOR_DB`. ``[T]``."""
    frames = audio[: n_frames * SAMPLES_PER_FRAME].reshape(n_frames, SAMPLES_PER_FRAME).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return np.maximum(20 * np.log10(np.maximum(rms, 1e-10)), SILENCE_FLOOR_DB).astype(np.float32)
