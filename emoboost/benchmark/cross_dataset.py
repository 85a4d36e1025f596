"""Cross-dataset evaluation (benchmark stage): a detector trained on dataset A, tested on a labelled split of dataset B.

``emoboost cross-dataset --config configs/benchmark/cross_dataset_*.yaml --out DIR`` runs :func:`run_cross_dataset`:

1. read A's manifest (a fold file, or a manifest without splits cut by the benchmark config's own rule,
   :func:`emoboost.training.detector.training_rows`) and B's rows of ``test.split`` (AV-Deepfake1M: ``val``, the
   labelled held-out split, since its test labels are not published);
2. **identities**: where A and B name people in one identity space (FakeAVCeleb, AV-Deepfake1M and VoxCeleb2 share
   VoxCeleb2 ids: :mod:`emoboost.data.identities`), a person of B's split who is among the detector's training
   people (A's train, val and calib rows) refuses the run, in one line, before anything trains; elsewhere the
   report says the identities could not be checked. A file in A's train/val/calib and in B (same content) is refused;
3. the detector: a folder given in ``train.detector`` (its recorded manifest must be A's, by SHA-256), or one
   trained here on A with the benchmark config's recipe (:func:`emoboost.training.detector.train_detector`, the
   same as ``emoboost train``), saved to ``<out>/detector`` and reused on a rerun while its inputs are unchanged;
4. every benchmark row (each network, low-level, EMO-BOOST, mean, the mixtures, the consistency rows) is fitted
   on **A's calib clips** (what the detector's own fusion was fitted on; its refit is checked to reproduce it)
   and scored on B's clips, per fake category of B (B's real clips + that category) and on all of them, with
   the benchmark's metrics, identity-bootstrap intervals and paired gains (:mod:`emoboost.benchmark.summary`,
   :mod:`emoboost.benchmark.gain`);
5. where B's rows carry fake segments, **temporal localisation** from each clip's window LLRs, the ones the
   verdict's timeline shows (:meth:`emoboost.detector.detector.Detector.predict_record`'s segments), with
   :func:`emoboost.benchmark.localisation.localisation_metrics`.

``results.json`` is :meth:`CrossDatasetResult.to_dict`; ``results.md`` / ``results.csv`` and the per-category
plots come from :mod:`emoboost.benchmark.cross_report`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emoboost.benchmark.config import (
    RESULTS_FORMAT,
    BenchmarkConfig,
    detector_configs,
    emo_settings_digest,
    fingerprint_settings,
    load_benchmark_config,
    sha_lookup,
)
from emoboost.benchmark.cross_config import ALL, CrossDatasetConfig
from emoboost.benchmark.cross_identities import (
    check_consistency_source,
    check_files,
    check_identities,
    other_training_people,
)
from emoboost.benchmark.gain import gain_for
from emoboost.benchmark.localisation import WindowScores, localisation_metrics, segments_by_path
from emoboost.benchmark.provenance import run_provenance
from emoboost.benchmark.results import CrossDatasetResult, FoldResult
from emoboost.benchmark.runner import CONSISTENCY_ROWS, FUSED, _row_metrics, _score_mixtures, _score_rows
from emoboost.benchmark.summary import summarise
from emoboost.config import to_dict
from emoboost.data.manifest import ManifestRow, read_manifest
from emoboost.errors import ConfigError, DataError
from emoboost.features.store import FeatureStore
from emoboost.files import sha256_file, write_json_atomic
from emoboost.media.inputs import dataset_root
from emoboost.models.networks import CONSISTENCY, NETWORK_NAMES
from emoboost.text import printable
from emoboost.training.clips import FoldClip, load_fold, missing_fraction
from emoboost.training.detector import detector_logits, train_detector, training_rows
from emoboost.training.folds import digest, file_digest

if TYPE_CHECKING:
    from emoboost.detector.detector import Detector

logger = logging.getLogger(__name__)
TRAINING_SPLITS = ("train", "val", "calib")
CATEGORY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # what a category of B may be called


def require_usable(trained: Sequence[ManifestRow], config: CrossDatasetConfig) -> None:
    """Refuse, before any hashing or training, a dataset A whose rows the recipe cannot train and calibrate on:
    its train and calib splits (as the recipe assigns them) each need real and fake clips."""
    train = config.train
    for split in ("train", "calib"):
        labels = {row.label for row in trained if row.split == split}
        if labels != {0, 1}:
            have = "no clips" if not labels else ("only real clips" if labels == {0} else "only fake clips")
            categories = ", ".join(sorted({row.category for row in trained})) or "none"
            raise ConfigError(
                f"{train.manifest}: {train.dataset}'s {split} split has {have} under the recipe's split rule "
                f"(categories kept: {categories}); a detector needs real and fake clips in train and calib: give "
                "fold-style splits or a recipe whose categories this dataset has"
            )


OWN_FUSION_TOLERANCE = 1e-3  # natural-log LR: the refitted row must reproduce the detector's own fusion this closely
STAMP = "detector.json"  # beside <out>/detector: the fingerprint of what the detector trained here learnt from


def _root(manifest: str, root: str) -> Path:
    return dataset_root(Path(manifest), Path(root) if root else None)


def _split_rows(config: CrossDatasetConfig) -> list[ManifestRow]:
    """B's rows of ``test.split`` (split renamed ``test`` for the clip loader), with both classes present."""
    rows = read_manifest(config.test.manifest)
    chosen = [dataclasses.replace(r, split="test") for r in rows if r.split == config.test.split]
    if not chosen:
        splits = sorted({r.split for r in rows})
        raise ConfigError(
            f"{config.test.manifest}: no rows of split {config.test.split!r} (splits here: "
            f"{', '.join(repr(s) for s in splits if s) or 'none: no split column'})"
        )
    if {r.label for r in chosen} != {0, 1}:
        raise ConfigError(f"{config.test.manifest}: split {config.test.split!r} needs real and fake clips")
    for category in sorted({r.category for r in chosen}):
        if not CATEGORY_NAME.fullmatch(category):
            # category names become file names (roc_<category>.png, llr_<category>/) and Markdown table cells
            raise ConfigError(
                f"{config.test.manifest}: category {printable(category)!r} is not a plain name "
                "(letters, digits, '.', '_', '-'; the emoboost manifest commands write such names)"
            )
    return chosen


def _records(rows: Sequence[ManifestRow], store: FeatureStore, root: Path) -> list[Any]:
    sha_of = sha_lookup(store, root)
    return [(r.path, sha, store.keys_for(sha) if sha else []) for r, sha in ((r, sha_of(r)) for r in rows)]


def _training_fingerprint(bench: BenchmarkConfig, config: CrossDatasetConfig, records: list[Any]) -> str:
    settings = fingerprint_settings(bench)
    return digest(
        {
            "settings": settings,
            "training_data": to_dict(bench.training_data()),
            "emo": emo_settings_digest(bench.emo_config),
            "manifest": file_digest(config.train.manifest),
            "records": records,
            **{
                key: file_digest(path) if path else None
                for key, path in (
                    ("consistency_pretrained", bench.consistency_pretrained),
                    ("extra_real", bench.detector_extra_real),
                )
            },
        }
    )


def obtain_detector(
    config: CrossDatasetConfig,
    bench: BenchmarkConfig,
    out_dir: Path,
    records: list[Any],
    on_stage: Callable[[str], None],
) -> tuple[Detector, dict[str, Any]]:
    """The detector under test and how it was obtained (given, trained here, or reused from an earlier run)."""
    from emoboost.detector.detector import Detector

    given = config.train.detector
    if given:
        detector = Detector.from_pretrained(given)
        recorded = detector.meta.get("data", {}).get("manifest_sha256")
        actual = sha256_file(config.train.manifest)
        if recorded != actual:
            raise ConfigError(
                f"{given}: trained on another manifest than train.manifest {config.train.manifest} (SHA-256 "
                f"{str(recorded)[:12]} recorded, {actual[:12]} here): give the manifest it was trained on"
            )
        return detector, {"folder": str(given), "obtained": "given"}
    folder, stamp = out_dir / "detector", out_dir / STAMP
    fingerprint = _training_fingerprint(bench, config, records)
    if stamp.is_file() and folder.exists():
        same = json.loads(stamp.read_text()).get("fingerprint") == fingerprint
        if same and (folder / "config.json").is_file():
            on_stage("detector trained earlier (unchanged inputs): reused")
            return Detector.from_pretrained(folder), {"folder": str(folder), "obtained": "trained here (reused)"}
        shutil.rmtree(folder)  # trained on other inputs, or not finished: trained again
    elif folder.exists():
        raise ConfigError(
            f"{folder}: exists but was not trained by this command (no {STAMP} beside it); choose another --out, or "
            "give it as train.detector"
        )
    detector = train_detector(
        Path(config.train.manifest),
        detector_configs(bench, bench.emo_config, bench.seed),
        FeatureStore(config.train.store),
        bench.training_data(),
        Path(config.train.root) if config.train.root else None,
        on_stage,
        extra_real=Path(bench.detector_extra_real) if bench.detector_extra_real else None,
        consistency_folder=Path(bench.consistency_pretrained) if bench.consistency_pretrained else None,
    )
    detector.save_pretrained(folder)
    write_json_atomic(stamp, {"fingerprint": fingerprint})
    return detector, {"folder": str(folder), "obtained": "trained here"}


def _load(
    rows: Sequence[ManifestRow],
    store: str,
    root: Path,
    split: str,
    token_frames: int,
    bench: BenchmarkConfig,
    max_missing: float,
    detector: Detector,
) -> tuple[list[FoldClip], dict[str, Any]]:
    """One split's clips with features (refused when too many have none, or made by other encoders)."""
    data = load_fold(rows, FeatureStore(store), root, token_frames, bench.silence_db, bench.trim_rule)
    counts = data.missing.get(split, {})
    if missing_fraction(counts) > max_missing:
        raise DataError(
            f"{missing_fraction(counts):.1%} of the {split} clips have no features in {store} (limit "
            f"{max_missing:.0%}; first {data.missing_paths[0]}): run `emoboost extract`"
        )
    expected = detector.meta.get("encoders", {})
    made_by = {k: data.encoders.get(k) for k in ("visual", "speech")}
    if expected and data.encoders and made_by != {k: expected.get(k) for k in made_by}:
        raise ConfigError(
            f"{store}: features made by {made_by}, the detector's by {expected}: extract with the detector's "
            "extraction settings"
        )
    clips = data.splits.get(split, [])
    if {c.row.label for c in clips} != {0, 1}:
        raise DataError(f"the {split} clips with features in {store} need real and fake clips ({len(clips)} found)")
    return clips, {"counts": counts, "first_missing": data.missing_paths[:5]}


def _fold(
    name: str,
    index: np.ndarray,
    clips: Sequence[FoldClip],
    metrics: dict[str, Any],
    fusions: dict[str, Any],
    training: dict[str, Any],
    seed: int,
    fingerprint: str,
) -> FoldResult:
    """The test clips ``index`` as a :class:`FoldResult`, so the benchmark's summaries and plots read it."""
    chosen = [clips[i] for i in index]
    labels = [c.row.label for c in chosen]
    return FoldResult(
        category=name,
        seed=seed,
        training=training,
        fusions=fusions,
        metrics=metrics,
        trimmed={},
        trim={},
        labels=labels,
        paths=[c.row.path for c in chosen],
        groups=[c.row.identity for c in chosen],
        cells=[None] * len(chosen),
        controls={},
        sizes={"test": [labels.count(0), labels.count(1)]},
        missing={},
        dropped_duplicates=[],
        fingerprint=fingerprint,
        scenarios=[c.row.scenario for c in chosen],
    )


def score_windows(
    detector: Detector, clips: Sequence[FoldClip], store: FeatureStore, root: Path, on_stage: Callable[[str], None]
) -> tuple[dict[str, WindowScores], dict[str, float]]:
    """Each clip's window LLRs as its verdict's timeline has them (one per EmoForensics window, the detector's own
    fusion, within its calibration bounds) and its duration in seconds."""
    windows: dict[str, WindowScores] = {}
    durations: dict[str, float] = {}
    for number, clip in enumerate(clips, 1):
        if number % 100 == 1:
            on_stage(f"window scores {number}/{len(clips)}")
        record = store.get(root / clip.row.path)
        segments = detector.predict_record(record).segments
        windows[clip.row.path] = WindowScores(
            np.array([s.start_s for s in segments]),
            np.array([s.end_s for s in segments]),
            np.array([s.llr for s in segments]),
        )
        durations[clip.row.path] = record.duration_s
    return windows, durations


def localise(
    config: CrossDatasetConfig,
    detector: Detector,
    clips: Sequence[FoldClip],
    categories: Sequence[str],
    on_stage: Callable[[str], None],
) -> dict[str, Any]:
    """Localisation metrics on every test clip and per category of B (its reals + that category's fakes), or why
    none were computed."""
    settings = config.localisation
    rows = [c.row for c in clips]
    if not any(getattr(r, settings.column) for r in rows):
        return {"scored": False, "why": f"the test rows have no {settings.column} (whole-clip labels only)"}
    test = config.test
    windows, durations = score_windows(
        detector, clips, FeatureStore(test.store), _root(test.manifest, test.root), on_stage
    )

    def measure(chosen: Sequence[ManifestRow]) -> dict[str, Any]:
        truth = segments_by_path(chosen, settings.column)
        return localisation_metrics(
            windows,
            truth,
            durations,
            settings.thresholds,
            settings.max_gap_s,
            settings.proposal_score,
            settings.frame_score,
        )

    blocks = {ALL: measure(rows)}
    for category in categories:
        blocks[category] = measure([r for r in rows if r.label == 0 or r.category == category])
    fakes_without = sum(1 for r in rows if r.label == 1 and not getattr(r, settings.column))
    values = np.concatenate([w.scores for w in windows.values()])
    bounds = detector.fusion.llr_bounds()
    return {
        "scored": True,
        "column": settings.column,
        "windows": "the detector's own fused window LLRs (the verdict's timeline), bounded by its calibration",
        "window_llrs": {  # a detector calibrated on few clips has narrow bounds: its windows tie there
            "min": float(values.min()),
            "max": float(values.max()),
            "distinct": int(len(np.unique(values))),
            "windows": int(len(values)),
            "bounds": None if bounds is None else [float(b) for b in bounds],
        },
        "settings": to_dict(settings),
        "fakes_without_segments": fakes_without,
        "sets": blocks,
    }


def _own_fusion(detector: Detector, calib: dict[str, np.ndarray], fitted: dict[str, Any]) -> dict[str, Any]:
    """The row whose fusion is the detector's own (fitted on the same calib clips) and the largest LLR difference
    between the two on them: a detector calibrated on other clips than the ones read here is refused."""
    inputs = tuple(detector.fusion.inputs)
    row = "fusion+consistency" if CONSISTENCY in inputs else "fusion"
    matrix = np.stack([calib[name] for name in inputs], axis=1)
    matrix = matrix[np.isfinite(matrix).all(axis=1)]
    difference = float(np.max(np.abs(detector.fusion.llr(matrix) - fitted[row].llr(matrix))))
    if difference > OWN_FUSION_TOLERANCE:
        raise ConfigError(
            f"the detector's fusion does not refit on the calib clips of train.manifest with train.benchmark's "
            f"settings (LLRs differ by up to {difference:.3g}): they are not the clips it was calibrated on (another "
            "benchmark config's categories or seed?)"
        )
    return {"row": row, "inputs": list(inputs), "max_llr_difference": difference}


def run_cross_dataset(
    config: CrossDatasetConfig,
    out_dir: Path,
    on_stage: Callable[[str], None] = lambda stage: None,
    device: str | None = None,
) -> CrossDatasetResult:
    """Check identities, obtain the detector, score B's split with every benchmark row fitted on A's calib clips,
    localise where B has fake segments, and write ``results.json``, ``results.md``, ``results.csv``, ``scores.csv``
    and the plots into ``out_dir`` (see the module docstring). ``device``: where a detector trained here trains
    (default: the benchmark config's)."""
    from emoboost.benchmark.cross_report import write_cross_report

    config.validate()
    bench = load_benchmark_config(config.train.benchmark).override(device=device)
    bench.validate()
    if bench.threads:
        import torch

        torch.set_num_threads(bench.threads)
    train, test = config.train, config.test
    train_root, test_root = _root(train.manifest, train.root), _root(test.manifest, test.root)
    trained = [
        r for r in training_rows(read_manifest(train.manifest), bench.training_data()) if r.split in TRAINING_SPLITS
    ]
    require_usable(trained, config)
    tested = _split_rows(config)
    on_stage("checking identities and files")
    identities = check_identities(config, trained, tested)
    train_records = _records(trained, FeatureStore(train.store), train_root)
    test_records = _records(tested, FeatureStore(test.store), test_root)
    check_files(train_records, test_records, config)
    if bench.consistency_pretrained and not config.train.detector:  # refused before training, not after
        check_consistency_source(Path(bench.consistency_pretrained), config, tested, test_records)
    out_dir.mkdir(parents=True, exist_ok=True)
    detector, origin = obtain_detector(config, bench, out_dir, train_records, on_stage)
    identities["other_sources"] = other_training_people(detector, config, tested, test_records)
    token_frames = detector.emo.config.token_frames
    on_stage("loading features")
    calib_rows = [r for r in trained if r.split == "calib"]
    calib, calib_missing = _load(
        calib_rows, train.store, train_root, "calib", token_frames, bench, config.max_missing, detector
    )
    clips, test_missing = _load(
        tested, test.store, test_root, "test", token_frames, bench, config.max_missing, detector
    )
    on_stage("scoring the calib and test clips")
    calib_logits = detector_logits(detector, [c.original for c in calib])
    test_logits = detector_logits(detector, [c.original for c in clips])
    calib_labels = np.array([c.row.label for c in calib])
    labels = np.array([c.row.label for c in clips])
    rows_to_fuse: dict[str, tuple[str, ...]] = {name: (name,) for name in NETWORK_NAMES}
    rows_to_fuse.update(FUSED)
    if detector.consistency is not None:
        rows_to_fuse.update(CONSISTENCY_ROWS)
    fitted: dict[str, Any] = {}
    fusions, everything = _score_rows(rows_to_fuse, calib_logits, test_logits, calib_labels, labels, bench, fitted)
    if all({getattr(c.row, side) for c in calib} == {False, True} for side in ("video_fake", "audio_fake")):
        # each side of a mixture is calibrated on its own modality's label: calib needs both values of each
        mixture_fusions, mixture_metrics = _score_mixtures(calib_logits, test_logits, calib, labels, bench, fitted)
        fusions.update(mixture_fusions)
        everything.update(mixture_metrics)
    own = _own_fusion(detector, calib_logits, fitted)
    categories = list(dict.fromkeys(c.row.category for c in clips if c.row.label == 1))
    training = dict(detector.meta.get("training", {}))
    fingerprints = {
        "train_data": digest({"manifest": file_digest(train.manifest), "records": train_records}),
        "test_data": digest({"manifest": file_digest(test.manifest), "split": test.split, "records": test_records}),
        "detector": detector.weights_sha256 or "",
        "protocol": digest(
            {
                "train": to_dict(bench.training_data()),
                "test_split": test.split,
                "identities": identities["checked"],
                "results_format": RESULTS_FORMAT,
            }
        ),
    }
    run_fingerprint = digest(fingerprints)
    folds = {}
    for category in categories:
        index = np.flatnonzero((labels == 0) | np.array([c.row.category == category for c in clips]))
        subset = {name: values[index] for name, values in test_logits.items()}
        metrics = {name: _row_metrics(fusion, subset, labels[index]) for name, fusion in fitted.items()}
        folds[category] = _fold(category, index, clips, metrics, fusions, training, bench.seed, run_fingerprint)
    every = _fold(ALL, np.arange(len(clips)), clips, everything, fusions, training, bench.seed, run_fingerprint)
    summary = summarise(folds, "metrics", config.bootstrap, config.seed)
    on_stage("localisation")
    localisation = localise(config, detector, clips, categories, on_stage)
    result = CrossDatasetResult(
        name=config.name,
        train={
            "dataset": train.dataset,
            "manifest": train.manifest,
            "manifest_sha256": sha256_file(train.manifest),
            "benchmark": bench.name,
            **origin,
            "model_id": detector.model_id,
            "rows": {s: sum(r.split == s for r in trained) for s in TRAINING_SPLITS},
            "fake_categories": sorted({r.category for r in trained if r.label == 1}),
            "generated": bool(detector.training_data().get("generated")),
        },
        test={
            "dataset": test.dataset,
            "manifest": test.manifest,
            "manifest_sha256": sha256_file(test.manifest),
            "split": test.split,
            "clips": {"real": int((labels == 0).sum()), **{c: int(folds[c].labels.count(1)) for c in categories}},
            "identities": len({c.row.identity for c in clips}),
        },
        identities=identities,
        own_fusion=own,
        folds=summary["folds"],
        average=summary["average"],
        avg_fv=summary["avg_fv"],
        overall=summarise({ALL: every}, "metrics", config.bootstrap, config.seed)["folds"][ALL],
        gain=gain_for(folds, config.bootstrap, config.seed),
        consistency_gain=(
            gain_for(folds, config.bootstrap, config.seed, pair=("lowlevel", "lowlevel+consistency"))
            if detector.consistency is not None
            else {}
        ),
        mixture_gain=gain_for(folds, config.bootstrap, config.seed, pair=("lowlevel_mixture", "fusion_mixture")),
        overall_gain=gain_for({ALL: every}, config.bootstrap, config.seed),
        localisation=localisation,
        missing={"calib": calib_missing, "test": test_missing},
        config={"cross_dataset": to_dict(config), "benchmark": to_dict(bench)},
        provenance=run_provenance({"cross_dataset": to_dict(config), "benchmark": to_dict(bench)}, {}, fingerprints),
    )
    # results.json last: a report that fails half-way never leaves a new results.json beside old tables
    write_cross_report(result, {**folds, ALL: every}, out_dir)
    write_json_atomic(out_dir / "results.json", result.to_dict())
    return result
