"""The cross-manipulation benchmark: per held-out category, train every detector, fuse, evaluate.

For each fold file ``folds/<category>.csv`` (splits train / val / calib / test, see
:mod:`emoboost.data.protocols`):

1. check the fold (:mod:`emoboost.training.folds`: duplicate files dropped and reported; test
   sharing an identity or a file with train / val / calib refused) and load each clip's
   features once, as recorded and with the leading silence trimmed (:mod:`emoboost.training.clips`);
   stop when more than ``max_missing`` of a split has no features;
2. :func:`emoboost.training.detector.fit_detector` on train / val / calib: EmoForensics on the clip label,
   RGB on ``video_fake``, acoustic on ``audio_fake`` (early stopping on val only); each
   ablation config is trained the same way;
3. on ``calib`` only (training categories, never the held-out one) fit one calibrated fusion
   per row: ``emo``, each ablation, ``rgb``, ``acoustic``, ``lowlevel`` (rgb + acoustic on the clip
   label), ``fusion`` (EMO-BOOST: emo + rgb + acoustic), ``mean`` (uncalibrated mean of the three
   logits), and per external detector ``ext:NAME`` and ``emo+ext:NAME``;
4. evaluate every row on ``test``: as recorded (``metrics``), with the test clips trimmed
   (``trimmed``), and with a second detector trained and tested on trimmed clips
   (``trimmed_trained``);
5. controls: the alignment-shuffle control (:mod:`emoboost.benchmark.controls`) of every EmoForensics row on
   the test split's real clips, and, when the manifest has SynthAV's factor columns, AUC per
   ``emotion_mismatch`` x ``artifact`` cell.

A finished fold is written to ``<out>/folds/<category>.json`` with a fingerprint of everything
it depends on; a rerun reuses it only when the fingerprint is unchanged. ``repeats`` > 1 re-draws
the identity partition (protocol seed + k) and the training seeds (seed + k) for k = 1 .. N-1.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emoboost.benchmark.config import (
    BenchmarkConfig,
    detector_configs,
    fold_fingerprint,
    sha_lookup,
)
from emoboost.benchmark.controls import (
    cell_of_row,
    fold_pairing_controls,
    fold_revoiced_control,
    fold_shuffle_controls,
)
from emoboost.benchmark.disagreement import NAME as DISAGREEMENT
from emoboost.benchmark.disagreement import fit_disagreement
from emoboost.benchmark.provenance import run_provenance
from emoboost.benchmark.results import BenchmarkResult, FoldResult
from emoboost.benchmark.shortcut import SHORTCUT, features_of, fit_shortcut
from emoboost.benchmark.summary import cells_summary, mismatch_summary, summarise
from emoboost.calibration import llr_metrics
from emoboost.config import load_section, to_dict
from emoboost.data.manifest import ManifestRow, read_manifest, write_manifest
from emoboost.data.protocols import PROTOCOL_FILE, stored_protocol
from emoboost.errors import ConfigError, DataError
from emoboost.features.store import FeatureStore
from emoboost.files import write_json_atomic, write_text_atomic
from emoboost.media.inputs import dataset_root
from emoboost.metrics import evaluate
from emoboost.models.consistency import window_inconsistency
from emoboost.models.emoforensics import EmoForensicsConfig
from emoboost.models.external import ExternalDetector
from emoboost.models.fusion import Fusion
from emoboost.models.inference import predict_logits
from emoboost.models.mixture import MixtureFusion
from emoboost.models.networks import LOWLEVEL, NETWORK_NAMES
from emoboost.text import printable
from emoboost.training.clips import DetectorClip, FoldClip, load_fold, missing_fraction
from emoboost.training.detector import (
    detector_logits,
    fit_detector,
    pretrained_consistency,
    pretrained_people,
    train_detector,
)
from emoboost.training.emoforensics import train_emoforensics
from emoboost.training.folds import CONTROL_SPLIT, FOLD_SPLITS, check_fold_rows, drop_duplicate_files

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)
FUSED = {"lowlevel": LOWLEVEL, "fusion": NETWORK_NAMES}


def _labels(clips: Sequence[FoldClip]) -> np.ndarray:
    return np.array([c.row.label for c in clips])


def _rows_to_fuse(
    emo_names: Sequence[str], external_names: Sequence[str], consistency: bool = False
) -> dict[str, tuple[str, ...]]:
    rows: dict[str, tuple[str, ...]] = {
        name: (name,) for name in (*emo_names, *LOWLEVEL, SHORTCUT, *external_names)
    }  # SHORTCUT: leading silence and duration only (emoboost.benchmark.shortcut)
    rows.update(FUSED)
    rows.update({f"emo+{name}": ("emo", name) for name in external_names})
    if consistency:
        rows.update(CONSISTENCY_ROWS)
    return rows


ENSEMBLE_SEED_OFFSET = 10_007  # the second low-level pair's seed: seed + this
ENSEMBLE_ROW = "lowlevel_ensemble"  # RGB + acoustic + a second RGB + acoustic of another seed
ENSEMBLE_INPUTS = (*LOWLEVEL, "rgb_seed2", "acoustic_seed2")


def _ensemble_logits(
    original: dict[str, list], config: BenchmarkConfig, seed: int, on_stage: Callable[[str], None]
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    """A second RGB and acoustic detector, the same configs at another seed: the equal-capacity baseline that
    tells complementarity (EmoForensics adds what low-level lacks) from variance reduction (any second model
    helps). ``({"calib": ..., "test": ...}, training entries)``."""
    from emoboost.models.lowlevel import acoustic_video_logit, rgb_video_logit
    from emoboost.training.lowlevel import train_acoustic, train_rgb

    train = dataclasses.replace(config.lowlevel_train, seed=seed + ENSEMBLE_SEED_OFFSET, device=config.device)
    lowlevel = {s: [c.lowlevel for c in original[s]] for s in ("train", "val", "calib", "test")}
    on_stage("training rgb_seed2 (ensemble baseline)")
    rgb = train_rgb(lowlevel["train"], lowlevel["val"], config.rgb, train)
    on_stage("training acoustic_seed2 (ensemble baseline)")
    acoustic = train_acoustic(lowlevel["train"], lowlevel["val"], config.acoustic, train)
    logits = {
        key: {
            "rgb_seed2": np.array([rgb_video_logit(rgb.model, c.crops) for c in lowlevel[key]]),
            "acoustic_seed2": np.array([acoustic_video_logit(acoustic.model, c.logmel) for c in lowlevel[key]]),
        }
        for key in ("calib", "test")
    }
    training = {
        name: {"label": label, "best_epoch": r.best_epoch, "val_auc": r.best_score, "epochs": len(r.history)}
        for name, label, r in (("rgb_seed2", "video_fake", rgb), ("acoustic_seed2", "audio_fake", acoustic))
    }
    return logits, training


CONSISTENCY_ROWS = {
    "consistency": ("consistency",),
    "lowlevel+consistency": (*LOWLEVEL, "consistency"),
    "fusion+consistency": (*NETWORK_NAMES, "consistency"),
}


def _score_rows(
    rows: dict[str, tuple[str, ...]],
    calib: dict[str, np.ndarray],
    test: dict[str, np.ndarray],
    calib_labels: np.ndarray,
    test_labels: np.ndarray,
    config: BenchmarkConfig,
    fitted: dict[str, Any] | None = None,
) -> tuple[dict, dict]:
    """Fusions fitted on calib, scored on test: ``(fusions, metrics)`` per row (``fitted``, when given, receives
    the fitted fusions themselves)."""
    fusions = {
        name: Fusion.fit(np.stack([calib[i] for i in inputs], axis=1), calib_labels, inputs, config.target_fpr)
        for name, inputs in rows.items()
    }
    fusions["mean"] = Fusion.mean(
        np.stack([calib[i] for i in FUSED["fusion"]], axis=1), calib_labels, FUSED["fusion"], config.target_fpr
    )
    metrics = {name: _row_metrics(fusion, test, test_labels) for name, fusion in fusions.items()}
    if fitted is not None:
        fitted.update(fusions)
    return {k: f.to_dict() for k, f in fusions.items()}, metrics


def fold_logits(
    rows: dict[str, tuple[str, ...]],
    calib: dict[str, np.ndarray],
    test: dict[str, np.ndarray],
    calib_labels: np.ndarray,
    calib_clips: Sequence[FoldClip],
) -> dict[str, Any]:
    """What the fused rows were fitted and scored on, kept with the fold so that an interval can refit the fusions
    on resampled calibration people (:mod:`emoboost.benchmark.refit`): every input's calib and test logits
    (6 decimals; NaN written as None), the calib labels and the calib clips' identities."""

    def listed(values: np.ndarray) -> list[float | None]:
        return [None if not np.isfinite(v) else round(float(v), 6) for v in np.asarray(values, np.float64)]

    inputs = sorted({i for row in rows.values() for i in row})
    return {
        "calib": {i: listed(calib[i]) for i in inputs},
        "test": {i: listed(test[i]) for i in inputs},
        "calib_labels": [int(v) for v in calib_labels],
        "calib_groups": [c.row.identity for c in calib_clips],
    }


def _row_metrics(fusion: Fusion | MixtureFusion, test: dict[str, np.ndarray], test_labels: np.ndarray) -> dict:
    """One fused row scored on the test clips: metrics, probabilities, LLRs and their Cllr."""
    matrix = np.stack([test[i] for i in fusion.inputs], axis=1)
    probabilities, llrs = fusion.probability(matrix), fusion.llr(matrix)
    return {
        **evaluate(test_labels, probabilities, fusion.threshold),  # intervals: over identities, in summarise
        "probabilities": probabilities.tolist(),
        "llrs": llrs.tolist(),  # natural-log LRs (the calibrated fusion's; "mean" is uncalibrated)
        "llr": llr_metrics(test_labels, llrs, fusion.decision_threshold(0.5)),  # Cllr, Cllr_min, ...
    }


MIXTURE_ROWS = {  # row -> (video-side inputs, audio-side inputs): see emoboost.models.mixture
    "lowlevel_mixture": (("rgb",), ("acoustic",)),
    "fusion_mixture": (("rgb", "emo_face"), ("acoustic", "emo_voice")),
}


def _score_mixtures(
    calib: dict[str, np.ndarray],
    test: dict[str, np.ndarray],
    calib_clips: Sequence[FoldClip],
    test_labels: np.ndarray,
    config: BenchmarkConfig,
    fitted: dict[str, Any] | None = None,
) -> tuple[dict, dict]:
    """The mixture fusions (each side fitted on calib with its own modality's label), scored on test. A row
    whose inputs are missing on calib (a model without a face or voice head) is left out. ``fitted``, when
    given, receives the fitted fusions."""
    video_fake = np.array([int(c.row.video_fake) for c in calib_clips])
    audio_fake = np.array([int(c.row.audio_fake) for c in calib_clips])
    fusions, metrics = {}, {}
    for name, (video_inputs, audio_inputs) in MIXTURE_ROWS.items():
        if any(i not in calib or np.isnan(calib[i]).all() for i in (*video_inputs, *audio_inputs)):
            continue
        fusion = MixtureFusion.fit(
            np.stack([calib[i] for i in video_inputs], axis=1),
            np.stack([calib[i] for i in audio_inputs], axis=1),
            video_fake,
            audio_fake,
            video_inputs,
            audio_inputs,
            config.mixture_weights,
            config.target_fpr,
        )
        fusions[name], metrics[name] = fusion.to_dict(), _row_metrics(fusion, test, test_labels)
        if fitted is not None:
            fitted[name] = fusion
    return fusions, metrics


def _load_checked(
    category: str,
    rows: Sequence[ManifestRow],
    store: FeatureStore,
    root: Path,
    config: BenchmarkConfig,
    token_frames: int,
    held_out_categories: Sequence[str] = (),
):
    sha_of = sha_lookup(store, root)
    rows, duplicates = drop_duplicate_files(rows, sha_of)
    check_fold_rows(category, rows, sha_of, held_out_categories)
    data = load_fold(rows, store, root, token_frames, config.silence_db, config.trim_rule)
    for split, counts in data.missing.items():
        share = missing_fraction(counts)
        if share > config.max_missing:
            worst = max(counts, key=lambda c: counts[c][0])
            raise DataError(
                f"fold {category}: {share:.1%} of the {split} clips have no features (limit {config.max_missing:.0%}; "
                f"most in {worst}: {counts[worst][0]} of {counts[worst][1]}, first {data.missing_paths[0]}); "
                "run `emoboost extract`"
            )
    splits = {s: data.splits.get(s, []) for s in FOLD_SPLITS}
    for split, clips in splits.items():
        if set(_labels(clips).tolist()) != {0, 1}:
            raise DataError(
                f"fold {category}: the {split} split needs real and fake clips with features ({len(clips)} found)"
            )
    return splits, data, duplicates


def run_fold(
    category: str,
    rows: Sequence[ManifestRow],
    store: FeatureStore,
    root: Path,
    config: BenchmarkConfig,
    on_stage: Callable[[str], None] = lambda stage: None,
    seed: int | None = None,
    externals: Sequence[ExternalDetector] = (),
    held_out_categories: Sequence[str] = (),
) -> FoldResult:
    """Check, train, fuse and evaluate one fold; returns its results (see the module docstring).
    ``held_out_categories``: what the fold holds out when it is several categories (a generator fold)."""
    seed = config.seed if seed is None else seed
    emo_paths = config.emo_rows()
    frames = {load_section(EmoForensicsConfig, p, "model").token_frames for p in emo_paths.values()}
    if len(frames) != 1:
        raise ConfigError("all EmoForensics configs of a benchmark must use the same token_frames")
    on_stage("checking and loading features")
    token_frames = frames.pop()
    splits, data, duplicates = _load_checked(category, rows, store, root, config, token_frames, held_out_categories)
    original = {s: [c.original for c in clips] for s, clips in splits.items()}
    control = [c.original for c in data.splits.get(CONTROL_SPLIT, [])]  # test people's re-voicings (v3)
    logits: dict[str, dict[str, np.ndarray]] = {"calib": {}, "test": {}, "test_trimmed": {}, "control": {}}
    detector = fit_detector(
        original["train"],
        original["val"],
        original["calib"],
        detector_configs(config, config.emo_config, seed),
        on_stage=on_stage,
        consistency=_pretrained_consistency(config, category, rows, token_frames),
    )
    training = dict(detector.meta["training"])
    emo_models = {"emo": detector.emo}
    scored = (
        ("calib", original["calib"]),
        ("test", original["test"]),
        ("test_trimmed", [c.trimmed for c in splits["test"]]),
        *((("control", control),) if control else ()),
    )
    for key, clips in scored:
        logits[key].update(detector_logits(detector, clips))
    for name, path in list(emo_paths.items())[1:]:
        on_stage(f"training {name}")
        ablation = detector_configs(config, path, seed)
        result = train_emoforensics(
            [c.emo for c in original["train"]],
            [c.emo for c in original["val"]],
            ablation.emo,
            dataclasses.replace(ablation.emo_train, seed=seed),
        )
        training[name] = {
            "label": "label",
            "best_epoch": result.best_epoch,
            "val_auc": result.best_score,
            "epochs": len(result.history),
        }
        for key, clips in scored:
            logits[key][name] = predict_logits(result.model, [c.emo for c in clips])
        emo_models[name] = result.model
    external_names = []
    for external in externals:
        scores, name = external.scores_for(category), f"ext:{external.name}"
        external_names.append(name)
        for key, split in (("calib", "calib"), ("test", "test")):
            logits[key][name] = np.array([scores.logit(c.row.path) for c in splits[split]])
    if config.ensemble_baseline:
        ensemble_logits, ensemble_training = _ensemble_logits(original, config, seed, on_stage)
        training.update(ensemble_training)
        for key in ("calib", "test"):
            logits[key].update(ensemble_logits[key])
    pair_scorers: dict[str, Callable[[Any], float]] = {}
    if detector.consistency is not None:
        model = detector.consistency
        pair_scorers["consistency"] = lambda tokens: float(window_inconsistency(model, tokens)[0].mean())
    probe = _disagreement_probe(original["train"], detector.emo.config.token_frames, seed)
    if probe is not None:  # the floor a consistency model must beat (needs emotion labels: SynthAV)
        pair_scorers[DISAGREEMENT] = probe.score
        for key, clips in (("calib", original["calib"]), ("test", original["test"]), ("control", control)):
            logits[key][DISAGREEMENT] = np.array([probe.score(c.affect.tokens) for c in clips])
    shortcut = fit_shortcut(splits["train"])
    training[SHORTCUT] = {"label": "label", "best_epoch": 0, "val_auc": None, "epochs": 0,
                          "model": shortcut.to_dict()}  # fmt: skip
    for key, clips, trimmed in (("calib", splits["calib"], False), ("test", splits["test"], False),
                                ("test_trimmed", splits["test"], True)):  # fmt: skip
        logits[key][SHORTCUT] = shortcut.logits(features_of(clips, trimmed))
    if control:
        logits["control"][SHORTCUT] = shortcut.logits(features_of(data.splits[CONTROL_SPLIT]))
    on_stage("fusing on calib and evaluating")
    calib_labels, test_labels = _labels(splits["calib"]), _labels(splits["test"])
    rows_to_fuse = _rows_to_fuse(list(emo_paths), external_names, config.consistency)
    if probe is not None:
        rows_to_fuse[DISAGREEMENT] = (DISAGREEMENT,)
    if config.ensemble_baseline:
        rows_to_fuse[ENSEMBLE_ROW] = ENSEMBLE_INPUTS
    fitted: dict[str, Any] = {}
    fusions, metrics = _score_rows(
        rows_to_fuse,
        logits["calib"],
        logits["test"],
        calib_labels,
        test_labels,
        config,
        fitted,
    )
    mixture_fusions, mixture_metrics = _score_mixtures(
        logits["calib"], logits["test"], splits["calib"], test_labels, config, fitted
    )
    fusions.update(mixture_fusions)
    metrics.update(mixture_metrics)
    results: dict[str, Any] = {
        "category": category,
        "seed": seed,
        "training": training,
        "fusions": fusions,
        "metrics": metrics,
        "trimmed": {
            **_score_rows(
                _rows_to_fuse(list(emo_paths), []),
                logits["calib"],
                logits["test_trimmed"],
                calib_labels,
                test_labels,
                config,
            )[1],
            **_score_mixtures(logits["calib"], logits["test_trimmed"], splits["calib"], test_labels, config)[1],
        },
        "trim": {
            "rule": config.trim_rule,
            "exact": data.exact_trim,
            "test_clips_trimmed": int(sum(c.trimmed_frames > 0 for c in splits["test"])),
        },
    }
    if config.train_trimmed and any(c.trimmed_frames for clips in splits.values() for c in clips):
        results["trimmed_trained"], results["training_trimmed"] = _trimmed_trained(
            splits, config, seed, calib_labels, test_labels, on_stage
        )
    elif config.train_trimmed:  # no clip starts with silence: training on trimmed clips is training on the same clips
        base_rows = [r for r in (*_rows_to_fuse(["emo"], []), "mean", *MIXTURE_ROWS) if r in results["trimmed"]]
        results["trimmed_trained"] = {name: results["trimmed"][name] for name in base_rows}
        results["training_trimmed"] = {name: training[name] for name in (*NETWORK_NAMES, SHORTCUT)}
        results["trim"]["no_leading_silence"] = True
    results["logits"] = fold_logits(rows_to_fuse, logits["calib"], logits["test"], calib_labels, splits["calib"])
    results["labels"] = test_labels.tolist()
    results["paths"] = [c.row.path for c in splits["test"]]
    results["groups"] = [c.row.identity for c in splits["test"]]
    results["cells"] = [cell_of_row(c.row.emotion_mismatch, c.row.artifact) for c in splits["test"]]
    results["scenarios"] = [c.row.scenario for c in splits["test"]]
    on_stage("alignment-shuffle control")
    results["controls"] = {
        "alignment_shuffle": fold_shuffle_controls(
            emo_models, [c.emo for c in original["test"]], test_labels, results["groups"], seed
        )
    }
    on_stage("pairing controls of every row that reads face and voice")
    real = np.flatnonzero(test_labels == 0)
    results["controls"]["pairing"] = fold_pairing_controls(
        [original["test"][i] for i in real],
        {name: values[real] for name, values in logits["test"].items()},
        fitted,
        emo_models,
        pair_scorers,
        config.consistency_model.min_shift_tokens,
        seed,
    )
    if control:
        on_stage("re-voicing control")
        results["controls"]["pairing"]["revoiced"] = fold_revoiced_control(
            original["test"], control, logits["test"], logits["control"], fitted
        )
    results["sizes"] = {
        split: [int((_labels(c) == 0).sum()), int((_labels(c) == 1).sum())] for split, c in splits.items()
    }
    results["missing"] = data.missing
    results["dropped_duplicates"] = duplicates
    return FoldResult(**results)


def _pretrained_consistency(config: BenchmarkConfig, category: str, rows: Sequence[ManifestRow], token_frames: int):
    """``config.consistency_pretrained`` loaded (model, training entry), refused when it trained on a person of the
    fold; None when the fold trains its own (or none)."""
    if not config.consistency_pretrained or not config.consistency:
        return None
    folder = Path(config.consistency_pretrained)
    shared = pretrained_people(folder) & {i for r in rows for i in r.ids}
    if shared:
        raise ConfigError(
            f"{folder}: the consistency detector trained on {len(shared)} people of fold {category} (first: "
            f"{printable(sorted(shared)[0])}); train it with `--exclude` naming the benchmark's manifest"
        )
    return pretrained_consistency(folder, token_frames)


def _disagreement_probe(train: Sequence[DetectorClip], token_frames: int, seed: int):
    """The probe-disagreement baseline fitted on the real training clips' emotion labels (None without labels)."""
    labelled = []
    for clip in train:
        if clip.row.label == 0 and clip.row.emotion and clip.affect is not None:
            labelled.append((clip.affect.tokens, clip.row.emotion, clip.affect.n_frames))
    return fit_disagreement(labelled, token_frames, seed) if labelled else None


def _trimmed_trained(
    splits: dict[str, list[FoldClip]],
    config: BenchmarkConfig,
    seed: int,
    calib_labels: np.ndarray,
    test_labels: np.ndarray,
    on_stage: Callable[[str], None],
) -> tuple[dict, dict]:
    """A second detector trained, early-stopped, calibrated and tested on silence-trimmed clips."""
    trimmed = {s: [c.trimmed for c in clips] for s, clips in splits.items()}
    detector = fit_detector(
        trimmed["train"],
        trimmed["val"],
        trimmed["calib"],
        detector_configs(config, config.emo_config, seed, consistency=False),  # its rows read no consistency
        on_stage=lambda stage: on_stage(f"trimmed: {stage}"),
    )
    calib, test = detector_logits(detector, trimmed["calib"]), detector_logits(detector, trimmed["test"])
    shortcut = fit_shortcut(splits["train"], trimmed=True)
    calib[SHORTCUT] = shortcut.logits(features_of(splits["calib"], trimmed=True))
    test[SHORTCUT] = shortcut.logits(features_of(splits["test"], trimmed=True))
    rows = _score_rows(_rows_to_fuse(["emo"], []), calib, test, calib_labels, test_labels, config)[1]
    rows.update(_score_mixtures(calib, test, splits["calib"], test_labels, config)[1])
    return rows, detector.meta["training"]


def full_manifest(config: BenchmarkConfig) -> Path:
    """The manifest of every clip (for re-drawn partitions and the all-category detector)."""
    manifest = Path(config.manifest) if config.manifest else Path(config.folds).resolve().parent / "manifest.csv"
    if not manifest.is_file():
        raise ConfigError(
            f"{manifest}: manifest not found (set benchmark.manifest to the manifest the folds came from)"
        )
    return manifest


def repeat_protocol(config: BenchmarkConfig):
    """The protocol of the configured folds: the one stored with them (``protocol.json``), which
    ``benchmark.protocol`` may name again but never contradict. Repeats re-draw with it (seed + k)."""
    from emoboost.data.protocols import PROTOCOL_FILE, load_protocol, stored_protocol

    folds_dir = Path(config.folds)
    stored = stored_protocol(folds_dir)
    named = load_protocol(config.protocol) if config.protocol else None
    if stored is not None and named is not None and stored != named:
        differ = ", ".join(
            f"{f.name} {getattr(stored, f.name)!r} vs {getattr(named, f.name)!r}"
            for f in dataclasses.fields(stored)
            if getattr(stored, f.name) != getattr(named, f.name)
        )
        raise ConfigError(
            f"{config.protocol}: not the protocol that drew the folds in {folds_dir} ({PROTOCOL_FILE}: {differ}); "
            "a repeat on another protocol would compare other splits"
        )
    protocol = stored or named
    if protocol is None:
        raise ConfigError(
            f"{folds_dir}: no {PROTOCOL_FILE} beside the fold files, so repeats cannot re-draw them the same way; "
            "set benchmark.protocol to the protocol YAML that drew them, or write the folds again with "
            "`emoboost manifest` / `emoboost synth`"
        )
    outside = [c for c in config.categories if c not in protocol.fold_names()]
    if outside:
        raise ConfigError(
            f"{folds_dir}: the folds' protocol makes folds {', '.join(protocol.fold_names())}, not {', '.join(outside)}"
        )
    return protocol  # its own categories: drawing fewer would change which identities are partitioned


def _folds_for_repeat(config: BenchmarkConfig, out_dir: Path, repeat: int) -> Path:
    """Fold files of one repeat: the configured ones for repeat 0, else a partition re-drawn with the folds'
    own protocol (:func:`repeat_protocol`) at seed + k."""
    folds_dir = Path(config.folds)
    if repeat == 0:
        return folds_dir
    from emoboost.data.protocols import make_folds, write_folds

    manifest = full_manifest(config)
    protocol = repeat_protocol(config)
    protocol = dataclasses.replace(protocol, seed=protocol.seed + repeat)
    target = out_dir / "repeats" / str(repeat) / "input_folds"
    write_folds(make_folds(read_manifest(manifest), protocol), target, protocol)  # each is checked as run_fold loads it
    return target


def check_externals(config: BenchmarkConfig, out_dir: Path, externals: Sequence[ExternalDetector]) -> None:
    """Every external score file of every fold of every repeat read and checked against the clips it must
    score (calibration and test), before anything trains: a bad file fails in seconds, not after a fold."""
    if not externals:
        return
    for repeat in range(config.repeats):
        folds_dir = _folds_for_repeat(config, out_dir, repeat)
        for category in config.categories:
            rows = read_manifest(folds_dir / f"{category}.csv")
            for external in externals:
                scores = external.scores_for(category)
                for split in ("calib", "test"):
                    paths = [r.path for r in rows if r.split == split]
                    scores.check_covers(
                        paths, f"{split} clips of fold {category}" + (f" (repeat {repeat})" if repeat else "")
                    )


@dataclasses.dataclass(frozen=True)
class FoldJob:
    """One (repeat, fold) still to compute: plain paths and numbers, so a Ray task can carry it."""

    repeat: int
    category: str
    fold_file: str
    fingerprint: str
    done: str  # where its FoldResult JSON goes
    held_out_categories: tuple[str, ...] = ()  # a generator fold's categories (from the folds' protocol.json)


def plan_repeat(
    config: BenchmarkConfig,
    out_dir: Path,
    repeat: int,
    externals: Sequence[ExternalDetector],
    on_fold: Callable[[str, str], None],
) -> tuple[dict[str, FoldResult], list[FoldJob]]:
    """The stored fold results of one repeat whose fingerprint still matches, and the folds left to run (their
    exact fold files and protocol copied beside where their results will go)."""
    folds_dir = _folds_for_repeat(config, out_dir, repeat)
    root = dataset_root(Path(config.folds) / f"{config.categories[0]}.csv", config.root or None)
    store = FeatureStore(config.store)
    results_dir = out_dir if repeat == 0 else out_dir / "repeats" / str(repeat)
    stored: dict[str, FoldResult] = {}
    jobs: list[FoldJob] = []
    tag = "" if repeat == 0 else f" (repeat {repeat})"
    protocol = stored_protocol(folds_dir)
    held_sets = {f.name: f.categories for f in protocol.held_out} if protocol else {}
    for category in config.categories:
        fold_file = folds_dir / f"{category}.csv"
        rows = read_manifest(fold_file)
        fingerprint = fold_fingerprint(config, rows, fold_file, store, root, externals, category, repeat)
        done = results_dir / "folds" / f"{category}.json"
        if done.exists():
            found = json.loads(done.read_text())
            if found.get("fingerprint") == fingerprint:
                on_fold(category, f"done earlier (skipped){tag}")
                stored[category] = FoldResult.from_dict(found)
                continue
            on_fold(category, f"settings, data or fold changed since the stored result: recomputing{tag}")
        write_manifest(results_dir / "folds" / f"{category}.csv", rows)  # the exact fold, beside its results
        if (folds_dir / PROTOCOL_FILE).is_file():  # and the protocol that drew it
            write_text_atomic(results_dir / "folds" / PROTOCOL_FILE, (folds_dir / PROTOCOL_FILE).read_text())
        jobs.append(FoldJob(repeat, category, str(fold_file), fingerprint, str(done), held_sets.get(category, ())))
    return stored, jobs


def run_job(
    job: FoldJob,
    config: BenchmarkConfig,
    externals: Sequence[ExternalDetector],
    on_fold: Callable[[str, str], None] = lambda category, stage: None,
) -> FoldResult:
    """Compute one fold and write its result (atomically, with its fingerprint)."""
    tag = "" if job.repeat == 0 else f" (repeat {job.repeat})"
    root = dataset_root(Path(config.folds) / f"{config.categories[0]}.csv", config.root or None)

    def on_stage(stage: str) -> None:
        on_fold(job.category, stage + tag)

    result = run_fold(
        job.category,
        read_manifest(Path(job.fold_file)),
        FeatureStore(config.store),
        root,
        config,
        on_stage,
        config.seed + job.repeat,
        externals,
        job.held_out_categories,
    )
    result = dataclasses.replace(result, fingerprint=job.fingerprint)
    write_json_atomic(Path(job.done), result.to_dict())
    on_fold(job.category, f"done{tag}")
    return result


def run_repeat(
    config: BenchmarkConfig,
    out_dir: Path,
    repeat: int,
    externals: Sequence[ExternalDetector],
    on_fold: Callable[[str, str], None],
) -> dict[str, FoldResult]:
    """Every fold of one repeat in this process, reusing a stored fold result only when its fingerprint matches."""
    stored, jobs = plan_repeat(config, out_dir, repeat, externals, on_fold)
    computed = {job.category: run_job(job, config, externals, on_fold) for job in jobs}
    return {c: stored[c] if c in stored else computed[c] for c in config.categories}


def run_benchmark(
    config: BenchmarkConfig,
    out_dir: Path,
    on_fold: Callable[[str, str], None] = lambda category, stage: None,
    detector_dir: Path | None = None,
    engine: str = "local",
    address: str | None = None,
    workers: int = 2,
) -> BenchmarkResult:
    """Every fold of every repeat (resumable), ``results.json`` and the report; with ``detector_dir``, also the
    detector trained on every category (skipped when that directory already holds one).

    ``engine="ray"`` runs each (repeat, fold) still to compute as a Ray task
    (:func:`emoboost.benchmark.distributed.run_jobs_with_ray`); the fold results, their fingerprints and
    everything after them are the same files as a local run's."""
    from emoboost.benchmark.gain import gain_for, gain_summary, repeats_summary
    from emoboost.benchmark.report import write_report

    config.validate()
    externals = config.externals()
    if config.repeats > 1 or (detector_dir is not None and not (detector_dir / "config.json").exists()):
        full_manifest(config)  # fail now, not after the folds
    if config.repeats > 1:
        repeat_protocol(config)
    check_externals(config, out_dir, externals)
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    if engine == "ray":
        from emoboost.benchmark.distributed import run_jobs_with_ray

        planned = [plan_repeat(config, out_dir, k, externals, on_fold) for k in range(config.repeats)]
        jobs = [job for _, repeat_jobs in planned for job in repeat_jobs]
        computed = run_jobs_with_ray(jobs, config, run_job, address, workers, on_fold)
        repeats = [
            {c: stored[c] if c in stored else computed[(k, c)] for c in config.categories}
            for k, (stored, _) in enumerate(planned)
        ]
    elif engine == "local":
        repeats = [run_repeat(config, out_dir, k, externals, on_fold) for k in range(config.repeats)]
    else:
        raise ConfigError(f"unknown engine {engine!r} (local or ray)")
    first = repeats[0]
    variants = {
        key: summary
        for key in ("trimmed", "trimmed_trained")
        if (summary := summarise(first, key, config.bootstrap, config.seed))["folds"]
    }
    results = BenchmarkResult(
        benchmark=config.name,
        config=to_dict(config),
        **summarise(first, "metrics", config.bootstrap, config.seed),
        gain=gain_summary(repeats, config.bootstrap, config.seed),
        training={
            c: {"original": r.training, **({"trimmed": r.training_trimmed} if r.training_trimmed else {})}
            for c, r in first.items()
        },
        missing={c: r.missing for c, r in first.items()},
        dropped_duplicates={c: r.dropped_duplicates for c, r in first.items()},
        trim={c: r.trim for c, r in first.items()},
        fingerprints={c: r.fingerprint for c, r in first.items()},
        controls={c: r.controls for c, r in first.items()},
        cells=cells_summary(first),
        mismatch=mismatch_summary(first, config.bootstrap, config.seed),
        mixture_gain=gain_for(first, config.bootstrap, config.seed, pair=("lowlevel_mixture", "fusion_mixture")),
        consistency_gain=(
            gain_for(first, config.bootstrap, config.seed, pair=("lowlevel", "lowlevel+consistency"))
            if config.consistency
            else {}
        ),
        repeats=repeats_summary(repeats, config.bootstrap, config.seed) if len(repeats) > 1 else None,
        provenance=run_provenance(to_dict(config), {c: r.fingerprint for c, r in first.items()}),
        **variants,
    )
    write_json_atomic(out_dir / "results.json", results.to_dict())
    write_report(results, first, out_dir, Path(config.anchors) if config.anchors else None)
    if detector_dir is not None and not (detector_dir / "config.json").exists():
        on_fold("all categories", "training the detector")
        root = Path(config.root) if config.root else None
        detector = train_detector(
            full_manifest(config),
            detector_configs(config, config.emo_config, config.seed),
            FeatureStore(config.store),
            config.training_data(),
            root,
            extra_real=Path(config.detector_extra_real) if config.detector_extra_real else None,
            consistency_folder=Path(config.consistency_pretrained) if config.consistency_pretrained else None,
        )
        detector.meta["validation"] = held_out_validation(results.to_dict(), tuple(detector.fusion.inputs))
        detector.save_pretrained(detector_dir)
    return results


def held_out_validation(results: dict[str, Any], inputs: tuple[str, ...]) -> dict[str, Any]:
    """What the case report prints as the detector's held-out validation: per left-out category, the benchmark row
    with the detector's own fusion inputs (``fusion``, or ``fusion+consistency``), its AUC with interval, Cllr and
    Cllr_min on that fold's test clips (first repeat). Those are figures of the same recipe trained without each
    category; the detector saved beside them trains on every category, so none of its own clips are held out."""
    row = "fusion+consistency" if "consistency" in inputs else "fusion"
    folds = {}
    for fold, rows in (results.get("folds") or {}).items():
        entry = rows.get(row) or {}
        llr = entry.get("llr") or {}
        if "auc" in entry:
            folds[fold] = {
                "auc": entry["auc"],
                "auc_ci": entry.get("auc_ci"),
                "cllr": llr.get("cllr"),
                "cllr_min": llr.get("cllr_min"),
                "test_real": entry.get("n_real"),
                "test_fake": entry.get("n_fake"),
            }
    provenance = results.get("provenance") or {}
    return {
        "row": row,
        "folds": folds,
        "source": (
            f"emoboost benchmark (config {provenance.get('config_fingerprint', '?')}), leave one category out: the "
            f"'{row}' row, trained without the category it is tested on; this detector trains on every category"
        ),
        "fold_fingerprints": provenance.get("fold_fingerprints", {}),
    }
