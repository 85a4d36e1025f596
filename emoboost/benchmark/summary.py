"""The benchmark's results summaries: per-fold metrics of every detector row with their averages
(:func:`summarise`), AUC per SynthAV factor cell (:func:`cells_summary`) and the paired emotion-mismatch
effect (:func:`mismatch_summary`), rows in a fixed order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emoboost.benchmark.controls import cell_aucs
from emoboost.benchmark.results import FoldResult
from emoboost.benchmark.shortcut import SHORTCUT
from emoboost.data.manifest import VISUAL_CATEGORIES
from emoboost.metrics import IdentityDraws, auc, average_precision, identity_mean, shared_intervals
from emoboost.models.networks import NETWORK_NAMES

BEST_SINGLE = "best_single"  # per fold, the component of EMO-BOOST with the highest test AUC (an oracle choice)
COMPONENTS = (*NETWORK_NAMES, "consistency")
BASE_DETECTORS = (
    *NETWORK_NAMES,
    "lowlevel",
    "fusion",
    "lowlevel_mixture",
    "fusion_mixture",
    BEST_SINGLE,
    "lowlevel_ensemble",
    "mean",
    SHORTCUT,
    "consistency",
    "lowlevel+consistency",
    "fusion+consistency",
)
METRICS = ("auc", "ap", "eer", "acc", "ece")


def summarise(fold_results: dict[str, FoldResult], key: str, samples: int = 0, seed: int = 0) -> dict[str, Any]:
    """``{"folds": {category: {detector: metrics}}, "average": ..., "avg_fv": ...}`` for one variant (``key``).

    Every AUC and AP interval (per fold, AVG and AVG-FV) comes from one set of identity draws shared by
    every fold and row (:func:`emoboost.metrics.shared_intervals`); ``*_ci`` is None where no interval can
    be estimated and ``*_ci_why`` says why."""
    present = {c: r for c, r in fold_results.items() if r.variant(key) is not None}
    rows_of = {c: _with_best_single(r.variant(key) or {}) for c, r in present.items()}
    folds = {
        category: {
            detector: {
                **{m: scores[m] for m in (*METRICS, "n_real", "n_fake")},
                **({"llr": scores["llr"]} if "llr" in scores else {}),  # Cllr, Cllr_min, ... of the row's LLRs
            }
            for detector, scores in sorted(rows_of[category].items(), key=lambda item: _detector_order(item[0]))
        }
        for category in present
    }
    for category, rows in rows_of.items():
        if BEST_SINGLE in rows:
            folds[category][BEST_SINGLE]["chosen"] = rows[BEST_SINGLE]["chosen"]
    detectors = sorted({d for scores in folds.values() for d in scores}, key=_detector_order)

    def average(categories: Sequence[str]) -> dict[str, dict[str, Any]]:
        chosen = [c for c in categories if c in folds]
        if not chosen:
            return {}
        return {d: {m: float(np.nanmean([folds[c][d][m] for c in chosen])) for m in METRICS} for d in detectors}

    summary = {"folds": folds, "average": average(list(folds)), "avg_fv": average(VISUAL_CATEGORIES)}
    draws = IdentityDraws([np.asarray(r.people) for r in present.values()], samples, seed)
    for detector in detectors:
        categories = [c for c in folds if detector in folds[c]]
        sets = [present[c].test_set(rows_of[c], detector) for c in categories]
        subsets = {"average": range(len(categories)), "avg_fv": [i for i, c in enumerate(categories)
                                                                 if c in VISUAL_CATEGORIES]}  # fmt: skip
        for metric, function in (("auc", auc), ("ap", average_precision)):
            per_fold, means = shared_intervals(sets, function, draws, means=subsets)
            for category, entry in zip(categories, per_fold, strict=True):
                folds[category][detector].update({f"{metric}_ci": entry["ci"], f"{metric}_ci_why": entry["why"]})
            for block, entry in means.items():
                if detector in summary[block]:
                    summary[block][detector].update({f"{metric}_ci": entry["ci"], f"{metric}_ci_why": entry["why"]})
    return summary


def _with_best_single(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The fold's rows plus :data:`BEST_SINGLE`: a copy of the component row with the highest test AUC, named in
    ``chosen``. Chosen on the test clips it is scored on, it is optimistic by construction: a fusion that does
    not beat it adds nothing a reader could not get by picking one detector."""
    components = [name for name in COMPONENTS if name in rows and np.isfinite(rows[name].get("auc", np.nan))]
    if len(components) < 2:
        return rows
    best = max(components, key=lambda name: rows[name]["auc"])
    return {**rows, BEST_SINGLE: {**rows[best], "chosen": best}}


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


def mismatch_pairs(result: FoldResult) -> list[tuple[int, int, str]]:
    """``(index at mismatch 0, index at mismatch 1, identity)`` of the held-out fakes rendered at both levels
    from one scenario (SynthAV v3's ``scenario`` column); empty when the manifest has no such pairs."""
    if not result.scenarios:
        return []
    levels: dict[str, dict[str, int]] = {}
    for index, (scenario, cell, label) in enumerate(zip(result.scenarios, result.cells, result.labels, strict=True)):
        if label == 1 and scenario and cell and cell.startswith("mismatch="):
            levels.setdefault(scenario, {})[cell.split(",")[0].removeprefix("mismatch=")] = index
    return [(pair["0"], pair["1"], result.groups[pair["0"]]) for pair in levels.values() if {"0", "1"} <= set(pair)]


def mismatch_summary(fold_results: dict[str, FoldResult], samples: int, seed: int) -> dict[str, Any]:
    """Per fold and detector: the score rise from mismatch 0 to 1 within each scenario (paired), with a
    bootstrap interval over identities (:func:`emoboost.metrics.identity_mean`)."""
    out: dict[str, Any] = {}
    for category, result in fold_results.items():
        pairs = mismatch_pairs(result)
        if not pairs:
            continue
        low, high, groups = (np.array(column) for column in zip(*pairs, strict=True))
        out[category] = {
            detector: identity_mean(
                np.asarray(scores["probabilities"])[high] - np.asarray(scores["probabilities"])[low],
                groups,
                samples,
                seed,
            )  # fmt: skip
            for detector, scores in sorted(result.metrics.items(), key=lambda item: _detector_order(item[0]))
        }
    return out


def _detector_order(name: str) -> tuple[int, str]:
    return (BASE_DETECTORS.index(name), name) if name in BASE_DETECTORS else (len(BASE_DETECTORS), name)
