"""Feature extraction on Ray: the same records, in the same store, from many machines.

``extract_with_ray`` maps the input videos over a Ray cluster with Ray Data: a dataset of paths,
``map_batches`` with a pool of extractor actors (each loads the encoders once and uses one CPU
and one torch thread), results streamed back to the caller as they finish. Every actor calls
:func:`emoboost.features.extract.extract_one` on its file, which writes into the shared
:class:`~emoboost.features.store.FeatureStore` exactly as the local engine does: atomically
(temp file + rename), keyed by content hash and extraction settings, skipping records that
exist. So a cluster run and a local run give the same files, a crashed run resumes, and the
two engines can fill one store. The store and the videos must be on storage every node sees at
the same path (NFS, a shared disk); actors work in the driver's folder, so relative paths and
error messages read as they do locally. Ray ships no data but paths and outcomes.

``address=None`` starts a local cluster with ``workers`` CPUs; ``address="auto"`` or
``"ray://host:10001"`` joins an existing one.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emoboost.config import ExtractConfig, from_dict, to_dict
from emoboost.errors import ConfigError
from emoboost.features.extract import ExtractOutcome, ExtractSummary


class _Worker:
    """A Ray Data actor: one FeatureExtractor, reused for every file the actor is given."""

    def __init__(self, store_root: str, settings: dict[str, Any], cwd: str):
        import torch

        if Path(cwd).is_dir():  # relative paths and messages as on the driver (same mounts on every node)
            os.chdir(cwd)
        from emoboost.features.extract import FeatureExtractor
        from emoboost.features.store import FeatureStore

        config = from_dict(ExtractConfig, settings, "extract")
        threads = config.runtime.threads or 1  # one CPU per actor: one torch thread unless asked
        torch.set_num_threads(threads)
        config = dataclasses.replace(config, runtime=dataclasses.replace(config.runtime, threads=threads))
        self.store = FeatureStore(store_root)
        self.extractor = FeatureExtractor(config)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        from emoboost.features.extract import extract_one

        outcomes = [extract_one(Path(path), self.store, self.extractor) for path in batch["path"]]
        return {
            "path": [str(o.path) for o in outcomes],
            "status": [o.status for o in outcomes],
            "message": [o.message for o in outcomes],
            "seconds": [o.seconds for o in outcomes],
            "worker": [os.getpid()] * len(outcomes),
        }


def start_ray(address: str | None, workers: int) -> None:
    """Join the Ray cluster at ``address``, or start a local one of ``workers`` CPUs (quiet: errors only)."""
    # Ray Data logs each execution to the console at INFO; a user sees only emoboost's own lines
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "ERROR")
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--engine ray needs Ray: pip install 'emoboost[ray]'") from exc
    if ray.is_initialized():
        return
    options: dict[str, Any] = {
        "logging_level": logging.ERROR,
        "log_to_driver": False,
        "include_dashboard": False,
        "configure_logging": True,
    }
    if address is None:
        options.update(num_cpus=workers, object_store_memory=256 * 2**20)
    ray.init(address=address, **options)
    import ray.data

    logging.getLogger("ray.data").setLevel(os.environ["RAY_DATA_LOG_LEVEL"])
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False


def extract_with_ray(
    paths: Sequence[str | Path],
    store_root: str | Path,
    settings: ExtractConfig,
    address: str | None = None,
    workers: int = 2,
    on_outcome: Callable[[ExtractOutcome], None] | None = None,
) -> ExtractSummary:
    """Extract every path into the store at ``store_root`` with ``workers`` Ray actors (one CPU each)."""
    if workers < 1:
        raise ConfigError("--workers must be >= 1")
    settings.validate()
    start_ray(address, workers)
    import ray.data

    store_root = str(Path(store_root).resolve())
    items = [{"path": str(p)} for p in paths]
    dataset = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
    with warnings.catch_warnings():
        # max_restarts has no named parameter yet; passing it is what Ray Data's own code advises
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        results = dataset.map_batches(
            _Worker,
            fn_constructor_kwargs={"store_root": store_root, "settings": to_dict(settings), "cwd": os.getcwd()},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
            # a crashed actor fails the run (a rerun resumes); restartable ones make Ray's core log on the console
            max_restarts=0,
        )
    outcomes = []
    for row in results.iter_rows():
        outcome = ExtractOutcome(Path(row["path"]), row["status"], row["message"], float(row["seconds"]))
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    order = {item["path"]: i for i, item in enumerate(items)}
    outcomes.sort(key=lambda o: order.get(str(o.path), len(order)))
    return ExtractSummary(tuple(outcomes))


def shutdown() -> None:
    """Stop the local Ray cluster this process started (or disconnect from a remote one)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
