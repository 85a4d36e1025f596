"""Alignment-shuffle control of a trained EmoForensics on a fold's test split (research script).

    python scripts/shuffle_control.py --fold FOLDS/RVFA.csv --store STORE --model DETECTOR_DIR [--root ROOT]

DETECTOR_DIR is a detector directory (``emoboost train`` / the benchmark's per-fold detector);
its EmoForensics network is the one scored.

Scores the test split's real clips as recorded and with their voice taken from another real
test identity's clip (emoboost.benchmark.controls), and, for context, the test AUC real vs fake overall
and per ``emotion_mismatch`` / ``artifact`` cell when the manifest has them. The last stdout
line is JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from emoboost.benchmark.controls import alignment_shuffle, cell_aucs, cell_of_row, emoforensics_scorer
from emoboost.data.manifest import read_manifest
from emoboost.detector.detector import Detector
from emoboost.features.store import FeatureStore
from emoboost.media.inputs import dataset_root
from emoboost.metrics import auc
from emoboost.models.tokens import tokenize_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fold", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = Detector.from_pretrained(args.model).emo
    store, root = FeatureStore(args.store), dataset_root(args.fold, args.root)
    rows, tokens = [], []
    for row in (r for r in read_manifest(args.fold) if r.split == "test"):
        record = store.find(root / row.path)
        if record is not None:
            rows.append(row)
            tokens.append(tokenize_record(record, model.config.token_frames))
    score = emoforensics_scorer(model)
    logits = score(tokens)
    labels = np.array([r.label for r in rows])
    reals = [i for i, r in enumerate(rows) if r.label == 0]
    control = alignment_shuffle([tokens[i] for i in reals], [rows[i].identity for i in reals], score, args.seed)
    cells = [cell_of_row(r.emotion_mismatch, r.artifact) for r in rows]
    per_cell = {name: c["auc"] for name, c in cell_aucs(labels, cells, logits).items()}
    summary = {
        "shuffle": control.to_dict(),
        "test_auc": auc(labels, logits),
        "test_auc_per_cell": per_cell,
        "real": int((labels == 0).sum()),
        "fake": int(labels.sum()),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
