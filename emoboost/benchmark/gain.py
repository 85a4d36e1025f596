"""The headline quantity of EMO-BOOST: boosted minus base AUC on the same test clips, with a paired interval.

``base`` is the external detector (``ext:NAME``, the first one given) when there is one, else the
low-level row (RGB + acoustic); ``boosted`` is the same detector fused with EmoForensics
(``emo+ext:NAME``, else ``fusion``). Gains are computed per fold and averaged over all folds
(AVG) and over the four fake-video folds (AVG-FV); each carries a 95 % interval from a bootstrap
over test **identities** in which both rows are scored on the same resample
(:func:`emoboost.metrics.paired_gain`). With repeats, the pooled interval resamples identities in
every fold of every repeat (re-drawn partitions and seeds) and averages the gains of all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emoboost.benchmark.results import FoldResult
from emoboost.data.manifest import VISUAL_CATEGORIES
from emoboost.metrics import auc, paired_gain

INTERVAL = "95 % percentile interval, paired bootstrap over test identities (both rows scored on the same resample)"


def gain_rows(fold_result: FoldResult) -> tuple[str, str]:
    """``(base, boosted)`` row names for a fold result."""
    externals = [name for name in fold_result.metrics if name.startswith("ext:")]
    return (externals[0], f"emo+{externals[0]}") if externals else ("lowlevel", "fusion")


def _test_set(result: FoldResult, base: str, boosted: str, key: str):
    metrics = result.variant(key) or {}
    groups = result.groups or result.paths
    return (
        np.asarray(result.labels),
        np.asarray(metrics[base]["probabilities"]),
        np.asarray(metrics[boosted]["probabilities"]),
        np.asarray(groups),
    )


def _block(sets: list, samples: int, seed: int) -> dict[str, Any]:
    if not sets:
        return {}
    result = paired_gain(sets, auc, samples, seed)
    return {"gain": result["gain"], "ci": result["ci"], "folds": len(sets), "samples": result["samples"]}


def gain_for(
    fold_results: dict[str, FoldResult], samples: int, seed: int, key: str = "metrics",
    pair: tuple[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Per-fold gains and the AVG / AVG-FV gains of one repeat, for one variant (``key``); ``pair`` = ``(base,
    boosted)`` (default :func:`gain_rows`)."""
    present = {c: r.variant(key) or {} for c, r in fold_results.items() if r.variant(key) is not None}
    if not present:
        return {}
    base, boosted = pair or gain_rows(fold_results[next(iter(present))])
    if any(base not in rows or boosted not in rows for rows in present.values()):
        return {}
    folds = {}
    for category, rows in present.items():
        result = fold_results[category]
        single = paired_gain([_test_set(result, base, boosted, key)], auc, samples, seed)
        folds[category] = {
            "base_auc": rows[base]["auc"],
            "boosted_auc": rows[boosted]["auc"],
            "gain": single["gain"],
            "ci": single["ci"],
            "test_identities": len(set(result.groups or result.paths)),
        }
    sets = {c: _test_set(fold_results[c], base, boosted, key) for c in present}
    return {
        "base": base,
        "boosted": boosted,
        "metric": "auc",
        "interval": INTERVAL,
        "folds": folds,
        "average": _block(list(sets.values()), samples, seed),
        "avg_fv": _block([s for c, s in sets.items() if c in VISUAL_CATEGORIES], samples, seed),
    }


def gain_summary(repeats: Sequence[dict[str, FoldResult]], samples: int, seed: int) -> dict[str, Any]:
    """``results.json["gain"]``: the first repeat's gains per variant; with repeats, spread and pooled intervals."""
    summary = gain_for(repeats[0], samples, seed)
    if not summary:
        return {}
    summary["variants"] = {key: gain_for(repeats[0], samples, seed, key) for key in ("trimmed", "trimmed_trained")}
    if len(repeats) > 1:
        base, boosted = summary["base"], summary["boosted"]
        per_repeat = [gain_for(r, 0, seed) for r in repeats]
        everything = [
            (c, _test_set(r, base, boosted, "metrics")) for fold_results in repeats for c, r in fold_results.items()
        ]
        summary["repeats"] = {
            "n": len(repeats),
            "average": _spread([g["average"]["gain"] for g in per_repeat]),
            "avg_fv": _spread([g["avg_fv"]["gain"] for g in per_repeat if g["avg_fv"]]),
            "pooled_average": _block([s for _, s in everything], samples, seed),
            "pooled_avg_fv": _block([s for c, s in everything if c in VISUAL_CATEGORIES], samples, seed),
        }
    return summary


def _spread(values: Sequence[float]) -> dict[str, Any]:
    values = [float(v) for v in values]
    if not values:
        return {}
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
        "values": values,
    }


def repeats_summary(repeats: Sequence[dict[str, FoldResult]]) -> dict[str, Any]:
    """Mean and spread over repeats of every AUC (per fold, AVG and AVG-FV), per detector row."""
    categories = list(repeats[0])
    detectors = list(repeats[0][categories[0]].metrics)
    folds = {
        c: {d: _spread([r[c].metrics[d]["auc"] for r in repeats if c in r]) for d in detectors} for c in categories
    }

    def average(members: Sequence[str]) -> dict[str, Any]:
        present = [c for c in members if c in categories]
        if not present:
            return {}
        return {
            d: _spread([float(np.nanmean([r[c].metrics[d]["auc"] for c in present])) for r in repeats])
            for d in detectors
        }

    return {
        "n": len(repeats),
        "metric": "auc",
        "folds": folds,
        "average": average(categories),
        "avg_fv": average(VISUAL_CATEGORIES),
    }
