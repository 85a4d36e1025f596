"""Generate a demo talking-face clip: a real face photo (matplotlib's Grace Hopper sample) with espeak-ng speech.

    python scripts/make_demo_clip.py runs/demo/clip.mp4 [--seconds 10] [--size 640x360] [--fps 25]

Handy to try `emoboost extract` / `emoboost detect` on a machine with no videos at hand; the
benchmark scripts use the same generator (emoboost.data.demo).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emoboost.data.demo import demo_clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT (even numbers)")
    parser.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    path = demo_clip(args.out, args.seconds, width, height, args.fps)
    print(f"wrote {path} ({args.seconds:g} s, {width}x{height}, {args.fps:g} fps, speech)")


if __name__ == "__main__":
    main()
