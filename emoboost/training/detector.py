"""One way to train a detector: :func:`fit_detector` (EmoForensics + RGB + acoustic, fused by EMO-BOOST).

Used by every benchmark fold, by the detector trained on every category and by ``emoboost
train``. Three kinds of data, three kinds of decision:

- ``train``: the networks' weights;
- ``val``: early stopping only (each network on its own label: EmoForensics on the clip label,
  RGB on ``video_fake``, acoustic on ``audio_fake``);
- ``calib``: the fusion's weights and threshold only (identity-disjoint from train and val, so
  the fusion does not favour whichever network overfitted val the most).

The result is an :class:`emoboost.detector.detector.Detector`; ``save_pretrained`` writes the directory that
``emoboost detect --model`` and ``Detector.from_pretrained`` load.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emoboost.config import ExtractConfig, from_dict, load_section, to_dict
from emoboost.data.manifest import ManifestRow, read_manifest
from emoboost.errors import ConfigError
from emoboost.features.store import FeatureStore
from emoboost.models.emoforensics import EmoForensicsConfig
from emoboost.models.fusion import Fusion
from emoboost.models.inference import predict_clip
from emoboost.models.lowlevel import AcousticConfig, RGBConfig, acoustic_video_logit, rgb_video_logit
from emoboost.models.networks import BY_NAME, NETWORK_NAMES
from emoboost.training.clips import DetectorClip, FoldData, load_fold
from emoboost.training.emoforensics import train_emoforensics
from emoboost.training.loop import FitResult, TrainConfig
from emoboost.training.lowlevel import train_acoustic, train_rgb

if TYPE_CHECKING:
    from emoboost.detector.detector import Detector

TRAINING_SPLITS = ("train", "val", "calib")
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DetectorConfigs:
    """Everything :func:`fit_detector` needs besides data."""

    emo: EmoForensicsConfig
    emo_train: TrainConfig
    rgb: RGBConfig
    acoustic: AcousticConfig
    lowlevel_train: TrainConfig
    target_fpr: float | None = None  # None: the Bayes decision on the fused LLR (prior 0.5)
    seed: int = 0  # training seed of every network (replaces the seeds in the train configs)

    @classmethod
    def from_files(
        cls,
        emo_config: str,
        rgb: RGBConfig,
        acoustic: AcousticConfig,
        lowlevel_train: TrainConfig,
        target_fpr: float | None = None,
        seed: int = 0,
        device: str | None = None,
    ) -> DetectorConfigs:
        """EmoForensics' ``model`` and ``train`` sections from a YAML file, the rest as given; ``device``, when
        given, is where every network trains (it replaces the train configs' own)."""
        emo_train = load_section(TrainConfig, emo_config, "train")
        if device is not None:
            emo_train = dataclasses.replace(emo_train, device=device)
            lowlevel_train = dataclasses.replace(lowlevel_train, device=device)
        return cls(
            load_section(EmoForensicsConfig, emo_config, "model"),
            emo_train,
            rgb,
            acoustic,
            lowlevel_train,
            target_fpr,
            seed,
        )

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


def _check_splits(train: Sequence[DetectorClip], val: Sequence[DetectorClip], calib: Sequence[DetectorClip]) -> None:
    for name, clips in (("train", train), ("val", val), ("calib", calib)):
        labels = {c.row.label for c in clips}
        if labels != {0, 1}:
            raise ConfigError(f"the {name} split needs real and fake clips with features ({len(clips)} found)")


HEADS = ("emo_face", "emo_voice")  # EmoForensics' face head (learns video_fake) and voice head (audio_fake)


def detector_logits(detector, clips: Sequence[DetectorClip]) -> dict[str, np.ndarray]:
    """Each network's video logit for ``clips`` (NaN for the RGB detector on a clip without face crops), and
    EmoForensics' face and voice head logits (:data:`HEADS`; NaN when the model lacks that modality)."""
    scores = [predict_clip(detector.emo, c.emo.tokens) for c in clips]

    def head(value: float | None) -> float:
        return float("nan") if value is None else value

    return {
        "emo": np.array([s.logit for s in scores]),
        "emo_face": np.array([head(s.visual_logit) for s in scores]),
        "emo_voice": np.array([head(s.speech_logit) for s in scores]),
        "rgb": np.array([rgb_video_logit(detector.rgb, c.lowlevel.crops) for c in clips]),
        "acoustic": np.array([acoustic_video_logit(detector.acoustic, c.lowlevel.logmel) for c in clips]),
    }


def fit_detector(
    train: Sequence[DetectorClip],
    val: Sequence[DetectorClip],
    calib: Sequence[DetectorClip],
    configs: DetectorConfigs,
    extract_config: ExtractConfig | None = None,
    meta: dict[str, Any] | None = None,
    on_stage: Callable[[str], None] = lambda stage: None,
) -> Detector:
    """Train the three networks on ``train`` (early-stopped on ``val``), fit EMO-BOOST on ``calib``.

    Returns an :class:`emoboost.detector.detector.Detector` whose ``meta["training"]`` records, per network, the
    label it learnt, its best epoch and validation AUC, and ``meta["data"]`` the clip counts.
    """
    from emoboost.detector.detector import Detector

    _check_splits(train, val, calib)
    on_stage("training emo")
    emo = train_emoforensics(
        [c.emo for c in train],
        [c.emo for c in val],
        configs.emo,
        dataclasses.replace(configs.emo_train, seed=configs.seed),
    )
    lowlevel_train = dataclasses.replace(configs.lowlevel_train, seed=configs.seed)
    on_stage("training rgb")
    rgb = train_rgb([c.lowlevel for c in train], [c.lowlevel for c in val], configs.rgb, lowlevel_train)
    on_stage("training acoustic")
    acoustic = train_acoustic([c.lowlevel for c in train], [c.lowlevel for c in val], configs.acoustic, lowlevel_train)
    results: dict[str, FitResult[Any]] = {"emo": emo, "rgb": rgb, "acoustic": acoustic}
    training = {
        name: {
            "label": BY_NAME[name].target,
            "best_epoch": r.best_epoch,
            "val_auc": r.best_score,
            "epochs": len(r.history),
        }
        for name, r in results.items()
    }
    on_stage("fitting the fusion on calib")
    untrained_fusion = Fusion(NETWORK_NAMES, (1.0,) * len(NETWORK_NAMES), 0.0, 0.5, {})
    emo_model, rgb_model, acoustic_model = (results[name].model for name in NETWORK_NAMES)
    detector = Detector(emo_model, rgb_model, acoustic_model, untrained_fusion, extract_config or ExtractConfig())
    logits = detector_logits(detector, calib)
    labels = np.array([c.row.label for c in calib])
    detector.fusion = Fusion.fit(
        np.stack([logits[n] for n in NETWORK_NAMES], axis=1), labels, NETWORK_NAMES, configs.target_fpr
    )
    detector.meta = {
        **(meta or {}),
        "training": training,
        "fit": configs.to_dict(),
        "data": {
            **(meta or {}).get("data", {}),
            **{f"{s}_clips": len(c) for s, c in zip(TRAINING_SPLITS, (train, val, calib), strict=True)},
        },
        "metrics": {name: entry["val_auc"] for name, entry in training.items()},
    }
    return detector


def all_category_splits(rows: Sequence[ManifestRow], categories: Sequence[str], seed: int) -> list[ManifestRow]:
    """The detector trained on every category: the protocol's identity partition, its test identities joining calib.

    Rows keep only real clips and ``categories``; a clip whose identities straddle splits is left out.
    """
    from emoboost.data.protocols import ProtocolConfig, partition_identities, split_of

    rows = [r for r in rows if r.category == "real" or r.category in categories]
    assignment = partition_identities(rows, ProtocolConfig(categories=tuple(categories), seed=seed))
    chosen = []
    for row in rows:
        split = split_of(row, assignment)
        if split is not None:
            chosen.append(dataclasses.replace(row, split=split if split in ("train", "val") else "calib"))
    return chosen


def extract_config_of(meta: dict[str, Any]) -> ExtractConfig:
    """The extraction settings a feature record was made with (a detector's extractor must match at inference)."""
    settings = meta.get("extract_config")
    return from_dict(ExtractConfig, settings, "extract") if settings else ExtractConfig()


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """Where a detector's training rows come from and how they are cut (for :func:`train_detector`)."""

    dataset: str  # its name in the model card ("synthav", "fakeavceleb", ...)
    categories: tuple[str, ...]  # the fake categories of a manifest without splits
    seed: int  # the identity partition's seed for a manifest without splits
    silence_db: float  # the leading-silence rule of the clip loader


def load_training_clips(
    rows: Sequence[ManifestRow], store: FeatureStore, root: Path, silence_db: float, token_frames: int
) -> tuple[dict[str, list[DetectorClip]], FoldData]:
    """Clips of the train / val / calib splits (test rows are ignored) and the record metadata of one clip."""
    data = load_fold([r for r in rows if r.split != "test"], store, root, token_frames, silence_db)
    splits = {s: [c.original for c in data.splits.get(s, [])] for s in TRAINING_SPLITS}
    if not splits["calib"]:
        raise ConfigError(
            "no calib clips with features: fusions and thresholds are fitted on calib (regenerate the fold files)"
        )
    return splits, data


def train_detector(
    manifest: Path,
    configs: DetectorConfigs,
    store: FeatureStore,
    data: TrainingData,
    root: Path | None = None,
    on_stage: Callable[[str], None] = lambda stage: None,
    rows: Sequence[ManifestRow] | None = None,
) -> Detector:
    """The detector behind ``emoboost train`` and the benchmark's all-category detector: :func:`fit_detector` on a
    fold file's train / val / calib splits, or, for a manifest without splits, on every category (the protocol's
    identity partition, see :func:`all_category_splits`). ``save_pretrained`` writes it."""
    from emoboost.files import sha256_file
    from emoboost.media.inputs import dataset_root

    rows = list(rows) if rows is not None else read_manifest(manifest)
    if not any(r.split for r in rows):
        rows = all_category_splits(rows, data.categories, data.seed)
    base = dataset_root(manifest, root)
    on_stage("loading features")
    splits, fold = load_training_clips(rows, store, base, data.silence_db, configs.emo.token_frames)
    if fold.missing_paths:
        logger.warning(
            "%d clips have no features and are left out (first: %s)", len(fold.missing_paths), fold.missing_paths[0]
        )
    example = store.get(base / splits["train"][0].row.path)  # every record of the store was made with the same settings
    held_out = sorted({r.category for r in rows if r.split == "test" and r.label == 1})
    meta = {
        "model_id": f"{data.dataset}-emoboost",
        "encoders": {"visual": example.visual_encoder, "speech": example.speech_encoder},
        "data": {
            "dataset": data.dataset,
            "manifest": str(manifest),
            "manifest_sha256": sha256_file(manifest),
            "held_out": held_out,
            "missing": len(fold.missing_paths),
        },
    }
    return fit_detector(
        splits["train"], splits["val"], splits["calib"], configs, extract_config_of(example.meta), meta, on_stage
    )
