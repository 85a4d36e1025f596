"""Benchmark folds on Ray: each (repeat, fold) still to compute is one Ray task.

The driver plans every repeat as the local engine does (:func:`emoboost.benchmark.runner.plan_repeat`:
stored results whose fingerprint matches are reused, fold files and protocols are written
beside where results go), then submits one task per remaining fold with
``threads`` CPUs (at least 1) and ``gpus_per_fold`` GPUs. Each task calls
the runner's ``run_job`` (passed in), which trains, fuses, evaluates and writes the fold's
JSON atomically on the shared output folder, exactly as the local engine; the driver collects
the results as they finish and builds ``results.json`` and the report from them. A crashed or
stopped run resumes from the folds already written, by either engine. The feature store, the
fold files and the output folder must be at the same path on every node (tasks work in the
driver's folder, so relative paths read the same). Ray ships the config (as a dict), the job
(paths and numbers) and the fold result back; no features travel through Ray.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from emoboost.benchmark.config import BenchmarkConfig
from emoboost.benchmark.results import FoldResult
from emoboost.config import from_dict, to_dict
from emoboost.errors import ConfigError


def _fold_task(settings: dict[str, Any], job: Any, cwd: str, threads: int, run_job: Callable) -> dict[str, Any]:
    """The body of one Ray task: one fold, computed and written by ``run_job`` as the local engine does (the
    runner passes its own function, by reference, so this module never imports the runner)."""
    import torch

    if os.path.isdir(cwd):
        os.chdir(cwd)
    torch.set_num_threads(threads)
    config = from_dict(BenchmarkConfig, settings, "benchmark")
    return run_job(job, config, config.externals()).to_dict()


def run_jobs_with_ray(
    jobs: Sequence[Any],
    config: BenchmarkConfig,
    run_job: Callable,
    address: str | None = None,
    workers: int = 2,
    on_fold: Callable[[str, str], None] = lambda category, stage: None,
) -> dict[tuple[int, str], FoldResult]:
    """Run the fold jobs as Ray tasks; ``{(repeat, category): FoldResult}``. ``address=None`` starts a local
    cluster of ``workers`` x ``threads`` CPUs; ``"auto"`` or ``"ray://host:10001"`` joins one."""
    if workers < 1:
        raise ConfigError("--workers must be >= 1")
    if not jobs:
        return {}
    import ray

    from emoboost.features.distributed import start_ray

    threads = max(1, config.threads)
    started_here = address is None and not ray.is_initialized()
    start_ray(address, workers * threads)
    try:
        return _run(jobs, config, threads, run_job, on_fold)
    finally:
        if started_here:  # a local cluster this call started goes with it
            ray.shutdown()


def _run(
    jobs: Sequence[Any], config: BenchmarkConfig, threads: int, run_job: Callable, on_fold: Callable[[str, str], None]
) -> dict[tuple[int, str], FoldResult]:
    import ray

    task = ray.remote(num_cpus=threads, num_gpus=config.gpus_per_fold, max_retries=0)(_fold_task)
    settings = to_dict(config)
    pending = {task.remote(settings, job, os.getcwd(), threads, run_job): job for job in jobs}
    for job in jobs:
        on_fold(job.category, "queued on Ray" + (f" (repeat {job.repeat})" if job.repeat else ""))
    results: dict[tuple[int, str], FoldResult] = {}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        job = pending.pop(ready[0])
        results[(job.repeat, job.category)] = FoldResult.from_dict(ray.get(ready[0]))
        on_fold(job.category, "done (ray)" + (f" (repeat {job.repeat})" if job.repeat else ""))
    return results
