"""Speech activity on the 25 fps grid: Silero VAD (MIT) through onnxruntime.

The ``silero-vad`` wheel ships ONNX exports of its model; we take the 16 kHz *sequence* export
(``silero_vad_16k_sequence.onnx``: the same network as the streaming model, run as one ONNX call
per block of up to 512 frames of 32 ms, its LSTM state carried between blocks), SHA-256 checked,
from the wheel without installing the package (its extras pin an older torchaudio). Each 32 ms
frame's speech probability is averaged onto the 40 ms grid frames it overlaps (time-weighted);
a grid frame is speech when that average reaches ``threshold``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoboost.encoders.assets import PackagedAsset, asset_path, ensure_asset
from emoboost.media.decode import SAMPLE_RATE, SAMPLES_PER_FRAME

SILERO_VERSION = "6.2.3"
SEQUENCE_MEMBER = "silero_vad/data/silero_vad_16k_sequence.onnx"
SEQUENCE_SHA256 = "9ccdacc4719d8aa7e45a77536bfabec45a03ba1f2fad5e241ab4060b24238a85"
SILERO_ASSET = PackagedAsset(
    registry="pypi",
    package="silero-vad",
    version=SILERO_VERSION,
    members={SEQUENCE_MEMBER: SEQUENCE_SHA256},
    env="EMOBOOST_SILERO_WHEEL",
    licence="MIT",
    credit="Silero VAD (Silero Team)",
)
VAD_FRAME = 512  # samples per Silero frame at 16 kHz (32 ms)
VAD_CONTEXT = 64  # samples of the previous frame prepended to each frame, as the streaming model does
VAD_BLOCK = 512  # frames per ONNX call
STATE_SHAPE = (1, 1, 128)
DEFAULT_THRESHOLD = 0.5


def vad_model_path() -> Path:
    """The SHA-256-checked Silero sequence model in the user cache (fetched on first use)."""
    ensure_asset(SILERO_ASSET)
    return asset_path(SILERO_ASSET, SEQUENCE_MEMBER)


def frames_with_context(audio: np.ndarray) -> np.ndarray:
    """``[F, 64 + 512]``: each 512-sample frame (the last zero-padded) after the previous frame's last 64 samples."""
    count = max(1, -(-len(audio) // VAD_FRAME))
    frames = np.zeros((count, VAD_FRAME), np.float32)
    frames.reshape(-1)[: len(audio)] = audio
    context = np.zeros((count, VAD_CONTEXT), np.float32)
    context[1:] = frames[:-1, -VAD_CONTEXT:]
    return np.concatenate([context, frames], axis=1)


def to_grid_fractions(values: np.ndarray, step: int, n_frames: int) -> np.ndarray:
    """Per-block ``values`` (one per ``step`` samples) averaged onto grid frames, weighted by overlap. ``[T]``."""
    per_sample = np.repeat(values.astype(np.float64), step)
    wanted = n_frames * SAMPLES_PER_FRAME
    per_sample = np.pad(per_sample, (0, max(0, wanted - len(per_sample))), mode="edge")[:wanted]
    return per_sample.reshape(n_frames, SAMPLES_PER_FRAME).mean(axis=1).astype(np.float32)


class SileroVAD:
    """Speech probability per grid frame for 16 kHz mono audio."""

    id = "silero-vad"
    version = f"silero-vad-{SILERO_VERSION}.16k_sequence"

    def __init__(self, model_path: str | Path | None = None, threshold: float = DEFAULT_THRESHOLD, threads: int = 1):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only
        self.session = onnxruntime.InferenceSession(
            str(model_path or vad_model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.threshold = threshold

    def probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Speech probability of each 32 ms frame, ``[ceil(len / 512)]``."""
        frames = frames_with_context(np.asarray(audio, np.float32))
        hidden, cell = np.zeros(STATE_SHAPE, np.float32), np.zeros(STATE_SHAPE, np.float32)
        parts = []
        for start in range(0, len(frames), VAD_BLOCK):
            values, hidden, cell = self.session.run(
                ["speech_probs", "hn", "cn"], {"input": frames[start : start + VAD_BLOCK], "h": hidden, "c": cell}
            )
            parts.append(values.reshape(-1))
        return np.concatenate(parts).astype(np.float32)

    def speech_activity(self, audio: np.ndarray, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """``(probability [T] float32, speech mask [T] bool)`` on the 25 fps grid (``SAMPLE_RATE`` audio)."""
        assert SAMPLE_RATE == 16_000  # the sequence export is the 16 kHz model
        probability = to_grid_fractions(self.probabilities(audio), VAD_FRAME, n_frames)
        return probability, probability >= self.threshold
