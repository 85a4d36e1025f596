"""The quickstart: SynthAV -> features -> cross-manipulation benchmark -> detector -> verdicts, in one command.

Everything lands under one folder (default ``runs/quickstart``): ``synthav/`` (clips, manifest,
folds), ``features/`` (the feature store), ``benchmark/`` (results.md/.csv/.json, PNGs),
``detector/`` (the detector trained on every category) and ``heldout/`` (a few clips of SynthAV
identities drawn with another seed, which neither the benchmark nor the detector ever sees, for
the final ``detect`` step). The detector is also saved under the user cache as the named detector
``quickstart``, the default of ``emoboost detect``. Each step resumes: a rerun reuses the clips,
features and finished folds. Every config is read (from the packaged ``configs/``) and validated
before the first long step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from emoboost.benchmark.runner import BenchmarkConfig, load_benchmark_config
from emoboost.config import ExtractConfig, load_section, load_yaml
from emoboost.data.manifest import ManifestRow
from emoboost.data.synthav import SynthConfig

QUICKSTART_CONFIG = "configs/benchmark/synthav.yaml"
# 20 identities in 10 swap pairs: the default identity fractions (50/10/10/30 %) give 10/2/2/6
# people, whole pairs in every split, so val and calib both hold real and fake clips (12 people gave
# val and calib one person each: a pair cannot sit in both, and calib was left without fakes)
QUICKSTART_SET = SynthConfig(identities=20, clips_per_identity=1, seconds=4.0, seed=0)
# other people: make_identity draws faces and voices (pitch, speed) from the seed, so seed 1 gives
# identities the quickstart's detector never saw; they are written under heldout/, apart from the set
HELD_OUT_SET = SynthConfig(identities=2, clips_per_identity=1, seconds=4.0, seed=1)
DETECTOR_NAME = "quickstart"  # the named detector under <cache>/detectors, `emoboost detect`'s default


def quickstart_settings(out: Path, config_path: str | Path = QUICKSTART_CONFIG) -> BenchmarkConfig:
    """The benchmark config of the quickstart, pointed at ``out``."""
    config = load_benchmark_config(config_path)
    return dataclasses.replace(
        config, folds=str(out / "synthav" / "folds"), store=str(out / "features"), root=str(out / "synthav")
    )


def check_quickstart(out: Path, config_path: str | Path = QUICKSTART_CONFIG) -> BenchmarkConfig:
    """Read and validate every config the quickstart will use (benchmark, EmoForensics model and training
    of the main config and each ablation, the anchors file, extraction, the fold protocol), so a bad or
    missing file fails in a second instead of after the long steps. Returns the benchmark settings."""
    from emoboost.data.protocols import load_protocol
    from emoboost.models.emoforensics import EmoForensicsConfig
    from emoboost.training.loop import TrainConfig

    settings = quickstart_settings(out, config_path)
    for emo_config in (settings.emo_config, *settings.ablations):
        load_section(EmoForensicsConfig, emo_config, "model")
        load_section(TrainConfig, emo_config, "train")
    if settings.anchors:
        load_yaml(settings.anchors)
    ExtractConfig().validate()
    load_protocol(None)
    return settings


def held_out_examples(rows: Sequence[ManifestRow], folder: Path, count: int = 4) -> list[Path]:
    """``count`` clips of the held-out set for the final `detect` demonstration: half real, half fake
    (fakes of different categories)."""
    reals = [r for r in rows if r.label == 0][: count // 2]
    first_of_category: dict[str, ManifestRow] = {}
    for row in rows:
        if row.label == 1:
            first_of_category.setdefault(row.category, row)
    fakes = list(first_of_category.values())[: count - len(reals)]
    return [folder / r.path for r in reals + fakes]


__all__ = [
    "DETECTOR_NAME",
    "HELD_OUT_SET",
    "QUICKSTART_SET",
    "check_quickstart",
    "held_out_examples",
    "quickstart_settings",
]
