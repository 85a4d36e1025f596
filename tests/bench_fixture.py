"""A small SynthAV set, extracted once, and a benchmark config small enough for CI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from emoboost.benchmark.config import BenchmarkConfig
from emoboost.config import ExtractConfig
from emoboost.data.manifest import CATEGORIES, REAL, write_manifest
from emoboost.data.protocols import CONTROL_SPLIT, identity_components
from emoboost.data.synthav import SynthConfig, generate
from emoboost.data.synthav_v3 import EMOTION_ONLY
from emoboost.features.extract import FeatureExtractor, extract_many
from emoboost.features.store import FeatureStore
from emoboost.models.consistency import ConsistencyConfig
from emoboost.models.lowlevel import AcousticConfig, RGBConfig
from emoboost.training.consistency import ConsistencyTrainConfig
from emoboost.training.loop import TrainConfig

TINY_EMO = """
model: {d_model: 32, heads: 2, intra_layers: 1, inter_layers: 1, feedforward: 64, dropout: 0.0, alignment_dim: 16,
        modalities: [visual, speech], token_frames: 5, window_tokens: 10, hop_tokens: 5, aggregation: mean}
train: {epochs: 3, batch_size: 16, lr: 0.002, warmup_epochs: 1, patience: 3, seed: 0, windows_per_video: 1}
"""


SPLIT_ORDER = ("train", "val", "calib", "test", "train")


def write_folds_with_calib(rows, folder: Path) -> None:
    """Leave-one-category-out fold files with train / val / calib / test, one identity group per split (train two);
    as the protocol does, the test people's emotion-only re-voicings (v3 ``RVFA-EMO``) are control rows and
    nobody else's are used."""
    assignment = {
        i: SPLIT_ORDER[n % len(SPLIT_ORDER)] for n, group in enumerate(identity_components(rows)) for i in group
    }
    for held_out in CATEGORIES:
        chosen = []
        for row in rows:
            split = assignment[row.ids[0]]
            if row.category == EMOTION_ONLY:
                if split == "test":
                    chosen.append(dataclasses.replace(row, split=CONTROL_SPLIT))
            elif row.category == REAL or (row.category == held_out) == (split == "test"):
                chosen.append(dataclasses.replace(row, split=split))
        write_manifest(folder / f"{held_out}.csv", chosen)


def build(folder: Path, extractor: FeatureExtractor | None = None) -> BenchmarkConfig:
    """10 identities (5 pairs) x 1 scenario x 6 categories of 2 s clips, extracted; returns a tiny benchmark config."""
    rows = generate(folder / "synthav", SynthConfig(identities=10, clips_per_identity=1, seconds=2.0, seed=3))
    write_folds_with_calib(rows, folder / "synthav" / "folds")
    summary = extract_many(
        [folder / "synthav" / r.path for r in rows],
        FeatureStore(folder / "features"),
        extractor or FeatureExtractor(ExtractConfig()),
    )
    assert not summary.failed, summary.failed
    return tiny_config(
        folder,
        folds=str(folder / "synthav" / "folds"),
        store=str(folder / "features"),
        root=str(folder / "synthav"),
    )


def tiny_config(folder: Path, **paths: str) -> BenchmarkConfig:
    """The benchmark config small enough for CI (its EmoForensics YAML written to ``folder/emo.yaml``), with
    ``paths`` (folds, store, root, ...) set."""
    (folder / "emo.yaml").write_text(TINY_EMO)
    return BenchmarkConfig(
        name="synthav-ci",
        **paths,
        emo_config=str(folder / "emo.yaml"),
        rgb=RGBConfig(width=8, crops_per_video=2),
        acoustic=AcousticConfig(segment_frames=100, hop_frames=50, segments_per_video=2, channels=(8, 8, 8)),
        lowlevel_train=TrainConfig(epochs=2, batch_size=32, lr=0.002, warmup_epochs=0, patience=2),
        bootstrap=50,
        consistency_model=ConsistencyConfig(hidden=16, embed_dim=8),
        consistency_train=ConsistencyTrainConfig(steps=40, batch_size=32, eval_every=20),
        anchors="",
    )


def with_ablation(config: BenchmarkConfig, folder: Path) -> BenchmarkConfig:
    text = TINY_EMO.replace("modalities: [visual, speech]", "modalities: [visual]").replace(
        "inter_layers: 1", "inter_layers: 0"
    )
    (folder / "visual_only.yaml").write_text(text)
    return dataclasses.replace(config, ablations=(str(folder / "visual_only.yaml"),))
