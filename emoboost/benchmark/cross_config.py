"""The cross-dataset evaluation's settings (configs/benchmark/cross_dataset_*.yaml): dataset A (what the detector
learnt from, or the detector itself), dataset B (the labelled split it is tested on) and the localisation rule.
See :mod:`emoboost.benchmark.cross_dataset`."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Literal

from emoboost.benchmark.config import MAX_BOOTSTRAP
from emoboost.config import Overridable, from_dict, load_yaml, require
from emoboost.data.identities import identity_space
from emoboost.data.manifest import SEGMENT_COLUMNS
from emoboost.errors import ConfigError

ALL = "all"  # the test set of every B clip (real and every fake category)


@dataclasses.dataclass(frozen=True)
class TrainSide:
    """Dataset A: what the detector learnt from and was calibrated on."""

    dataset: str = ""  # its name in emoboost.data.identities.IDENTITY_SPACES (synthav, fakeavceleb, ...)
    manifest: str = ""  # a fold file (train / val / calib) or a manifest without splits
    store: str = ""  # feature store of A's clips (the calib clips are scored again)
    root: str = ""  # folder the manifest paths are relative to ("": the manifest's folder)
    benchmark: str = "configs/benchmark/synthav.yaml"  # the recipe: detector settings, categories, seed, target FPR
    detector: str = ""  # a detector folder trained on `manifest` with `benchmark` ("": train one into <out>/detector)

    def validate(self) -> None:
        require(bool(self.dataset), "train.dataset: name the training dataset (e.g. synthav, fakeavceleb)")
        identity_space(self.dataset)
        require(bool(self.manifest), "train.manifest: the manifest or fold file the detector trains on")
        require(bool(self.store), "train.store: the feature store of the training clips")


@dataclasses.dataclass(frozen=True)
class TestSide:
    """Dataset B: the labelled split the detector is tested on."""

    dataset: str = ""  # its name in IDENTITY_SPACES (avdeepfake1m, lavdf, fakeavceleb, ...)
    manifest: str = ""  # a manifest with a split column (`emoboost manifest ...`)
    split: str = "test"  # the rows tested on (AV-Deepfake1M: val; its test labels are not published)
    store: str = ""  # feature store filled by `emoboost extract` with the detector's extraction settings
    root: str = ""  # folder the manifest paths are relative to ("": the manifest's folder)

    def validate(self) -> None:
        require(bool(self.dataset), "test.dataset: name the test dataset (e.g. avdeepfake1m)")
        identity_space(self.dataset)
        require(bool(self.manifest), "test.manifest: the manifest of the test dataset")
        require(bool(self.split), "test.split: the split to test on (e.g. val)")
        require(bool(self.store), "test.store: the feature store of the test clips")


@dataclasses.dataclass(frozen=True)
class LocalisationConfig:
    """Segment proposals from window LLRs (:func:`emoboost.benchmark.localisation.window_proposals`)."""

    column: str = "fake_segments"  # the ground truth: fake_segments, video_fake_segments or audio_fake_segments
    thresholds: tuple[float, ...] = (-2.0, -1.0, 0.0, 1.0, 2.0)  # window LLR levels (natural log) of the runs
    max_gap_s: float = 0.0  # seconds between windows that still join one run
    proposal_score: Literal["mean", "max"] = "mean"  # a proposal's score from its windows' LLRs
    frame_score: Literal["mean", "max"] = "mean"  # a frame's score from the windows over it (frame AUC)

    def validate(self) -> None:
        require(self.column in SEGMENT_COLUMNS, f"localisation.column must be one of {', '.join(SEGMENT_COLUMNS)}")
        require(bool(self.thresholds), "localisation.thresholds must name at least one LLR level")
        require(all(math.isfinite(t) for t in self.thresholds), "localisation.thresholds must be finite numbers (LLRs)")
        require(0 <= self.max_gap_s < float("inf"), "localisation.max_gap_s must be a number >= 0")


@dataclasses.dataclass(frozen=True)
class CrossDatasetConfig(Overridable):
    """configs/benchmark/cross_dataset_*.yaml (paths relative to the working directory)."""

    name: str = "cross_dataset"
    train: TrainSide = TrainSide()
    test: TestSide = TestSide()
    localisation: LocalisationConfig = LocalisationConfig()
    bootstrap: int = 1000  # identity-bootstrap draws of every interval
    seed: int = 0  # the bootstrap's seed
    max_missing: float = 0.02  # stop when more than this share of the test (or calib) clips has no features

    def validate(self) -> None:
        self.train.validate()
        self.test.validate()
        self.localisation.validate()
        require(0 <= self.bootstrap <= MAX_BOOTSTRAP, f"bootstrap must be in [0, {MAX_BOOTSTRAP}]")
        require(self.seed >= 0, "seed must be >= 0")
        require(0 <= self.max_missing < 1, "max_missing must be in [0, 1)")


def load_cross_dataset_config(path: str | Path) -> CrossDatasetConfig:
    try:
        return from_dict(CrossDatasetConfig, load_yaml(path), "cross_dataset")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
