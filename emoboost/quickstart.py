"""The quickstart: SynthAV -> features -> cross-manipulation benchmark -> detector -> verdicts, in one command.

Everything lands under one folder (default ``runs/quickstart``): ``synthav/`` (clips, manifest,
folds), ``features/`` (the feature store), ``benchmark/`` (results.md/.csv/.json, PNGs) and
``detector/`` (the detector trained on every category). Each step resumes: a rerun reuses the
clips, features and finished folds.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from emoboost.benchmark import load_benchmark_config
from emoboost.data.synthav import SynthConfig

QUICKSTART_CONFIG = "configs/benchmark/synthav.yaml"
QUICKSTART_SET = SynthConfig(identities=12, clips_per_identity=2, seconds=4.0, seed=0)


def quickstart_settings(out: Path, config_path: str | Path = QUICKSTART_CONFIG):
    """The benchmark config of the quickstart, pointed at ``out``."""
    config = load_benchmark_config(config_path)
    return dataclasses.replace(config, folds=str(out / "synthav" / "folds"), store=str(out / "features"), root=str(out / "synthav"))


def held_out_examples(out: Path, count: int = 4) -> list[Path]:
    """A few test clips of the first fold (real and fake) for the final `detect` demonstration."""
    from emoboost.data.manifest import CATEGORIES, read_manifest

    rows = [r for r in read_manifest(out / "synthav" / "folds" / f"{CATEGORIES[0]}.csv") if r.split == "test"]
    reals = [r for r in rows if r.label == 0][: count // 2]
    fakes = [r for r in rows if r.label == 1][: count - len(reals)]
    return [out / "synthav" / r.path for r in reals + fakes]


__all__ = ["QUICKSTART_SET", "held_out_examples", "quickstart_settings"]
