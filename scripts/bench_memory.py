"""Peak memory of one verdict on a long, large file: a 10-minute 1080p talking-face clip by default.

    python scripts/bench_memory.py [--seconds 600] [--size 1920x1080] [--model DIR] [--limit-mb 2048]
    python scripts/bench_memory.py --one-frame 16000x16000     # a frame above media.max_pixels: refused

The clip is generated once under --work (emoboost.data.demo; about 3 minutes on 2 cores for the
default). ``Detector.predict`` then runs in a child process so that its peak RSS is its own
(the child's own getrusage). Prints the peak, the time, the real-time factor and, last, one JSON
object with ``peak_rss_mb``; exits 1 when the peak is above --limit-mb (the target is 2 GB).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def _own_peak_mb() -> float:
    """This process's peak RSS (not the ffmpeg that made the clip: RUSAGE_CHILDREN would count it)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: Path, model: str) -> None:
    """The measured process (``--child``): one verdict; prints its timings as JSON."""
    from emoboost.detector.detector import Detector
    from emoboost.errors import MediaError

    detector = Detector.from_pretrained(model) if model else Detector.untrained()
    start = time.perf_counter()
    try:
        verdict = detector.predict(path)
    except MediaError as exc:  # the refusal is the result (--one-frame)
        print(json.dumps({"seconds": time.perf_counter() - start, "error": str(exc), "rss_mb": _own_peak_mb()}))
        return
    seconds = time.perf_counter() - start
    stages = detector.last_timings
    print(
        json.dumps({"seconds": seconds, "duration_s": verdict.duration_s, "stages_s": stages, "rss_mb": _own_peak_mb()})
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--model", type=Path, help="detector directory (default: the default architecture, untrained)")
    parser.add_argument("--limit-mb", type=float, default=2048.0)
    parser.add_argument("--work", type=Path, default=Path("runs/bench"))
    parser.add_argument("--one-frame", metavar="WxH", help="one grey frame of this size, no audio (the refusal's cost)")
    parser.add_argument("--child", nargs=2, metavar=("CLIP", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1])
        return
    from emoboost.data.demo import demo_clip

    width, height = (int(v) for v in (args.one_frame or args.size).lower().split("x"))
    path = args.work / f"demo_{args.seconds:g}s_{width}x{height}.mp4"
    if args.one_frame:
        path = args.work / f"one_frame_{width}x{height}.mp4"
        args.work.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"color=c=gray:s={width}x{height}:r=25"]
            + ["-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast", str(path)],
            check=True,
        )
    elif not path.exists():
        started = time.perf_counter()
        print(f"generating {path} ...", flush=True)
        demo_clip(path, args.seconds, width, height, preset="ultrafast")
        print(f"  {time.perf_counter() - started:.0f} s, {path.stat().st_size / 2**20:.0f} MB", flush=True)
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(args.model or "")], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"the child failed:\n{result.stderr[-2000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    peak = measured["rss_mb"]
    if "error" in measured:
        print(f"{width}x{height}: {measured['error']} in {measured['seconds']:.2f} s, peak RSS {peak:.0f} MB")
        print(json.dumps({"peak_rss_mb": round(peak, 1), "limit_mb": args.limit_mb, "size": f"{width}x{height}",
                          "seconds": round(measured["seconds"], 2), "refused": True}))  # fmt: skip
        sys.exit(1 if peak > args.limit_mb else 0)
    print(
        f"{args.seconds:g} s at {width}x{height}: predict {measured['seconds']:.1f} s "
        f"(real-time factor {measured['seconds'] / measured['duration_s']:.3f}), "
        f"peak RSS {peak:.0f} MB (limit {args.limit_mb:.0f} MB)"
    )
    for stage, seconds in measured["stages_s"].items():
        print(f"  {stage:<18} {seconds:8.2f} s")
    print(
        json.dumps(
            {
                "peak_rss_mb": round(peak, 1),
                "limit_mb": args.limit_mb,
                "seconds": round(measured["seconds"], 2),
                "rtf": round(measured["seconds"] / measured["duration_s"], 4),
                "clip_s": args.seconds,
                "size": f"{width}x{height}",
            }
        )
    )
    if peak > args.limit_mb:
        sys.exit(1)


if __name__ == "__main__":
    main()
