"""What training the real-only consistency detector on VoxCeleb2 would take, measured on a generated store.

    python scripts/bench_consistency_scale.py [--clips 600] [--identities 60] [--steps 60] [--work runs/cscale]

Builds a feature store of ``--clips`` records of the real shapes (random values: the default
encoders' sizes, 25 fps, clip lengths log-normal around VoxCeleb2's mean utterance), each with a
placeholder video file and a manifest of real rows, then measures, in this process:

- loading: seconds per clip to read a record and make its consistency input
  (``training.detector.real_data_clips``, what ``emoboost train-consistency`` does first);
- memory: bytes per clip of the token arrays the trainer keeps (all clips are held in memory);
- training: seconds per step (batch of the benchmark config's ``consistency_train.batch_size``).

and projects them to VoxCeleb2's dev set: 1,092,009 utterances of 5,994 identities, 2,360.2 h
(the counts of the VoxCeleb2 release as summarised in PaddleSpeech's examples/voxceleb/README.md;
Chung et al. 2018 give 1,128,246 utterances and 2,442 h for dev + test). Feature extraction is
not re-measured here: the projection uses the Ray extraction throughput measured by
scripts/bench_extract.py (docs/benchmark.md: 1.95 ten-second videos per second with 2 workers on
2 cores), given as ``--extract-video-s-per-s``. The last stdout line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakeavceleb_shape import random_record  # noqa: E402  (beside this script)

VOX2_DEV_CLIPS, VOX2_DEV_IDENTITIES, VOX2_DEV_HOURS = 1_092_009, 5_994, 2_360.2
MEASURED_EXTRACT = 19.5  # video seconds extracted per wall second, 2 workers on 2 cores (docs/benchmark.md)


def build(work: Path, clips: int, identities: int, seed: int) -> Path:
    from emoboost.data.manifest import REAL, ManifestRow, write_manifest
    from emoboost.features.store import FeatureStore
    from emoboost.features.version import key_prefix

    store, rows = FeatureStore(work / "store"), []
    rng = np.random.default_rng(seed)
    mean_s = VOX2_DEV_HOURS * 3600 / VOX2_DEV_CLIPS
    lengths = np.clip(rng.lognormal(np.log(mean_s) - 0.08, 0.4, clips), 4.0, 20.0)
    for index, seconds in enumerate(lengths):
        identity = f"id{index % identities:05d}"
        path = work / "media" / identity / f"{index:06d}.mp4"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"placeholder {index}".encode())
            store.put(random_record(rng, store.content_hash(path), float(seconds)), key_prefix() + "cscale")
        scenario = f"{identity}/v{index // identities % 3}"  # three videos per person
        rows.append(ManifestRow(path.relative_to(work).as_posix(), 0, "RVRA", REAL, "real", identity, (identity,),
                                scenario=scenario))  # fmt: skip
    write_manifest(work / "manifest.csv", rows)
    return work / "manifest.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("runs/consistency_scale"))
    parser.add_argument("--clips", type=int, default=600)
    parser.add_argument("--identities", type=int, default=60)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--config", default="configs/benchmark/fakeavceleb.yaml")
    parser.add_argument("--extract-video-s-per-s", type=float, default=MEASURED_EXTRACT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import dataclasses

    from emoboost.benchmark.config import load_benchmark_config
    from emoboost.features.store import FeatureStore
    from emoboost.training.consistency import train_consistency
    from emoboost.training.detector import RealData, real_data_clips

    manifest = build(args.work, args.clips, args.identities, args.seed)
    settings = load_benchmark_config(args.config)
    started = time.perf_counter()
    train, val, read = real_data_clips(RealData((manifest,)), FeatureStore(args.work / "store"),
                                       settings.consistency_model.token_frames)  # fmt: skip
    load_s = (time.perf_counter() - started) / (len(train) + len(val))
    clips = train + val
    bytes_per_clip = float(np.mean([c.tokens.face.nbytes + c.tokens.voice.nbytes for c in clips]))
    tokens_per_clip = float(np.mean([len(c.tokens) for c in clips]))
    train_config = dataclasses.replace(settings.consistency_train, steps=args.steps, eval_every=args.steps)
    started = time.perf_counter()
    train_consistency(train, val, settings.consistency_model, train_config)
    step_s = (time.perf_counter() - started) / args.steps
    batch = train_config.batch_size
    windows = tokens_per_clip / settings.consistency_model.hop_tokens  # windows per clip, about
    epoch_steps = VOX2_DEV_CLIPS * windows / batch  # steps to draw every window of the dev set once
    result = {
        "clips_measured": len(clips),
        "seconds_per_clip_load": round(load_s, 5),
        "bytes_per_clip_tokens": round(bytes_per_clip),
        "tokens_per_clip": round(tokens_per_clip, 1),
        "seconds_per_step": round(step_s, 4),
        "batch": batch,
        "projection_voxceleb2_dev": {
            "clips": VOX2_DEV_CLIPS,
            "identities": VOX2_DEV_IDENTITIES,
            "extract_hours_2_cores": round(VOX2_DEV_HOURS * 3600 / args.extract_video_s_per_s / 3600, 1),
            "load_hours": round(load_s * VOX2_DEV_CLIPS / 3600, 2),
            "token_memory_gb": round(bytes_per_clip * VOX2_DEV_CLIPS / 1e9, 1),
            "steps_per_window_epoch": round(epoch_steps),
            "train_hours_per_window_epoch": round(epoch_steps * step_s / 3600, 2),
            "train_hours_configured_steps": round(settings.consistency_train.steps * step_s / 3600, 3),
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
