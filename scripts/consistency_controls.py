"""Train the real-only face-voice consistency model and run its controls on unseen identities (research run).

    .venv/bin/python scripts/consistency_controls.py MANIFEST --store STORE [--root ROOT] --out OUT
        [--test-share 0.3] [--val-share 0.1] [--steps 1500] [--seed 0] [--no-revoiced]

Identities are split (seeded) into train / val / test; the model trains on the REAL rows of
train identities only (plus, unless ``--no-revoiced``, their ``RVFA-EMO`` re-voicings as hard
negatives), picks its step on val identities, and is tested on test identities: the controls of
``emoboost.benchmark.consistency`` (cross-identity and same-identity voice swaps, a >= 1 s shift,
emotion-only re-voicing) and, when the manifest has fakes, real vs fakes per factorial cell.
Writes OUT/model/ (safetensors + JSON), OUT/controls.{md,json}; the last line printed is JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from emoboost.benchmark.consistency import control_scores, controls_markdown, fake_cells
    from emoboost.config import to_dict
    from emoboost.data.manifest import read_manifest
    from emoboost.features.store import FeatureStore
    from emoboost.files import fingerprint, write_json_atomic, write_text_atomic
    from emoboost.models.consistency import ConsistencyConfig, affect_tokens, clip_inconsistency
    from emoboost.training.consistency import (
        ConsistencyTrainConfig,
        real_clips,
        save_consistency,
        train_consistency,
    )

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--root", type=Path, default=None, help="dataset root (default: the manifest's folder)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--test-share", type=float, default=0.3)
    parser.add_argument("--val-share", type=float, default=0.1)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-revoiced", action="store_true", help="train without the emotion-only hard negatives")
    args = parser.parse_args()
    started = time.perf_counter()
    root = args.root or args.manifest.parent
    rows = read_manifest(args.manifest)
    store = FeatureStore(args.store)
    identities = sorted({r.identity for r in rows})
    order = np.random.default_rng(args.seed).permutation(len(identities))
    n_test, n_val = round(args.test_share * len(identities)), max(1, round(args.val_share * len(identities)))
    split_of = {
        identities[i]: ("test" if k < n_test else "val" if k < n_test + n_val else "train") for k, i in enumerate(order)
    }

    def of(split: str):
        return [r for r in rows if split_of[r.identity] == split]

    config = ConsistencyConfig()
    train_rows = [r for r in of("train") if r.label == 0 or (r.category == "RVFA-EMO" and not args.no_revoiced)]
    train, _ = real_clips(train_rows, store, root, config.token_frames)
    val, _ = real_clips(
        [r for r in of("val") if r.label == 0 or r.category == "RVFA-EMO"], store, root, config.token_frames
    )
    train_config = ConsistencyTrainConfig(steps=args.steps, seed=args.seed)
    fit = train_consistency(train, val, config, train_config, on_step=lambda s, e: print(
        f"step {s}: loss {e['loss']:.3f}, val AUC " + ", ".join(f"{k} {v:.3f}" for k, v in e["val_auc"].items())
    ))  # fmt: skip
    test_rows = of("test")
    test, _ = real_clips(test_rows, store, root, config.token_frames)
    fakes = []
    for row in test_rows:
        if row.label == 1 and row.category != "RVFA-EMO":
            record = store.find(root / row.path)
            if record is not None:
                cell = f"{row.category} mismatch={row.emotion_mismatch or '?'} artifact={row.artifact or '?'}"
                fakes.append((cell, affect_tokens(record, config.token_frames)))
    model = fit.model

    def score(tokens) -> float:
        return clip_inconsistency(model, tokens)["mean"]

    controls = control_scores(score, test, config.min_shift_tokens, seed=args.seed)
    by_factor: dict[str, list] = {}
    for cell, tokens in fakes:  # pooled over categories: mismatch x artefact
        by_factor.setdefault(cell.split(" ", 1)[1], []).append((cell.split(" ", 1)[1], tokens))
    cells = fake_cells(score, [c.tokens for c in test], [f for v in by_factor.values() for f in v]) if fakes else {}
    protocol = {
        "manifest": str(args.manifest), "seed": args.seed, "test_share": args.test_share,
        "val_share": args.val_share, "model": to_dict(config), "train": to_dict(train_config),
        "revoiced_negatives": not args.no_revoiced,
        "identities": {s: sum(v == s for v in split_of.values()) for s in ("train", "val", "test")},
    }  # fmt: skip
    result = {
        "fingerprint": fingerprint(protocol), "protocol": protocol, "data": fit.data, "best_step": fit.best_step,
        "val_auc": fit.val_auc, "test_real_clips": len(test), "controls": controls, "fake_cells": cells,
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    save_consistency(args.out / "model", fit, {"protocol": protocol})
    write_json_atomic(args.out / "controls.json", result)
    text = [
        f"# Consistency controls (real-only training; fingerprint {result['fingerprint']})", "",
        f"{args.manifest}: train {fit.data['train_identities']} / val {fit.data['val_identities']} / test "
        f"{protocol['identities']['test']} identities; {len(test)} real test clips; best step {fit.best_step}.", "",
        *controls_markdown(controls, cells), "",
    ]  # fmt: skip
    write_text_atomic(args.out / "controls.md", "\n".join(text))
    print("\n".join(text))
    print(json.dumps({k: result[k] for k in ("fingerprint", "controls", "fake_cells", "seconds")}))


if __name__ == "__main__":
    main()
