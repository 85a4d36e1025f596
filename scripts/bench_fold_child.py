"""The child processes of scripts/bench_benchmark.py: one benchmark fold, timed per epoch, or its data path alone.

    python scripts/bench_fold_child.py time CONFIG OUT THREADS
    python scripts/bench_fold_child.py memory CONFIG

Each runs in a process of its own so that its peak RSS is its own; the last stdout line is JSON.
``time`` runs ``emoboost benchmark`` on the config (the fold it names) and records each epoch's
wall and CPU seconds per training stage, by wrapping the shared training loop
(:func:`emoboost.training.loop.fit`, the one every recipe calls). ``memory`` indexes the fold
lazily, reads every clip's tokens, face crops and log-mel once (what one epoch reads) and builds
the acoustic normaliser's input (the train split's log-mel as float32, the largest transient of a fold).
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np


def time_fold(config_path: str, out: Path, threads: int) -> dict:
    import torch

    import emoboost.training.emoforensics as emo_recipe
    import emoboost.training.lowlevel as lowlevel_recipe
    from emoboost.benchmark.config import load_benchmark_config
    from emoboost.benchmark.runner import run_benchmark
    from emoboost.training.loop import fit

    torch.set_num_threads(threads)
    stage, epochs, cpu, stages = ["loading"], {}, {}, []

    def timed(model, batches, loss, validate, config, on_epoch=None):
        last = [time.process_time()]

        def record(row):
            epochs.setdefault(stage[0], []).append(row["seconds"])
            cpu.setdefault(stage[0], []).append(time.process_time() - last[0])
            last[0] = time.process_time()
            if on_epoch is not None:
                on_epoch(row)

        return fit(model, batches, loss, validate, config, record)

    emo_recipe.fit = lowlevel_recipe.fit = timed  # every recipe's calls to the loop are timed

    def on_fold(category: str, name: str) -> None:
        trimmed = name.startswith("trimmed: ")
        name_only = re.sub(r" \(.*\)$", "", name.removeprefix("trimmed: ").removeprefix("training "))
        stage[0] = ("trimmed:" if trimmed else "") + name_only  # "rgb_seed2 (ensemble baseline)" -> "rgb_seed2"
        stages.append((name, time.perf_counter()))

    started = time.perf_counter()
    run_benchmark(load_benchmark_config(config_path), out, on_fold)
    total = time.perf_counter() - started
    walls = {a[0]: b[1] - a[1] for a, b in zip(stages, stages[1:], strict=False)}
    return {"epochs": epochs, "cpu": cpu, "stages": walls, "seconds": total, "cpu_seconds": time.process_time()}


def memory_pass(config_path: str) -> dict:
    from emoboost.benchmark.config import load_benchmark_config
    from emoboost.data.manifest import read_manifest
    from emoboost.features.store import FeatureStore
    from emoboost.media.timebase import TOKEN_FRAMES
    from emoboost.training.clips import load_fold

    config = load_benchmark_config(config_path)
    started = time.perf_counter()
    rows = read_manifest(Path(config.folds) / f"{config.categories[0]}.csv")
    data = load_fold(rows, FeatureStore(config.store), Path(config.root), TOKEN_FRAMES, config.silence_db)
    crop_bytes = 0
    for clips in data.splits.values():
        for clip in clips:
            _ = clip.original.emo.tokens, clip.trimmed.emo.tokens, clip.original.lowlevel.logmel
            crop_bytes += np.asarray(clip.original.lowlevel.crops).nbytes
    normaliser = np.concatenate([c.original.lowlevel.logmel for c in data.splits["train"]]).astype(np.float32)
    return {
        "seconds": time.perf_counter() - started,
        "crop_gb_read": crop_bytes / 2**30,
        "normaliser_mb": normaliser.nbytes / 2**20,
        "sizes": {k: len(v) for k, v in data.splits.items()},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["time"] and len(argv) == 4:
        result = time_fold(argv[1], Path(argv[2]), int(argv[3]))
    elif argv[:1] == ["memory"] and len(argv) == 2:
        result = memory_pass(argv[1])
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
