"""The benchmark's results as types: one :class:`FoldResult` per held-out category, one :class:`BenchmarkResult`;
a cross-dataset evaluation's :class:`CrossDatasetResult` (:mod:`emoboost.benchmark.cross_dataset`).

Their ``to_dict()`` is what ``folds/<category>.json`` and ``results.json`` hold (the file formats
are these dicts); ``FoldResult.from_dict`` reads a stored fold result back and refuses one with
missing or unknown keys, so a file of another format is never half-read.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from emoboost.errors import ConfigError

VARIANTS = ("metrics", "trimmed", "trimmed_trained")  # the test clips as recorded, trimmed, trimmed in training too


@dataclasses.dataclass(frozen=True)
class FoldResult:
    """One fold: how each network trained, the fusions fitted on calib and every row's metrics on test."""

    category: str
    seed: int
    training: dict[str, dict[str, Any]]  # network / ablation row -> label, best_epoch, val_auc, epochs
    fusions: dict[str, dict[str, Any]]  # fused row -> its Fusion.to_dict()
    metrics: dict[str, dict[str, Any]]  # row -> auc, ap, eer, acc, ece, intervals, probabilities, llr
    trimmed: dict[str, dict[str, Any]]  # the same rows on silence-trimmed test clips
    trim: dict[str, Any]  # exact, test_clips_trimmed, no_leading_silence
    labels: list[int]  # test clips, in order
    paths: list[str]
    groups: list[str]  # the identity of each test clip (the bootstrap's unit)
    cells: list[str | None]  # SynthAV factor cell of each test clip (None elsewhere)
    controls: dict[str, Any]
    sizes: dict[str, list[int]]  # split -> [real, fake] clips with features
    missing: dict[str, Any]
    dropped_duplicates: list[Any]
    fingerprint: str = ""
    trimmed_trained: dict[str, dict[str, Any]] | None = None  # rows of the detector trained on trimmed clips
    training_trimmed: dict[str, dict[str, Any]] | None = None
    scenarios: list[str] = dataclasses.field(default_factory=list)  # the recording each test clip derives from
    logits: dict[str, Any] | None = None  # calib / test logits of every fused input, calib labels and people

    @property
    def people(self) -> list[str]:
        """The bootstrap's unit of each test clip: its identity (its path in results stored without them)."""
        return self.groups or self.paths

    def test_set(self, rows: dict[str, dict[str, Any]], *names: str) -> tuple[np.ndarray, np.ndarray, tuple]:
        """``(labels, people, (probabilities of each named row, ...))``: one test set as the interval functions of
        :mod:`emoboost.metrics` take it (``rows``: one variant's rows of this fold)."""
        return (
            np.asarray(self.labels),
            np.asarray(self.people),
            tuple(np.asarray(rows[name]["probabilities"]) for name in names),
        )

    def variant(self, key: str) -> dict[str, dict[str, Any]] | None:
        """The rows' metrics of one variant (:data:`VARIANTS`); None when this fold has none."""
        if key not in VARIANTS:
            raise KeyError(key)
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("trimmed_trained", "training_trimmed", "logits"):
            if data[key] is None:
                del data[key]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FoldResult:
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        if not isinstance(data, dict) or not required <= set(data) or not set(data) <= names:
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ConfigError(f"not a fold result of this emoboost version (keys {found})")
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class BenchmarkResult:
    """Every fold's rows summarised (per fold, AVG, AVG-FV), the headline gain, and what each fold rests on."""

    benchmark: str
    config: dict[str, Any]
    folds: dict[str, dict[str, dict[str, Any]]]  # category -> row -> metrics (as recorded)
    average: dict[str, dict[str, float]]
    avg_fv: dict[str, dict[str, float]]
    gain: dict[str, Any]
    training: dict[str, dict[str, Any]]
    missing: dict[str, Any]
    dropped_duplicates: dict[str, Any]
    trim: dict[str, Any]
    fingerprints: dict[str, str]
    controls: dict[str, Any]
    cells: dict[str, Any]
    mismatch: dict[str, Any] = dataclasses.field(default_factory=dict)  # paired emotion-mismatch effect per fold
    consistency_gain: dict[str, Any] = dataclasses.field(default_factory=dict)  # lowlevel+consistency over lowlevel
    mixture_gain: dict[str, Any] = dataclasses.field(default_factory=dict)  # the same gain under the mixture fusion
    trimmed: dict[str, Any] | None = None  # {"folds", "average", "avg_fv"} on trimmed test clips
    trimmed_trained: dict[str, Any] | None = None
    repeats: dict[str, Any] | None = None  # spread over repeats, when there are several
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)  # code, libraries, date, fingerprints

    def to_dict(self) -> dict[str, Any]:
        """``results.json``."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclasses.dataclass(frozen=True)
class CrossDatasetResult:
    """``results.json``: every row per category of B, on all of B's clips, the gains, localisation, provenance."""

    name: str
    train: dict[str, Any]  # dataset, manifest, detector folder and how it was obtained, clips per split
    test: dict[str, Any]  # dataset, manifest, split, clips per category
    identities: dict[str, Any]  # checked or not, and what was compared
    own_fusion: dict[str, Any]  # the row that is the detector's own fusion, and how closely its refit reproduces it
    folds: dict[str, dict[str, dict[str, Any]]]  # B category -> row -> metrics (B's reals + that category)
    average: dict[str, dict[str, Any]]  # over B's categories
    avg_fv: dict[str, dict[str, Any]]  # over FakeAVCeleb's fake-video categories, when B is FakeAVCeleb
    overall: dict[str, dict[str, Any]]  # row -> metrics on every test clip
    gain: dict[str, Any]  # EMO-BOOST minus low-level, paired over identities
    consistency_gain: dict[str, Any]
    mixture_gain: dict[str, Any]
    overall_gain: dict[str, Any]  # the gain on every test clip
    localisation: dict[str, Any]
    missing: dict[str, Any]
    config: dict[str, Any]  # this config and the benchmark config of the recipe
    provenance: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``results.json`` of a cross-dataset evaluation."""
        return dataclasses.asdict(self)
