"""Does feature extraction scale out? Videos per second with 1 and 2 Ray workers on the same manifest.

    python scripts/bench_extract.py [--clips 12] [--seconds 10] [--workers 1 2] [--address ADDR]

Generates --clips distinct 640x360 talking-face clips once (emoboost.data.demo, under --work),
then for each worker count extracts all of them with ``emoboost extract --engine ray``'s code
path into a fresh feature store, on a local Ray cluster with exactly that many CPUs (or the
cluster at --address). Prints videos per second over the whole run (Ray start and model
loading included) and after start-up (from the first finished video to the last), and the
scaling efficiency ``throughput(n workers) / (n * throughput(1 worker))`` on the after-start-up
figures. The last line is one JSON object with ``scaling_efficiency`` (target >= 0.9).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def run(paths: list[Path], workers: int, address: str | None) -> dict:
    from emoboost.config import ExtractConfig
    from emoboost.features.distributed import extract_with_ray, shutdown

    finished: list[float] = []
    store = Path(tempfile.mkdtemp(prefix=f"emoboost-bench-{workers}w-"))
    started = time.perf_counter()
    try:
        summary = extract_with_ray(
            paths,
            store,
            ExtractConfig(),
            address=address,
            workers=workers,
            on_outcome=lambda o: finished.append(time.perf_counter()),
        )
    finally:
        shutdown()
        shutil.rmtree(store, ignore_errors=True)
    wall = time.perf_counter() - started
    if summary.count("done") != len(paths):
        raise SystemExit(f"{workers} workers: {summary.line()}")
    steady = (len(finished) - 1) / (finished[-1] - finished[0]) if len(finished) > 1 else float("nan")
    return {
        "workers": workers,
        "wall_s": round(wall, 2),
        "videos_per_s": round(len(paths) / wall, 4),
        "steady_videos_per_s": round(steady, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--address", help="join this Ray cluster instead of starting local ones")
    parser.add_argument("--work", type=Path, default=Path("runs/bench"))
    args = parser.parse_args()
    from emoboost.data.demo import demo_clip

    folder = args.work / f"extract_{args.seconds:g}s"
    paths = []
    for i in range(args.clips):
        path = folder / f"clip_{i:03d}.mp4"
        paths.append(path if path.exists() else demo_clip(path, args.seconds, variant=i))
    print(f"{len(paths)} clips of {args.seconds:g} s (640x360, 25 fps) in {folder}")
    results = []
    for workers in args.workers:
        result = run(paths, workers, args.address)
        results.append(result)
        print(
            f"{workers} worker(s): {result['wall_s']:.1f} s in all, {result['videos_per_s']:.3f} videos/s; "
            f"after start-up {result['steady_videos_per_s']:.3f} videos/s"
        )
    base = results[0]
    summary = {"clips": len(paths), "clip_s": args.seconds, "runs": results}
    for result in results[1:]:
        ratio = result["workers"] / base["workers"]
        summary["scaling_efficiency"] = round(result["steady_videos_per_s"] / (ratio * base["steady_videos_per_s"]), 3)
        summary["scaling_efficiency_whole_run"] = round(result["videos_per_s"] / (ratio * base["videos_per_s"]), 3)
        print(
            f"scaling efficiency {base['workers']} -> {result['workers']} workers: "
            f"{summary['scaling_efficiency']:.2f} after start-up, "
            f"{summary['scaling_efficiency_whole_run']:.2f} whole run (target >= 0.9)"
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
