"""How far apart are benchmark runs? Per row, the test AUC of every fold in each run and its change from the first.

    python scripts/compare_benchmarks.py REFERENCE OTHER [OTHER ...] [--rows emo rgb acoustic lowlevel fusion]

Each argument is a benchmark output folder (its ``results.json``). For each row and fold it prints
the reference AUC and each other run's difference from it (AUC points), then per run the mean
absolute difference over rows and folds and the mean signed difference of the AVG AUC per row.
Use it to tell a change of settings from a change of seed: compare the settings' run and a
second-seed run against the same reference; a setting that moves results no more than the seed
does is within the seed's noise. The folds must be the same (same fold files): the script refuses
runs whose folds differ. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_ROWS = ("emo", "rgb", "acoustic", "lowlevel", "fusion", "consistency", "fusion+consistency")


def load(folder: Path) -> dict:
    path = folder / "results.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SystemExit(f"error {path}: {exc}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("others", type=Path, nargs="+")
    parser.add_argument("--rows", nargs="+", default=list(DEFAULT_ROWS))
    args = parser.parse_args()
    runs = {str(folder): load(folder) for folder in [args.reference, *args.others]}
    reference = runs[str(args.reference)]
    folds = sorted(reference["folds"])

    def test_set(run: dict) -> tuple:  # where the folds come from and each fold's test clip counts
        counts = [
            (fold, run["folds"][fold]["lowlevel"]["n_real"], run["folds"][fold]["lowlevel"]["n_fake"]) for fold in folds
        ]
        return str(Path(run["config"]["folds"]).resolve()), counts

    for name, run in runs.items():
        if sorted(run["folds"]) != folds or test_set(run) != test_set(reference):
            raise SystemExit(f"error {name}: its folds differ from the reference's; compare runs on the same folds")
    summary: dict[str, dict] = {}
    print(f"reference {args.reference}; AUC x 100, and each run's change from it in points")
    for row in args.rows:
        if not all(row in reference["folds"][fold] for fold in folds):
            continue
        print(f"\n{row}")
        for fold in folds:
            base = 100 * reference["folds"][fold][row]["auc"]
            changes = [
                100 * run["folds"][fold][row]["auc"] - base for name, run in runs.items() if name != str(args.reference)
            ]
            print(f"  {fold:<10} {base:6.1f}  " + "  ".join(f"{change:+6.1f}" for change in changes))
    for name, run in runs.items():
        if name == str(args.reference):
            continue
        changes = [
            100 * (run["folds"][fold][row]["auc"] - reference["folds"][fold][row]["auc"])
            for row in args.rows
            for fold in folds
            if row in reference["folds"][fold] and row in run["folds"][fold]
        ]
        average = {
            row: round(100 * (run["average"][row]["auc"] - reference["average"][row]["auc"]), 2)
            for row in args.rows
            if row in reference.get("average", {}) and row in run.get("average", {})
        }
        summary[name] = {
            "mean_abs_change_points": round(sum(abs(c) for c in changes) / max(1, len(changes)), 2),
            "avg_auc_change_points": average,
            "cells": len(changes),
        }
        print(f"\n{name}: mean |change| {summary[name]['mean_abs_change_points']:.2f} points, {len(changes)} cells")
    print(json.dumps({"reference": str(args.reference), "runs": summary}))


if __name__ == "__main__":
    main()
