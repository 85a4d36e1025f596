"""Writing clips: uint8 RGB frames (+ optional mono audio) -> a video file through the ffmpeg CLI.

Used by SynthAV and by the tests to make media. Written under a temporary name and renamed,
so an interrupted write leaves nothing behind.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emoboost.errors import EmoboostError
from emoboost.files import atomic_path


def ffmpeg_binary() -> str:
    """Path of the ffmpeg executable, or a clear error saying how to install it."""
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise EmoboostError("ffmpeg is not installed (Debian/Ubuntu: apt-get install ffmpeg)")
    return binary


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM mono (``[n]``) or multi-channel (``[n, c]``) WAV."""
    samples = np.asarray(audio, np.float32)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float = 25.0,
    audio: np.ndarray | None = None,
    sample_rate: int = 16_000,
    video_args: Sequence[str] = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"),
    audio_args: Sequence[str] = ("-c:a", "aac", "-b:a", "96k"),
) -> Path:
    """Encode ``frames`` (uint8 ``[t, H, W, 3]``, even H and W for yuv420p) and optional ``audio``."""
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    height, width = frames.shape[1:3]
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="emoboost-write-") as tmp, atomic_path(path) as part:
        command = [
            ffmpeg_binary(),
            "-loglevel",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{width}x{height}",
            "-r",
            f"{fps}",
            "-i",
            "-",
        ]
        if audio is not None:
            wav = Path(tmp) / "audio.wav"
            write_wav(wav, audio, sample_rate)
            command += ["-i", str(wav), *audio_args]
        command += [*video_args, "-f", _muxer(path), str(part)]
        result = subprocess.run(command, input=frames.tobytes(), capture_output=True, check=False)
        if result.returncode != 0:
            raise EmoboostError(f"{path}: ffmpeg failed: {result.stderr.decode(errors='replace').strip()[-300:]}")
    return path


def _muxer(path: Path) -> str:
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}.get(
        path.suffix.lower(), "mp4"
    )
