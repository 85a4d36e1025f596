"""Generate a demo talking-face clip: a real face photo (matplotlib's Grace Hopper sample) with espeak-ng speech.

    python scripts/make_demo_clip.py runs/demo/clip.mp4 [--seconds 10]

Used by the README's first command until the benchmark quickstart exists; also handy to try
`emoboost extract` on a machine with no videos at hand.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.cbook as cbook
import numpy as np
from PIL import Image

from emoboost.data.tts import espeak
from emoboost.media.decode import FPS, SAMPLE_RATE
from emoboost.media.write import write_video

TEXT = (
    "Good morning. I want to tell you about the first computer bug, which was a real moth. "
    "We taped it into the log book, and everybody laughed about it for weeks."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        face = Image.open(handle).convert("RGB").resize((240, 280))
    count = int(round(args.seconds * FPS))
    frames = np.full((count, 360, 640, 3), 96, np.uint8)
    for i in range(count):  # the photo drifts like a speaker's head
        x = int(200 + 30 * np.sin(2 * np.pi * i / 90))
        y = int(40 + 8 * np.cos(2 * np.pi * i / 70))
        frames[i, y : y + 280, x : x + 240] = np.asarray(face)
    audio = espeak(TEXT, speed=150)
    wanted = count * SAMPLE_RATE // FPS
    audio = np.pad(audio, (0, max(0, wanted - len(audio))))[:wanted]
    path = write_video(args.out, frames, FPS, audio, SAMPLE_RATE)
    print(f"wrote {path} ({args.seconds:g} s, 640x360, 25 fps, speech at 16 kHz)")


if __name__ == "__main__":
    main()
