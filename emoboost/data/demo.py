"""Demo talking-face clips of any length and size: a real face photo drifting like a speaker's head,
with espeak-ng speech, encoded by ffmpeg in one pass (frames never held in memory).

Used by ``scripts/make_demo_clip.py`` and the benchmark scripts (a 10-minute 1080p file is made
in a few minutes with constant memory). The photo is matplotlib's Grace Hopper sample.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from emoboost.data.tts import espeak
from emoboost.errors import EmoboostError
from emoboost.files import atomic_path
from emoboost.media.decode import SAMPLE_RATE
from emoboost.media.write import ffmpeg_binary, write_wav

TEXT = (
    "Good morning. I want to tell you about the first computer bug, which was a real moth. "
    "We taped it into the log book, and everybody laughed about it for weeks. "
)


def face_photo() -> Image.Image:
    import matplotlib.cbook as cbook

    sample = cbook.get_sample_data("grace_hopper.jpg")
    assert not isinstance(sample, np.ndarray)  # an open file (an array only for .npy samples)
    with sample as handle:
        return Image.open(handle).convert("RGB")


def demo_clip(
    path: str | Path,
    seconds: float = 10.0,
    width: int = 640,
    height: int = 360,
    fps: float = 25.0,
    preset: str = "veryfast",
    variant: int = 0,
) -> Path:
    """Write an H.264 + AAC talking-face clip to ``path`` atomically. The face spans ~3/4 of the height.

    ``variant`` changes the background, the head's path and the speech, so clips differ in content
    (the feature store keys records by content)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    face_h = int(round(height * 0.75 / 2)) * 2
    face_w = int(round(face_h * 0.86 / 2)) * 2
    swing_x, swing_y = 0.05 * width * (1 + 0.1 * (variant % 5)), 0.02 * height
    sentences = TEXT.split(". ")
    speech = espeak(
        ". ".join(sentences[variant % len(sentences) :] + sentences[: variant % len(sentences)]),
        pitch=40 + 7 * (variant % 6),
    )
    with tempfile.TemporaryDirectory(prefix="emoboost-demo-") as tmp, atomic_path(path) as part:
        photo = Path(tmp) / "face.png"
        face_photo().resize((face_w, face_h)).save(photo)
        wav = Path(tmp) / "speech.wav"
        write_wav(wav, np.concatenate([speech, np.zeros(SAMPLE_RATE // 2, np.float32)]), SAMPLE_RATE)
        x = f"(W-w)/2+{swing_x:.1f}*sin(2*PI*t/3.6)"
        y = f"(H-h)/2+{swing_y:.1f}*cos(2*PI*t/2.8)"
        command = [
            ffmpeg_binary(),
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"color=c=0x{0x50 + 9 * (variant % 8):02x}6060:s={width}x{height}:r={fps}:d={seconds}",
            "-loop",
            "1",
            "-framerate",
            f"{fps}",
            "-i",
            str(photo),
            "-stream_loop",
            "-1",
            "-i",
            str(wav),
            "-filter_complex",
            f"[0:v][1:v]overlay=x='{x}':y='{y}':shortest=1,noise=alls=6:allf=t,format=yuv420p[v]",
            "-map",
            "[v]",
            "-map",
            "2:a",
            "-t",
            f"{seconds}",
            "-c:v",
            "libx264",
            "-preset",
            preset,
            "-crf",
            "23",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-f",
            "mp4",
            str(part),
        ]
        result = subprocess.run(command, capture_output=True, check=False)
        if result.returncode != 0:
            raise EmoboostError(f"{path}: ffmpeg failed: {result.stderr.decode(errors='replace').strip()[-300:]}")
    return path
