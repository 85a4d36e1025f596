"""Generated feature records with planted signals, for fast benchmark tests (no media, no encoders).

Every identity has one real clip and one fake of each category. Category "RVFA" (fake voice) fakes
carry an emotion signal only (an offset in the speech embedding that EmoForensics can learn; no
artefact in crops or log-mel); category "FVFA-FS" fakes carry a low-level artefact only (a bright
patch in every face crop, a raised band in the log-mel). Every clip starts with
``LEAD_IN`` silent frames. Identities are split train / val / calib / test.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from emoboost.benchmark.config import BenchmarkConfig
from emoboost.data.manifest import ManifestRow, write_manifest
from emoboost.features import version
from emoboost.features.store import FeatureRecord, FeatureStore
from emoboost.models.lowlevel import AcousticConfig, RGBConfig
from emoboost.training.loop import TrainConfig

FRAMES, LEAD_IN, VISUAL_DIM, SPEECH_DIM, CROP, MELS = 50, 5, 8, 6, 32, 16
EMO_ONLY, LOWLEVEL_ONLY = "RVFA", "FVFA-FS"
TYPES = {"real": "RVRA", EMO_ONLY: "RVFA", LOWLEVEL_ONLY: "FVFA"}
SPLIT_SIZES = (("train", 10), ("val", 4), ("calib", 4), ("test", 8))
EMO = """
model: {d_model: 16, heads: 2, intra_layers: 1, inter_layers: 1, feedforward: 32, dropout: 0.0, alignment_dim: 8,
        modalities: [visual, speech], token_frames: 5, window_tokens: 10, hop_tokens: 5, aggregation: mean}
train: {epochs: 8, batch_size: 16, lr: 0.005, warmup_epochs: 0, patience: 8, seed: 0, windows_per_video: 2}
"""


def record(category: str, sha: str, rng: np.random.Generator, silent_before: int = 0) -> FeatureRecord:
    """One clip's record; ``silent_before`` frames of silence put before it (the clip grows by as many)."""
    frames = FRAMES + silent_before
    visual = rng.normal(size=(frames, VISUAL_DIM)).astype(np.float32)
    speech = rng.normal(size=(frames, SPEECH_DIM)).astype(np.float32)
    crops = rng.integers(0, 120, (4, CROP, CROP, 3)).astype(np.uint8)
    logmel = rng.normal(size=(frames * 4, MELS)).astype(np.float16)
    if category == EMO_ONLY:
        speech[:, 0] += 2.5
    if category == LOWLEVEL_ONLY:
        crops[:, 8:24, 8:24] = 250
        logmel[:, 3] += 4
    level = np.full(frames, -20.0, np.float32)
    level[: LEAD_IN + silent_before] = -90
    arrays = {
        "visual": visual,
        "speech": speech,
        "face_mask": np.ones(frames, np.uint8),
        "expressions": np.zeros((frames, 7), np.float32),
        "boxes": np.zeros((frames, 4), np.float32),
        "audio_rms_db": level,
        "face_crops": crops,
        "crop_frames": np.arange(0, frames, frames // 4)[:4].astype(np.int64),
        "logmel": logmel,
    }
    meta = {
        "n_frames": frames,
        "fps": 25.0,
        "duration_s": frames / 25,
        "sha256": sha,
        "visual_encoder": "test-visual",
        "speech_encoder": "test-speech",
        "visual_encoder_version": "1",
        "speech_encoder_version": "1",
    }
    return FeatureRecord(arrays, meta)


def build(folder: Path, seed: int = 0, silent_fakes: int = 0) -> tuple[BenchmarkConfig, list[ManifestRow]]:
    """Files, records and the fold file ``folds/mix.csv`` (test holds both kinds of fake); a tiny config, the rows.

    ``silent_fakes``: frames of silence put before every fake (FakeAVCeleb's leading-silence shortcut)."""
    rng = np.random.default_rng(seed)
    root, store = folder / "data", FeatureStore(folder / "store")
    rows, number = [], 0
    for split, count in SPLIT_SIZES:
        for _ in range(count):
            identity = f"id{number:03d}"
            number += 1
            for category, kind in TYPES.items():
                path = f"{category}/{identity}.mp4"
                (root / category).mkdir(parents=True, exist_ok=True)
                (root / path).write_bytes(f"{path} {rng.integers(1 << 30)}".encode())
                label = int(category != "real")
                made = record(category, store.content_hash(root / path), rng, silent_fakes * label)
                store.put(made, f"{version.key_prefix()}records")
                rows.append(ManifestRow(path, label, kind, category, category, identity, (identity,), split=split))
    write_manifest(folder / "folds" / "mix.csv", rows)
    (folder / "emo.yaml").write_text(EMO)
    config = BenchmarkConfig(
        name="records-ci",
        folds=str(folder / "folds"),
        root=str(root),
        store=str(folder / "store"),
        categories=("mix",),
        emo_config=str(folder / "emo.yaml"),
        rgb=RGBConfig(input_size=32, width=4, crops_per_video=8),
        acoustic=AcousticConfig(segment_frames=32, hop_frames=16, segments_per_video=8, channels=(4, 4, 4)),
        lowlevel_train=TrainConfig(epochs=8, batch_size=16, lr=0.005, warmup_epochs=0, patience=8),
        bootstrap=200,
        train_trimmed=False,
        anchors="",
    )
    return config, rows


def with_rows(config: BenchmarkConfig, folder: Path, rows: list[ManifestRow], name: str) -> BenchmarkConfig:
    """The config pointed at a folder holding ``rows`` as its only fold file."""
    write_manifest(folder / name / "mix.csv", rows)
    return dataclasses.replace(config, folds=str(folder / name))
