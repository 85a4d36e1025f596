"""The cross-manipulation benchmark: per held-out category, train every detector, fuse, evaluate.

For each fold file ``folds/<category>.csv`` (see :mod:`emoboost.data.protocols`):

1. load each clip's features once: emotion tokens (EmoForensics) and face crops + log-mel
   (low-level detectors), plus a variant with the **leading silence trimmed** (frames before
   the first frame louder than ``silence_db``; a known shortcut of FakeAVCeleb);
2. train EmoForensics (and each ablation config), the RGB and the acoustic detector on
   ``train``, early-stopping on ``val``;
3. on ``val`` only (training categories, never the held-out one) fit one calibrated fusion per
   detector row: ``emo``, each ablation, ``rgb``, ``audio``, ``lowlevel`` (rgb + audio),
   ``fusion`` (EMO-BOOST: emo + rgb + audio) and ``mean`` (the uncalibrated mean of the three
   logits), each with its threshold;
4. evaluate every row on ``test`` (held-out category + held-out real identities), on the
   original and the silence-trimmed clips.

A finished fold is written to ``<out>/folds/<category>.json`` and skipped on a rerun.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emoboost.cache import write_json_atomic
from emoboost.config import from_dict, load_section, load_yaml, require, to_dict
from emoboost.data.manifest import CATEGORIES, ManifestRow, read_manifest, write_manifest
from emoboost.errors import ConfigError, DataError
from emoboost.features.store import FeatureRecord, FeatureStore
from emoboost.media.inputs import dataset_root
from emoboost.media.levels import SILENCE_DB
from emoboost.media.timebase import MEL_PER_FRAME
from emoboost.metrics import evaluate
from emoboost.models.emoforensics import EmoForensicsConfig
from emoboost.models.external import ExternalScores
from emoboost.models.fusion import Fusion
from emoboost.models.lowlevel import AcousticConfig, RGBConfig, acoustic_video_logit, rgb_video_logit
from emoboost.models.tokens import tokenize
from emoboost.train import LabelledClip, TrainConfig, predict_logits, train_emoforensics
from emoboost.train_lowlevel import LowLevelClip, train_acoustic, train_rgb

logger = logging.getLogger(__name__)
VISUAL_CATEGORIES = ("FVRA-WL", "FVFA-FS", "FVFA-GAN", "FVFA-WL")
BASE_DETECTORS = ("emo", "rgb", "audio", "lowlevel", "fusion", "mean")
FUSED = {"emo": ("emo",), "rgb": ("rgb",), "audio": ("audio",), "lowlevel": ("rgb", "audio"), "fusion": ("emo", "rgb", "audio")}


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig:
    """configs/benchmark/*.yaml (paths relative to the working directory, ``configs/...`` falling back to the
    packaged configs: see :func:`emoboost.config.resolve_config`; the CLI can override them)."""

    name: str = "benchmark"
    folds: str = ""  # folder holding <category>.csv fold files
    root: str = ""  # folder the manifest paths are relative to ("": media.inputs.dataset_root of the fold files)
    store: str = ""  # feature store
    categories: tuple[str, ...] = CATEGORIES
    emo_config: str = "configs/emoforensics/full.yaml"
    ablations: tuple[str, ...] = ()  # more EmoForensics configs, each becomes a row "emo:<file stem>"
    external: tuple[str, ...] = ()  # path,score CSVs of other detectors: rows "ext:<file stem>", and inputs of the fusion
    rgb: RGBConfig = RGBConfig()
    acoustic: AcousticConfig = AcousticConfig()
    lowlevel_train: TrainConfig = TrainConfig(epochs=15, lr=1e-3, patience=4)
    target_fpr: float | None = None  # None: the Bayes decision on the fused LLR (prior 0.5, equal costs)
    bootstrap: int = 1000
    silence_db: float = SILENCE_DB
    seed: int = 0
    anchors: str = "configs/benchmark/anchors.yaml"  # published numbers to print beside ours ("" for none)

    def validate(self) -> None:
        require(bool(self.categories), "benchmark.categories must not be empty")
        require(self.target_fpr is None or 0 < self.target_fpr < 1, "benchmark.target_fpr must be in (0, 1)")
        require(self.bootstrap >= 0, "benchmark.bootstrap must be >= 0")


def load_benchmark_config(path: str | Path) -> BenchmarkConfig:
    try:
        return from_dict(BenchmarkConfig, load_yaml(path), "benchmark")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class FoldClip:
    """One clip of a fold, with the inputs of every detector, as recorded and silence-trimmed."""

    row: ManifestRow
    emo: LabelledClip
    lowlevel: LowLevelClip
    emo_trimmed: LabelledClip
    lowlevel_trimmed: LowLevelClip


def leading_silence_frames(record: FeatureRecord, silence_db: float) -> int:
    """Grid frames before the first frame louder than ``silence_db`` (0 when the clip is silent throughout)."""
    loud = np.flatnonzero(record.audio_rms_db > silence_db)
    return int(loud[0]) if len(loud) else 0


def fold_clip(row: ManifestRow, record: FeatureRecord, token_frames: int, silence_db: float) -> FoldClip:
    """Both variants of one clip's inputs from its feature record."""

    def variant(start: int) -> tuple[LabelledClip, LowLevelClip]:
        tokens = tokenize(record.visual[start:], record.speech[start:], record.face_mask[start:], token_frames)
        crops = record.face_crops[record.crop_frames >= start]
        return (
            LabelledClip(row.path, tokens, row.label, row.video_fake, row.audio_fake),
            LowLevelClip(row.path, crops, record.logmel[start * MEL_PER_FRAME :], row.label),
        )

    start = min(leading_silence_frames(record, silence_db), max(0, record.n_frames - token_frames))
    emo, lowlevel = variant(0)
    emo_trimmed, lowlevel_trimmed = variant(start) if start else (emo, lowlevel)
    return FoldClip(row, emo, lowlevel, emo_trimmed, lowlevel_trimmed)


def load_fold(rows: Sequence[ManifestRow], store: FeatureStore, root: Path, token_frames: int, silence_db: float) -> tuple[dict[str, list[FoldClip]], list[str]]:
    """Clips per split, loading each feature record once; the paths that have no record."""
    splits: dict[str, list[FoldClip]] = {"train": [], "val": [], "test": []}
    missing = []
    for row in rows:
        record = store.find(root / row.path)
        if record is None:
            missing.append(row.path)
        else:
            splits[row.split].append(fold_clip(row, record, token_frames, silence_db))
    return splits, missing


def _labels(clips: Sequence[FoldClip]) -> np.ndarray:
    return np.array([c.row.label for c in clips])


def run_fold(
    category: str,
    rows: Sequence[ManifestRow],
    store: FeatureStore,
    root: Path,
    config: BenchmarkConfig,
    on_stage: Callable[[str], None] = lambda stage: None,
) -> dict[str, Any]:
    """Train, fuse and evaluate one fold; returns its results (see the module docstring)."""
    emo_configs = {"emo": config.emo_config, **{f"emo:{Path(p).stem}": p for p in config.ablations}}
    model_configs = {name: load_section(EmoForensicsConfig, path, "model") for name, path in emo_configs.items()}
    token_frames = {c.token_frames for c in model_configs.values()}
    if len(token_frames) != 1:
        raise ConfigError("all EmoForensics configs of a benchmark must use the same token_frames")
    on_stage("loading features")
    splits, missing = load_fold(rows, store, root, token_frames.pop(), config.silence_db)
    for split, clips in splits.items():
        if len(set(_labels(clips).tolist())) < 2:
            raise DataError(f"fold {category}: the {split} split needs real and fake clips with features ({len(clips)} found)")
    logits: dict[str, dict[str, np.ndarray]] = {"val": {}, "test": {}, "test_trimmed": {}}
    history: dict[str, Any] = {}
    for name, path in emo_configs.items():
        on_stage(f"training {name}")
        result = train_emoforensics([c.emo for c in splits["train"]], [c.emo for c in splits["val"]], model_configs[name], load_section(TrainConfig, path, "train"))
        history[name] = {"best_epoch": result.best_epoch, "val_auc": result.best_score, "epochs": len(result.history)}
        logits["val"][name] = predict_logits(result.model, [c.emo for c in splits["val"]])
        logits["test"][name] = predict_logits(result.model, [c.emo for c in splits["test"]])
        logits["test_trimmed"][name] = predict_logits(result.model, [c.emo_trimmed for c in splits["test"]])
    lowlevel_train = dataclasses.replace(config.lowlevel_train, seed=config.seed)
    on_stage("training rgb")
    rgb = train_rgb([c.lowlevel for c in splits["train"]], [c.lowlevel for c in splits["val"]], config.rgb, lowlevel_train)
    on_stage("training audio")
    audio = train_acoustic([c.lowlevel for c in splits["train"]], [c.lowlevel for c in splits["val"]], config.acoustic, lowlevel_train)
    history["rgb"] = {"best_epoch": rgb.best_epoch, "val_auc": rgb.best_score, "epochs": len(rgb.history)}
    history["audio"] = {"best_epoch": audio.best_epoch, "val_auc": audio.best_score, "epochs": len(audio.history)}
    for key, split, attribute in (("val", "val", "lowlevel"), ("test", "test", "lowlevel"), ("test_trimmed", "test", "lowlevel_trimmed")):
        clips = [getattr(c, attribute) for c in splits[split]]
        logits[key]["rgb"] = np.array([rgb_video_logit(rgb.model, c.crops) for c in clips])
        logits[key]["audio"] = np.array([acoustic_video_logit(audio.model, c.logmel) for c in clips])
    externals = [ExternalScores(path) for path in config.external]
    for scores in externals:
        for key, split in (("val", "val"), ("test", "test"), ("test_trimmed", "test")):
            logits[key][f"ext:{scores.name}"] = np.array([scores.logit(c.row.path) for c in splits[split]])
    external_names = tuple(f"ext:{scores.name}" for scores in externals)
    on_stage("fusing and evaluating")
    rows_to_fuse = {
        **{name: (name,) for name in (*emo_configs, *external_names)},
        **{k: v for k, v in FUSED.items() if k not in ("emo", "fusion")},
        "fusion": (*FUSED["fusion"], *external_names),
    }
    val_labels, test_labels = _labels(splits["val"]), _labels(splits["test"])
    fusions: dict[str, Fusion] = {}
    for name, inputs in rows_to_fuse.items():
        matrix = np.stack([logits["val"][i] for i in inputs], axis=1)
        fusions[name] = Fusion.fit(matrix, val_labels, inputs, config.target_fpr)
    fusions["mean"] = Fusion.mean(np.stack([logits["val"][i] for i in FUSED["fusion"]], axis=1), val_labels, FUSED["fusion"], config.target_fpr)
    results: dict[str, Any] = {"category": category, "missing": missing, "training": history, "fusions": {k: f.to_dict() for k, f in fusions.items()}}
    for variant in ("test", "test_trimmed"):
        scores = {}
        for name, fusion in fusions.items():
            probabilities = fusion.probability(np.stack([logits[variant][i] for i in fusion.inputs], axis=1))
            scores[name] = evaluate(test_labels, probabilities, fusion.threshold, config.bootstrap, config.seed)
            scores[name]["probabilities"] = probabilities.tolist()
        results["trimmed" if variant == "test_trimmed" else "metrics"] = scores
    results["labels"] = test_labels.tolist()
    results["paths"] = [c.row.path for c in splits["test"]]
    results["sizes"] = {split: [int((_labels(c) == 0).sum()), int((_labels(c) == 1).sum())] for split, c in splits.items()}
    return results


METRICS = ("auc", "ap", "eer", "acc", "ece")


def summarise(fold_results: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
    """``{"folds": {category: {detector: metrics}}, "average": ..., "avg_fv": ...}`` for ``key`` (metrics or trimmed)."""
    folds = {
        category: {detector: {m: scores[m] for m in (*METRICS, "auc_ci", "ap_ci", "n_real", "n_fake")} for detector, scores in result[key].items()}
        for category, result in fold_results.items()
    }
    detectors = sorted({d for scores in folds.values() for d in scores}, key=_detector_order)

    def average(categories: Sequence[str]) -> dict[str, dict[str, float]]:
        present = [c for c in categories if c in folds]
        if not present:
            return {}
        return {d: {m: float(np.nanmean([folds[c][d][m] for c in present])) for m in METRICS} for d in detectors}

    return {"folds": folds, "average": average(list(folds)), "avg_fv": average(VISUAL_CATEGORIES)}


def _detector_order(name: str) -> tuple[int, str]:
    return (BASE_DETECTORS.index(name), name) if name in BASE_DETECTORS else (len(BASE_DETECTORS), name)


def run_benchmark(
    config: BenchmarkConfig,
    out_dir: Path,
    on_fold: Callable[[str, str], None] = lambda category, stage: None,
    detector_dir: Path | None = None,
) -> dict[str, Any]:
    """Every fold (resumable), ``results.json`` and the report; with ``detector_dir``, also the
    detector trained on every category (skipped when that directory already holds one)."""
    config.validate()
    folds_dir = Path(config.folds)
    root = dataset_root(folds_dir / f"{config.categories[0]}.csv", config.root or None)
    store = FeatureStore(config.store)
    fold_results: dict[str, dict[str, Any]] = {}
    for category in config.categories:
        done = out_dir / "folds" / f"{category}.json"
        if done.exists():
            on_fold(category, "done earlier (skipped)")
            fold_results[category] = json.loads(done.read_text())
            continue
        rows = read_manifest(folds_dir / f"{category}.csv")
        write_manifest(out_dir / "folds" / f"{category}.csv", rows)  # the exact fold, beside its results
        result = run_fold(category, rows, store, root, config, lambda stage, c=category: on_fold(c, stage))
        write_json_atomic(done, result)
        fold_results[category] = result
        on_fold(category, "done")
    results = {
        "benchmark": config.name,
        "config": to_dict(config),
        **summarise(fold_results, "metrics"),
        "trimmed": summarise(fold_results, "trimmed"),
    }
    fusion, lowlevel = results["average"].get("fusion", {}), results["average"].get("lowlevel", {})
    if fusion and lowlevel:
        results["gain"] = {
            "auc_average": fusion["auc"] - lowlevel["auc"],
            "auc_avg_fv": results["avg_fv"]["fusion"]["auc"] - results["avg_fv"]["lowlevel"]["auc"] if results["avg_fv"] else float("nan"),
        }
    write_json_atomic(out_dir / "results.json", results)
    from emoboost.report import write_report

    write_report(results, fold_results, out_dir, Path(config.anchors) if config.anchors else None)
    if detector_dir is not None and not (detector_dir / "config.json").exists():
        on_fold("all categories", "training the detector")
        train_detector(folds_dir.resolve().parent / "manifest.csv", config, root).save_pretrained(detector_dir)
    return results


def train_detector(manifest: Path, config: BenchmarkConfig, root: Path | None = None, on_stage: Callable[[str], None] = lambda stage: None):
    """The shipped detector: every category, identity-disjoint train / validation (the protocol's val + test identities validate).

    Returns an :class:`emoboost.api.Detector`; ``save_pretrained`` writes it.
    """
    from emoboost.api import Detector
    from emoboost.cache import sha256_file
    from emoboost.data.protocols import ProtocolConfig, partition_identities, split_of

    rows = [r for r in read_manifest(manifest) if r.category == "real" or r.category in config.categories]
    assignment = partition_identities(rows, ProtocolConfig(categories=config.categories, seed=config.seed))
    splits = {"train": [], "val": []}
    for row in rows:
        split = split_of(row, assignment)
        if split is not None:
            splits["train" if split == "train" else "val"].append(dataclasses.replace(row, split="train" if split == "train" else "val"))
    store = FeatureStore(config.store)
    base = dataset_root(manifest, root)
    model_config = load_section(EmoForensicsConfig, config.emo_config, "model")
    on_stage("loading features")
    loaded, _ = load_fold(splits["train"] + splits["val"], store, base, model_config.token_frames, config.silence_db)
    train, val = loaded["train"], loaded["val"]
    val_labels = _labels(val)
    on_stage("training emo")
    emo = train_emoforensics([c.emo for c in train], [c.emo for c in val], model_config, load_section(TrainConfig, config.emo_config, "train"))
    lowlevel_train = dataclasses.replace(config.lowlevel_train, seed=config.seed)
    on_stage("training rgb")
    rgb = train_rgb([c.lowlevel for c in train], [c.lowlevel for c in val], config.rgb, lowlevel_train)
    on_stage("training audio")
    audio = train_acoustic([c.lowlevel for c in train], [c.lowlevel for c in val], config.acoustic, lowlevel_train)
    on_stage("fitting the fusion")
    val_logits = np.stack(
        [
            predict_logits(emo.model, [c.emo for c in val]),
            np.array([rgb_video_logit(rgb.model, c.lowlevel.crops) for c in val]),
            np.array([acoustic_video_logit(audio.model, c.lowlevel.logmel) for c in val]),
        ],
        axis=1,
    )
    fusion = Fusion.fit(val_logits, val_labels, FUSED["fusion"], config.target_fpr)
    example = store.get(base / train[0].row.path)  # every record of the store was made with the same settings
    meta = {
        "model_id": f"{config.name}-emoboost",
        "encoders": {"visual": example.visual_encoder, "speech": example.speech_encoder},
        "data": {"dataset": config.name, "manifest": str(manifest), "manifest_sha256": sha256_file(manifest), "train_clips": len(train), "val_clips": len(val)},
        "metrics": {"emo": emo.best_score, "rgb": rgb.best_score, "audio": audio.best_score},
    }
    return Detector(emo.model, rgb.model, audio.model, fusion, _extract_config_of(example), meta)


def _extract_config_of(record: FeatureRecord):
    """The extraction settings a record was made with (its store's extractor must match at inference)."""
    from emoboost.config import ExtractConfig

    settings = record.meta.get("extract_config")
    return from_dict(ExtractConfig, settings, "extract") if settings else ExtractConfig()
