"""The benchmark's results summaries: per-fold metrics of every detector row with their averages
(:func:`summarise`) and AUC per SynthAV factor cell (:func:`cells_summary`), rows in a fixed order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emoboost.benchmark.controls import cell_aucs
from emoboost.benchmark.results import FoldResult
from emoboost.data.manifest import VISUAL_CATEGORIES
from emoboost.models.networks import NETWORK_NAMES

BASE_DETECTORS = (*NETWORK_NAMES, "lowlevel", "fusion", "mean")
METRICS = ("auc", "ap", "eer", "acc", "ece")


def summarise(fold_results: dict[str, FoldResult], key: str) -> dict[str, Any]:
    """``{"folds": {category: {detector: metrics}}, "average": ..., "avg_fv": ...}`` for one variant (``key``)."""
    folds = {
        category: {
            detector: {
                **{m: scores[m] for m in (*METRICS, "auc_ci", "ap_ci", "n_real", "n_fake")},
                **({"llr": scores["llr"]} if "llr" in scores else {}),  # Cllr, Cllr_min, ... of the row's LLRs
            }
            for detector, scores in sorted(
                (result.variant(key) or {}).items(), key=lambda item: _detector_order(item[0])
            )
        }
        for category, result in fold_results.items()
        if result.variant(key) is not None
    }
    detectors = sorted({d for scores in folds.values() for d in scores}, key=_detector_order)

    def average(categories: Sequence[str]) -> dict[str, dict[str, float]]:
        present = [c for c in categories if c in folds]
        if not present:
            return {}
        return {d: {m: float(np.nanmean([folds[c][d][m] for c in present])) for m in METRICS} for d in detectors}

    return {"folds": folds, "average": average(list(folds)), "avg_fv": average(VISUAL_CATEGORIES)}


def cells_summary(fold_results: dict[str, FoldResult]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """``{category: {detector: {cell: {"auc", "n_fake"}}}}`` for folds whose manifest has SynthAV's factor columns."""
    out = {}
    for category, result in fold_results.items():
        cells = result.cells
        if any(cells):
            out[category] = {
                detector: cell_aucs(result.labels, cells, scores["probabilities"])
                for detector, scores in sorted(result.metrics.items(), key=lambda item: _detector_order(item[0]))
            }
    return out


def _detector_order(name: str) -> tuple[int, str]:
    return (BASE_DETECTORS.index(name), name) if name in BASE_DETECTORS else (len(BASE_DETECTORS), name)
