"""The benchmark's settings (configs/benchmark/*.yaml) and the fingerprint of a fold result.

A fold result is reused on a rerun only when :func:`fold_fingerprint` is unchanged: it covers the
settings that change results, the bytes of every EmoForensics config, the fold file, each clip's
content hash with the store's extraction keys for it, the external score files and the repeat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emoboost.config import Overridable, from_dict, load_section, load_yaml, require, to_dict
from emoboost.data.manifest import CATEGORIES, ManifestRow
from emoboost.data.protocols import PROTOCOL_FILE
from emoboost.errors import ConfigError
from emoboost.features.store import FeatureStore
from emoboost.media.levels import SILENCE_DB
from emoboost.models.consistency import ConsistencyConfig
from emoboost.models.emoforensics import EmoForensicsConfig
from emoboost.models.external import ExternalDetector
from emoboost.models.lowlevel import AcousticConfig, RGBConfig
from emoboost.models.mixture import check_weights
from emoboost.training.clips import TRIM_RULES
from emoboost.training.consistency import ConsistencyTrainConfig
from emoboost.training.detector import DetectorConfigs, TrainingData
from emoboost.training.folds import digest, file_digest
from emoboost.training.loop import TrainConfig

# settings that do not change a fold's result (paths are covered by the fold file and record digests)
# settings added after fold results were first stored, with the default that computes what folds computed before:
# left out of a fold's fingerprint at that default, so adding them does not invalidate the results already stored
FINGERPRINT_OMITTED_AT_DEFAULT = {"trim_rule": "level"}
NOT_IN_FINGERPRINT = (
    "name",
    "gpus_per_fold",  # where a fold runs, not what it computes
    "anchors",
    "categories",
    "detector_categories",  # the all-category detector only
    "ablation_set",  # what --ablations would add; the ablations run are fingerprinted
    "repeats",
    "folds",
    "root",
    "store",
    "manifest",
    "protocol",
    "external",
    "external_untrained",
)


MAX_BOOTSTRAP = 100_000  # draws: far more than any interval needs, far fewer than would run for days
MAX_REPEATS = 100


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig(Overridable):
    """configs/benchmark/*.yaml (paths relative to the working directory, ``configs/...`` falling back to the
    packaged configs: see :func:`emoboost.config.resolve_config`; the CLI can override them)."""

    name: str = "benchmark"
    folds: str = ""  # folder holding <category>.csv fold files
    root: str = ""  # folder the manifest paths are relative to ("": media.inputs.dataset_root of the fold files)
    store: str = ""  # feature store
    categories: tuple[str, ...] = CATEGORIES  # the folds run (held-out category, or a protocol's held_out name)
    detector_categories: tuple[str, ...] = ()  # fakes of the all-category detector ("" = categories)
    emo_config: str = "configs/emoforensics/full.yaml"
    ablations: tuple[str, ...] = ()  # more EmoForensics configs, each becomes a row "emo:<file stem>"
    ablation_set: tuple[str, ...] = ()  # the matched ablations `--ablations` adds (emo_config except the ablated part)
    external: tuple[str, ...] = ()  # NAME=FOLDER of per-fold <category>.csv score files: rows ext:NAME, emo+ext:NAME
    external_untrained: tuple[str, ...] = ()  # NAME=FILE, one score file from a detector that never saw this data
    rgb: RGBConfig = RGBConfig()
    acoustic: AcousticConfig = AcousticConfig()
    lowlevel_train: TrainConfig = TrainConfig(epochs=15, lr=1e-3, patience=4)
    target_fpr: float | None = None  # None: the Bayes decision on the fused LLR (prior 0.5, equal costs)
    bootstrap: int = 1000  # bootstrap draws for every interval
    silence_db: float = SILENCE_DB
    trim_rule: str = "level"  # where the trimmed variants start: first frame above silence_db, or "vad" onset
    train_trimmed: bool = True  # also train and test a detector on silence-trimmed clips
    max_missing: float = 0.02  # stop when more than this share of a split has no features
    seed: int = 0
    device: str = "cpu"  # where every network trains ("cuda" on a GPU box; the fusions stay on the CPU)
    threads: int = 0  # torch threads per fold (0: torch's default; a Ray task takes as many CPUs, at least 1)
    gpus_per_fold: float = 0.0  # Ray engine: GPUs each fold task asks for (1 with device cuda)
    repeats: int = 1  # > 1: re-drawn identity partitions (protocol seed + k) and training seeds (seed + k)
    manifest: str = ""  # every clip: re-drawn partitions, the all-category detector ("" = manifest.csv beside folds/)
    protocol: str = ""  # protocol YAML of the re-drawn partitions ("" = the protocol defaults)
    anchors: str = "configs/benchmark/anchors.yaml"  # published numbers to print beside ours ("" for none)
    consistency: bool = True  # also train the real-only consistency detector per fold (its rows and fusions)
    ensemble_baseline: bool = True  # also a second RGB + acoustic pair (another seed): the equal-capacity row
    mixture_weights: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)  # assumed shares: video-only, audio-only, both fake
    consistency_model: ConsistencyConfig = ConsistencyConfig()
    consistency_train: ConsistencyTrainConfig = ConsistencyTrainConfig(steps=800)
    # a manifest of more real clips (other people; features in `store`) the all-category detector's consistency
    # model also trains on, never the benchmark's folds ("" = none; the quickstart's: real clips of other seeds)
    detector_extra_real: str = ""
    # a consistency detector of `emoboost train-consistency` (real clips of other people) that every fold and the
    # all-category detector use as it is instead of training one on the fold's real clips ("" = train per fold);
    # refused when it trained on any person of a fold (by name: exclude the benchmark's manifest when training it)
    consistency_pretrained: str = ""

    def validate(self) -> None:
        require(bool(self.categories), "benchmark.categories must not be empty")
        require(self.target_fpr is None or 0 < self.target_fpr < 1, "benchmark.target_fpr must be in (0, 1)")
        require(0 <= self.bootstrap <= MAX_BOOTSTRAP, f"benchmark.bootstrap must be in [0, {MAX_BOOTSTRAP}]")
        require(1 <= self.repeats <= MAX_REPEATS, f"benchmark.repeats must be in [1, {MAX_REPEATS}]")
        require(self.threads >= 0, "benchmark.threads must be >= 0")
        require(self.gpus_per_fold >= 0, "benchmark.gpus_per_fold must be >= 0")
        require(0 <= self.max_missing < 1, "benchmark.max_missing must be in [0, 1)")
        require(self.trim_rule in TRIM_RULES, f"benchmark.trim_rule must be one of {', '.join(TRIM_RULES)}")
        dataclasses.replace(self.lowlevel_train, device=self.device).validate()  # a device torch cannot use: now
        require(
            self.lowlevel_train.seed in (0, self.seed),
            f"benchmark.lowlevel_train.seed ({self.lowlevel_train.seed}) is not used: every network of a benchmark "
            f"trains with benchmark.seed ({self.seed}); set that instead",
        )
        check_weights(self.mixture_weights)
        self.consistency_model.validate()
        self.consistency_train.validate()
        rows = self.emo_row_names()
        require(
            len(set(rows)) == len(rows),
            f"benchmark.ablations: two files give the same row name ({', '.join(rows)}); rename one",
        )

    def with_ablation_set(self) -> BenchmarkConfig:
        """``--ablations``: this config with its matched ablation set added to ``ablations`` (each once)."""
        if not self.ablations and not self.ablation_set:
            raise ConfigError(
                f"benchmark {self.name!r} names no ablations (benchmark.ablation_set: the EmoForensics configs that "
                "ablate its emo_config); --ablations has nothing matched to add"
            )
        return dataclasses.replace(
            self, ablations=(*self.ablations, *(a for a in self.ablation_set if a not in self.ablations))
        )

    def emo_rows(self) -> dict[str, str]:
        """EmoForensics row name -> its config: "emo" for ``emo_config``, "emo:<file stem>" per ablation."""
        return dict(zip(self.emo_row_names(), (self.emo_config, *self.ablations), strict=True))

    def training_data(self) -> TrainingData:
        """How the detector of ``emoboost train`` and the all-category detector read their rows."""
        categories = tuple(self.detector_categories or self.categories)
        return TrainingData(self.name, categories, self.seed, self.silence_db)

    def emo_row_names(self) -> list[str]:
        return ["emo", *(f"emo:{Path(path).stem}" for path in self.ablations)]

    def externals(self) -> list[ExternalDetector]:
        """The external detectors, checked (a single file via ``external`` is refused: it leaks)."""
        found = [ExternalDetector.parse(s) for s in self.external] + [
            ExternalDetector.parse(s, untrained=True) for s in self.external_untrained
        ]
        names = [e.name for e in found]
        require(len(set(names)) == len(names), f"external detector names must differ ({', '.join(names)})")
        return found


def load_benchmark_config(path: str | Path) -> BenchmarkConfig:
    try:
        return from_dict(BenchmarkConfig, load_yaml(path), "benchmark")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def detector_configs(
    config: BenchmarkConfig, emo_config: str, seed: int, consistency: bool | None = None
) -> DetectorConfigs:
    """The detector settings of a benchmark (with the consistency detector when ``config.consistency``, unless
    ``consistency`` says otherwise)."""
    with_consistency = config.consistency if consistency is None else consistency
    return DetectorConfigs.from_files(
        emo_config,
        config.rgb,
        config.acoustic,
        config.lowlevel_train,
        config.target_fpr,
        seed,
        config.device,
        config.consistency_model if with_consistency else None,
        config.consistency_train,
    )


def fingerprint_settings(config: BenchmarkConfig) -> dict[str, Any]:
    """The settings a fold's fingerprint covers: every field except :data:`NOT_IN_FINGERPRINT`, and those of
    :data:`FINGERPRINT_OMITTED_AT_DEFAULT` only where they differ from that default."""
    return {
        k: v
        for k, v in to_dict(config).items()
        if k not in NOT_IN_FINGERPRINT
        and (k not in FINGERPRINT_OMITTED_AT_DEFAULT or v != FINGERPRINT_OMITTED_AT_DEFAULT[k])
    }


def sha_lookup(store: FeatureStore, root: Path) -> Callable[[ManifestRow], str | None]:
    def sha_of(row: ManifestRow) -> str | None:
        path = root / row.path
        return store.content_hash(path) if path.is_file() else None

    return sha_of


# 2: rows and networks named by the networks table ("acoustic", was "audio"); a fold result of
# another format is computed again, never reused
RESULTS_FORMAT = 2


def emo_settings_digest(path: str | Path) -> str:
    """SHA-256 of the settings an EmoForensics YAML resolves to (defaults filled in; comments do not count)."""
    return digest(
        {
            "model": to_dict(load_section(EmoForensicsConfig, path, "model")),
            "train": to_dict(load_section(TrainConfig, path, "train")),
        }
    )


def fold_fingerprint(
    config: BenchmarkConfig,
    rows: Sequence[ManifestRow],
    fold_file: Path,
    store: FeatureStore,
    root: Path,
    externals: Sequence[ExternalDetector],
    category: str,
    repeat: int,
) -> str:
    """SHA-256 over what a fold result depends on: settings, model configs, fold file, feature records, score files."""
    settings = fingerprint_settings(config)
    models = {p: emo_settings_digest(p) for p in (config.emo_config, *config.ablations)}
    sha_of = sha_lookup(store, root)
    records = [(r.path, sha, store.keys_for(sha) if sha else []) for r, sha in ((r, sha_of(r)) for r in rows)]
    scores = {e.name: [e.untrained, file_digest(e.file_for(category))] for e in externals}
    protocol = fold_file.parent / PROTOCOL_FILE
    return digest(
        {
            "protocol": file_digest(protocol) if protocol.is_file() else None,  # what drew the fold
            "settings": settings,
            "models": models,
            "fold": file_digest(fold_file),
            "records": records,
            "externals": scores,
            "consistency_pretrained": (
                file_digest(config.consistency_pretrained) if config.consistency_pretrained else None
            ),
            "repeat": repeat,
            "results_format": RESULTS_FORMAT,
        }
    )
