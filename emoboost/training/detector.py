"""One way to train a detector: :func:`fit_detector` (EmoForensics + RGB + acoustic, fused by EMO-BOOST).

Used by every benchmark fold, by the detector trained on every category and by ``emoboost
train``. Three kinds of data, three kinds of decision:

- ``train``: the networks' weights;
- ``val``: early stopping only (each network on its own label: EmoForensics on the clip label,
  RGB on ``video_fake``, acoustic on ``audio_fake``);
- ``calib``: the fusion's weights and threshold only (identity-disjoint from train and val, so
  the fusion does not favour whichever network overfitted val the most).

With ``DetectorConfigs.consistency`` set, a fourth detector joins them: the face-voice consistency
model (:mod:`emoboost.models.consistency`), trained on the **real** clips of train (and any further
real clips given, of other people) and never on a fake, its step chosen on val's real clips (plus
the further clips of a fifth of their people, held out of its training); its clip score is a fourth
fusion input.

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
from emoboost.data.identities import identity_space
from emoboost.data.manifest import ManifestRow, read_manifest
from emoboost.errors import ConfigError
from emoboost.features.store import FeatureStore
from emoboost.files import sha256_file, write_text_atomic
from emoboost.media.levels import SILENCE_DB
from emoboost.models.consistency import ConsistencyConfig, ConsistencyModel, window_inconsistency
from emoboost.models.emoforensics import EmoForensicsConfig
from emoboost.models.fusion import Fusion
from emoboost.models.inference import predict_clip
from emoboost.models.lowlevel import AcousticConfig, RGBConfig, acoustic_video_logit, rgb_video_logit
from emoboost.models.networks import BY_NAME, CONSISTENCY, NETWORK_NAMES
from emoboost.training.clips import DetectorClip, FoldData, load_fold
from emoboost.training.consistency import ConsistencyTrainConfig, RealClip, train_consistency
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
    consistency: ConsistencyConfig | None = None  # the real-only consistency detector (None: not trained)
    consistency_train: ConsistencyTrainConfig = ConsistencyTrainConfig()

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
        consistency: ConsistencyConfig | None = None,
        consistency_train: ConsistencyTrainConfig | None = None,
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
            consistency,
            consistency_train or ConsistencyTrainConfig(),
        )

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


def _check_splits(train: Sequence[DetectorClip], val: Sequence[DetectorClip], calib: Sequence[DetectorClip]) -> None:
    for name, clips in (("train", train), ("val", val), ("calib", calib)):
        labels = {c.row.label for c in clips}
        if labels != {0, 1}:
            raise ConfigError(f"the {name} split needs real and fake clips with features ({len(clips)} found)")


HEADS = ("emo_face", "emo_voice")  # EmoForensics' face head (learns video_fake) and voice head (audio_fake)
EXTRA_VAL_SHARE = 0.2  # share of the further real clips' people whose clips join val's reals in choosing the step
REAL_BAND = (5.0, 95.0)  # percentiles of real calibration windows' consistency scores: the timeline's band


def detector_logits(detector, clips: Sequence[DetectorClip]) -> dict[str, np.ndarray]:
    """Each network's video logit for ``clips`` (NaN for the RGB detector on a clip without face crops), and
    EmoForensics' face and voice head logits (:data:`HEADS`; NaN when the model lacks that modality); with a
    consistency model, its clip score too (``consistency``)."""
    scores = [predict_clip(detector.emo, c.emo.tokens) for c in clips]

    def head(value: float | None) -> float:
        return float("nan") if value is None else value

    out = {
        "emo": np.array([s.logit for s in scores]),
        "emo_face": np.array([head(s.visual_logit) for s in scores]),
        "emo_voice": np.array([head(s.speech_logit) for s in scores]),
        "rgb": np.array([rgb_video_logit(detector.rgb, c.lowlevel.crops) for c in clips]),
        "acoustic": np.array([acoustic_video_logit(detector.acoustic, c.lowlevel.logmel) for c in clips]),
    }
    if detector.consistency is not None:
        out[CONSISTENCY] = np.array([consistency_windows(detector.consistency, c)[0].mean() for c in clips])
    return out


def consistency_windows(model: ConsistencyModel, clip: DetectorClip) -> tuple[np.ndarray, list[int]]:
    """Per-window inconsistency of a clip and each window's start token."""
    if clip.affect is None:
        raise ConfigError(f"{clip.row.path}: loaded without the consistency detector's input")
    return window_inconsistency(model, clip.affect.tokens)


def real_clips_of(clips: Sequence[DetectorClip], prefix: str = "") -> list[RealClip]:
    """The real clips among ``clips`` as the consistency trainer takes them (identity names ``prefix``-ed, so
    clips of another set never share a name by accident)."""
    out = []
    for clip in clips:
        if clip.row.label != 0:
            continue
        if clip.affect is None:
            raise ConfigError(f"{clip.row.path}: loaded without the consistency detector's input")
        recording = clip.row.scenario or clip.row.path
        out.append(RealClip(clip.affect.tokens, prefix + clip.row.identity, prefix + recording))
    return out


def fit_consistency(
    train: Sequence[DetectorClip],
    val: Sequence[DetectorClip],
    configs: DetectorConfigs,
    extra_real: Sequence[RealClip] = (),
) -> tuple[ConsistencyModel, dict[str, Any]]:
    """The consistency model on the real clips of ``train`` plus ``extra_real`` (its step chosen on ``val``'s
    real clips) and its training entry (what it learnt from, best step, validation AUC per negative type)."""
    config = configs.consistency
    if config is None:
        raise ConfigError("fit_consistency: no consistency settings")
    if config.token_frames != configs.emo.token_frames:
        raise ConfigError(
            f"consistency.token_frames ({config.token_frames}) must equal EmoForensics' ({configs.emo.token_frames})"
        )
    extra_train, extra_val = split_people(extra_real, EXTRA_VAL_SHARE, configs.seed) if extra_real else ([], [])
    fit = train_consistency(
        real_clips_of(train) + extra_train,
        real_clips_of(val) + extra_val,
        config,
        dataclasses.replace(configs.consistency_train, seed=configs.seed),
    )
    entry = {
        "label": "real clips only",
        "best_epoch": fit.best_step,
        "val_auc": float(np.mean(list(fit.val_auc.values()))),
        "epochs": len(fit.history),
        "val_auc_by_negative": fit.val_auc,
        "data": {**fit.data, "extra_real_clips": len(extra_train), "extra_real_val_clips": len(extra_val)},
    }
    return fit.model, entry


def real_band(model: ConsistencyModel, calib: Sequence[DetectorClip]) -> list[float] | None:
    """The :data:`REAL_BAND` percentiles of the window scores of calib's real clips (None without any)."""
    scores = [consistency_windows(model, c)[0] for c in calib if c.row.label == 0]
    if not scores:
        return None
    values = np.concatenate(scores)
    return [round(float(np.percentile(values, q)), 6) for q in REAL_BAND]


def fit_detector(
    train: Sequence[DetectorClip],
    val: Sequence[DetectorClip],
    calib: Sequence[DetectorClip],
    configs: DetectorConfigs,
    extract_config: ExtractConfig | None = None,
    meta: dict[str, Any] | None = None,
    on_stage: Callable[[str], None] = lambda stage: None,
    extra_real: Sequence[RealClip] = (),
    consistency: tuple[ConsistencyModel, dict[str, Any]] | None = None,
) -> Detector:
    """Train the three networks on ``train`` (early-stopped on ``val``), fit EMO-BOOST on ``calib``; with
    ``configs.consistency``, the consistency detector too, on real clips only (``train``'s and ``extra_real``);
    ``consistency``: a consistency detector trained already (its model and training entry), used as it is.

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
    training: dict[str, dict[str, Any]] = {
        name: {
            "label": BY_NAME[name].target,
            "best_epoch": r.best_epoch,
            "val_auc": r.best_score,
            "epochs": len(r.history),
        }
        for name, r in results.items()
    }
    model = None
    if consistency is not None:
        model, training[CONSISTENCY] = consistency[0], dict(consistency[1])
    elif configs.consistency is not None:
        on_stage("training consistency (real clips only)")
        model, training[CONSISTENCY] = fit_consistency(train, val, configs, extra_real)
    on_stage("fitting the fusion on calib")
    inputs = (*NETWORK_NAMES, *((CONSISTENCY,) if model is not None else ()))
    untrained_fusion = Fusion(inputs, (1.0,) * len(inputs), 0.0, 0.5, {})
    emo_model, rgb_model, acoustic_model = (results[name].model for name in NETWORK_NAMES)
    detector = Detector(
        emo_model, rgb_model, acoustic_model, untrained_fusion, extract_config or ExtractConfig(), None, model
    )
    logits = detector_logits(detector, calib)
    labels = np.array([c.row.label for c in calib])
    detector.fusion = Fusion.fit(np.stack([logits[n] for n in inputs], axis=1), labels, inputs, configs.target_fpr)
    if model is not None:
        training[CONSISTENCY]["real_band"] = real_band(model, calib)
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


def training_rows(rows: Sequence[ManifestRow], data: TrainingData) -> list[ManifestRow]:
    """The rows :func:`train_detector` cuts from a manifest: a fold file's own splits as they are, or, for a
    manifest without splits, every category of ``data`` split by identity (:func:`all_category_splits`). Its
    ``train``, ``val`` and ``calib`` rows are what the detector learns, early-stops and calibrates on."""
    rows = list(rows)
    if not any(r.split for r in rows):
        rows = all_category_splits(rows, data.categories, data.seed)
    return rows


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


EXTRA_PREFIX = "extra:"  # identity and recording names of further real clips (never the same person by name)


def extra_real_clips(
    manifest: Path, store: FeatureStore, token_frames: int, root: Path | None = None
) -> tuple[list[RealClip], int]:
    """The real clips of ``manifest`` with features in ``store`` (for the consistency detector only; fakes are
    ignored) and how many real rows had none. Their identities are named ``extra:<identity>``."""
    from emoboost.media.inputs import dataset_root

    rows = [dataclasses.replace(r, split="train") for r in read_manifest(manifest) if r.label == 0]
    if not rows:
        raise ConfigError(f"{manifest}: no real clips (label 0) for the consistency detector")
    fold = load_fold(rows, store, dataset_root(manifest, root), token_frames, SILENCE_DB)
    clips = [c.original for c in fold.splits.get("train", [])]
    return real_clips_of(clips, EXTRA_PREFIX), len(fold.missing_paths)


REAL_FILES = "real_files.txt"  # beside a consistency detector's config.json: the SHA-256 of each real clip it read


@dataclasses.dataclass(frozen=True)
class RealData:
    """The real clips a consistency detector of its own trains on (:func:`train_consistency_detector`)."""

    manifests: tuple[Path, ...]  # any manifests: their fakes are ignored
    root: Path | None = None  # folder the manifests' paths are relative to (None: each manifest's own folder)
    exclude: tuple[Path, ...] = ()  # manifests whose people must not be trained on (e.g. a benchmark's test folds)
    val_share: float = 0.1  # share of identities whose real clips choose the training step
    seed: int = 0
    dataset: str | None = None  # the dataset the manifests' clips come from (emoboost.data.identities), if known


def real_data_clips(data: RealData, store: FeatureStore, token_frames: int) -> tuple[list[RealClip], list[RealClip],
                                                                                   dict[str, Any]]:  # fmt: skip
    """``(train, val, what was read)``: real clips of ``data.manifests`` with features, people of ``data.exclude``
    left out, identities split (seeded) between training and step choice."""
    from emoboost.media.inputs import dataset_root

    if data.dataset is not None:
        identity_space(data.dataset)  # an unknown name is refused before anything is read
    excluded = {r.identity for m in data.exclude for r in read_manifest(m)}
    clips: list[RealClip] = []
    listed: list[dict[str, Any]] = []
    files: set[str] = set()
    missing = 0
    for manifest in data.manifests:
        rows = [dataclasses.replace(r, split="train") for r in read_manifest(manifest) if r.label == 0]
        kept = [r for r in rows if r.identity not in excluded]
        root = dataset_root(manifest, data.root)
        fold = load_fold(kept, store, root, token_frames, SILENCE_DB)
        used = [c.original for c in fold.splits.get("train", [])]
        clips += real_clips_of(used)
        files |= {store.content_hash(root / c.row.path) for c in used}  # cached by extraction: no second read
        missing += len(fold.missing_paths)
        listed.append(
            {"path": str(manifest), "sha256": sha256_file(manifest), "real_rows": len(rows),
             "left_out_people_rows": len(rows) - len(kept)}
        )  # fmt: skip
    people = {c.identity for c in clips}
    if len(people) < 4:  # two to train on, two to choose the step on
        raise ConfigError(
            f"real clips of {len(people)} identities with features: a consistency detector needs 4 or more"
        )
    train, val = split_people(clips, data.val_share, data.seed)
    read = {
        "manifests": listed,
        "missing": missing,
        "excluded_identities": len(excluded),
        "identities": len(people),
        "val_identities": len({c.identity for c in val}),
        "train_clips": len(train),
        "val_clips": len(val),
        "people": sorted(people),
        "dataset": data.dataset,
        "files": sorted(files),
    }  # fmt: skip  (so a benchmark can check it never trained on its people or files)
    return train, val, read


def split_people(clips: Sequence[RealClip], share: float, seed: int) -> tuple[list[RealClip], list[RealClip]]:
    """``(train, val)``: the clips of a seeded ``share`` of the identities (at least 2, and at least 2 left to
    train on) choose the training step; with fewer than 4 identities every clip trains."""
    people = sorted({c.identity for c in clips})
    if len(people) < 4:
        return list(clips), []
    order = np.random.default_rng(seed).permutation(len(people))
    val_people = {people[i] for i in order[: min(len(people) - 2, max(2, round(share * len(people))))]}
    return [c for c in clips if c.identity not in val_people], [c for c in clips if c.identity in val_people]


def train_consistency_detector(
    data: RealData,
    store: FeatureStore,
    out: Path,
    config: ConsistencyConfig,
    train_config: ConsistencyTrainConfig,
    on_step: Callable[[int, dict[str, Any]], None] = lambda step, entry: None,
) -> Path:
    """A consistency detector of its own, on real clips only (``emoboost train-consistency``): resumable (its state
    in ``out/resume/`` at every evaluation), written as ``out/consistency.safetensors`` + ``out/config.json``,
    which ``emoboost train --consistency`` puts inside a detector."""
    import datetime
    import shutil

    from emoboost.training.consistency import save_consistency

    if (out / "config.json").is_file():
        raise ConfigError(f"{out}: already holds a trained consistency detector (choose another --out)")
    train, val, read = real_data_clips(data, store, config.token_frames)
    fit = train_consistency(train, val, config, train_config, on_step, resume=out / "resume")
    trained_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    files = read.pop("files")  # one SHA-256 per line beside config.json (a corpus can hold millions of clips)
    write_text_atomic(out / REAL_FILES, "".join(f"{sha}\n" for sha in files))
    read["files"] = {"list": REAL_FILES, "count": len(files), "sha256": sha256_file(out / REAL_FILES)}
    save_consistency(out, fit, {"real_data": read, "trained_at": trained_at})
    shutil.rmtree(out / "resume", ignore_errors=True)
    return out


def train_detector(
    manifest: Path,
    configs: DetectorConfigs,
    store: FeatureStore,
    data: TrainingData,
    root: Path | None = None,
    on_stage: Callable[[str], None] = lambda stage: None,
    rows: Sequence[ManifestRow] | None = None,
    extra_real: Path | None = None,
    consistency_folder: Path | None = None,
) -> Detector:
    """The detector behind ``emoboost train`` and the benchmark's all-category detector: :func:`fit_detector` on a
    fold file's train / val / calib splits, or, for a manifest without splits, on every category (the protocol's
    identity partition, see :func:`all_category_splits`). ``extra_real``: a manifest of further real clips (other
    people, features in ``store``) the consistency detector also trains on; ``consistency_folder``: one trained
    already (``emoboost train-consistency``), put in the detector as it is. ``save_pretrained`` writes it."""
    from emoboost.media.inputs import dataset_root

    rows = training_rows(list(rows) if rows is not None else read_manifest(manifest), data)
    base = dataset_root(manifest, root)
    on_stage("loading features")
    splits, fold = load_training_clips(rows, store, base, data.silence_db, configs.emo.token_frames)
    if fold.missing_paths:
        logger.warning(
            "%d clips have no features and are left out (first: %s)", len(fold.missing_paths), fold.missing_paths[0]
        )
    example = store.get(base / splits["train"][0].row.path)  # every record of the store was made with the same settings
    held_out = sorted({r.category for r in rows if r.split == "test" and r.label == 1})
    data_meta: dict[str, Any] = {
        "dataset": data.dataset,
        "manifest": str(manifest),
        "manifest_sha256": sha256_file(manifest),
        "held_out": held_out,
        # the kinds of manipulation it learnt from and was calibrated on: the case report's propositions name them
        "fake_categories": sorted({r.category for r in rows if r.split in ("train", "val", "calib") and r.label == 1}),
        "missing": len(fold.missing_paths),
    }
    meta = {
        "model_id": f"{data.dataset}-emoboost",
        "encoders": {"visual": example.visual_encoder, "speech": example.speech_encoder},
        "data": data_meta,
    }
    extra: list[RealClip] = []
    if extra_real is not None and configs.consistency is not None:
        extra, lost = extra_real_clips(extra_real, store, configs.emo.token_frames)
        if lost:
            logger.warning("%s: %d real clips have no features and are left out", extra_real, lost)
        extra_root = dataset_root(extra_real, None)
        extra_paths = {(extra_root / r.path).resolve() for r in read_manifest(extra_real) if r.label == 0}
        shared = extra_paths & {(base / r.path).resolve() for r in rows}
        if shared:  # names cannot tell people apart across sets (SynthAV numbers them per seed); files can
            raise ConfigError(f"{extra_real}: clips also in {manifest} (first: {sorted(shared)[0]})")
        data_meta["extra_real"] = {"manifest": str(extra_real), "manifest_sha256": sha256_file(extra_real),
                                      "clips": len(extra), "identities": len({c.identity for c in extra})}  # fmt: skip
    pretrained = None
    if consistency_folder is not None:
        pretrained = pretrained_consistency(consistency_folder, configs.emo.token_frames)
        data_meta["consistency_from"] = str(consistency_folder)
    return fit_detector(
        splits["train"],
        splits["val"],
        splits["calib"],
        configs,
        extract_config_of(example.meta),
        meta,
        on_stage,
        extra,
        pretrained,
    )


def pretrained_consistency(folder: Path, token_frames: int) -> tuple[ConsistencyModel, dict[str, Any]]:
    """A consistency detector of ``emoboost train-consistency`` and its training entry (what it learnt from)."""
    from emoboost.detector.checkpoints import read_config
    from emoboost.training.consistency import FORMAT, load_consistency

    model = load_consistency(folder)
    if model.config.token_frames != token_frames:
        raise ConfigError(
            f"{folder}: consistency token_frames {model.config.token_frames}, the detector's {token_frames}"
        )
    config = read_config(folder, FORMAT)
    training, read = config.get("training", {}), config.get("real_data", {})
    by_negative = training.get("val_auc", {})
    entry = {
        "label": "real clips only",
        "best_epoch": training.get("best_step"),
        "val_auc": float(np.mean(list(by_negative.values()))) if by_negative else None,
        "epochs": None,
        "val_auc_by_negative": by_negative,
        "data": {**training.get("data", {}), "extra_real_clips": 0},
        "trained_separately": {
            "folder": str(folder),
            "real_data": {k: v for k, v in read.items() if k not in ("people", "files")},
        },
    }
    return model, entry


def pretrained_sources(folder: Path) -> tuple[str | None, set[str] | None]:
    """``(dataset, file hashes)`` of the real clips a consistency detector of ``emoboost train-consistency`` learnt
    from: the dataset as given to ``--dataset`` (None when not given), the SHA-256 of each clip (None when it
    predates the list). A list that does not match its recorded hash is refused."""
    from emoboost.detector.checkpoints import read_config
    from emoboost.training.consistency import FORMAT

    read = read_config(folder, FORMAT).get("real_data", {})
    dataset = read.get("dataset")
    listed = read.get("files")
    if not isinstance(listed, dict):
        return dataset if isinstance(dataset, str) else None, None
    path = folder / REAL_FILES
    if not path.is_file() or sha256_file(path) != listed.get("sha256"):
        raise ConfigError(f"{path}: missing or changed since training (its SHA-256 is in config.json)")
    hashes = set(path.read_text(encoding="ascii").split())
    return dataset if isinstance(dataset, str) else None, hashes


def pretrained_people(folder: Path) -> set[str]:
    """The identity names a consistency detector of ``emoboost train-consistency`` trained (and chose its step) on."""
    from emoboost.detector.checkpoints import read_config
    from emoboost.training.consistency import FORMAT

    people = read_config(folder, FORMAT).get("real_data", {}).get("people")
    if not isinstance(people, list) or not all(isinstance(p, str) for p in people):
        raise ConfigError(
            f"{folder}: its config.json does not list the people it trained on, so a benchmark cannot check it "
            "never saw its test people; train it again with this version (`emoboost train-consistency`)"
        )
    return set(people)
