"""The headline quantity of EMO-BOOST: boosted minus base AUC on the same test clips, with a paired interval.

``base`` is the external detector (``ext:NAME``, the first one given) when there is one, else the
low-level row (RGB + acoustic); ``boosted`` is the same detector fused with EmoForensics
(``emo+ext:NAME``, else ``fusion``). Gains are computed per fold and averaged over all folds
(AVG) and over the four fake-video folds (AVG-FV).

Intervals (:class:`emoboost.metrics.IdentityDraws`): each bootstrap draw resamples the test
**identities** once and that resample serves every fold, both rows scored on it. The folds of one
partition share their test people (every fold keeps every real clip of the same identities), so
their gains are correlated; drawing identities independently per fold (the interval this module
computed before, still reported as ``ci_independent`` beside the average) treats five correlated
gains as five independent ones and is too narrow. With repeats, the pooled interval is
hierarchical: repeats resampled first, then the test identities within each chosen repeat
(:func:`emoboost.metrics.hierarchical_interval`). The fusions are not refitted per draw there; the
``refit`` entry (:mod:`emoboost.benchmark.refit`) gives the interval that also resamples the calibration
people and refits both fusions on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emoboost.benchmark.refit import refit_gain
from emoboost.benchmark.results import FoldResult
from emoboost.data.manifest import VISUAL_CATEGORIES
from emoboost.metrics import INTERVAL_RULES, IdentityDraws, auc, hierarchical_interval, paired_gain, shared_intervals

INTERVAL = (
    "95 % percentile interval, paired bootstrap over test identities: one resample of people per draw, "
    "shared by every fold and by both rows"
)


def gain_rows(fold_result: FoldResult) -> tuple[str, str]:
    """``(base, boosted)`` row names for a fold result."""
    externals = [name for name in fold_result.metrics if name.startswith("ext:")]
    return (externals[0], f"emo+{externals[0]}") if externals else ("lowlevel", "fusion")


def auc_gain(labels: np.ndarray, base: np.ndarray, boosted: np.ndarray) -> float:
    """``AUC(boosted) - AUC(base)`` on one (resampled) test set."""
    return auc(labels, boosted) - auc(labels, base)


def _test_set(result: FoldResult, base: str, boosted: str, key: str):
    """``(labels, people, (base probabilities, boosted probabilities))`` of one fold."""
    return result.test_set(result.variant(key) or {}, base, boosted)


def _independent(sets: list, samples: int, seed: int) -> list[float]:
    """The interval of the mean gain with identities drawn independently per fold (the former method)."""
    return paired_gain([(y, a[0], a[1], g) for y, g, a in sets], auc, samples, seed)["ci"]


def _block(mean: dict[str, Any], sets: list, samples: int, seed: int) -> dict[str, Any]:
    return {
        "gain": mean["value"],
        "ci": mean["ci"],
        "why": mean["why"],
        "folds": len(sets),
        "samples": mean["samples"],
        "ci_independent": _independent(sets, samples, seed),
    }


def gain_for(
    fold_results: dict[str, FoldResult], samples: int, seed: int, key: str = "metrics",
    pair: tuple[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Per-fold gains and the AVG / AVG-FV gains of one repeat, for one variant (``key``); ``pair`` = ``(base,
    boosted)`` (default :func:`gain_rows`). Every interval comes from the same identity draws."""
    present = {c: r.variant(key) or {} for c, r in fold_results.items() if r.variant(key) is not None}
    if not present:
        return {}
    base, boosted = pair or gain_rows(fold_results[next(iter(present))])
    if any(base not in rows or boosted not in rows for rows in present.values()):
        return {}
    sets = {c: _test_set(fold_results[c], base, boosted, key) for c in present}
    draws = IdentityDraws([g for _, g, _ in sets.values()], samples, seed)
    visual = [i for i, c in enumerate(sets) if c in VISUAL_CATEGORIES]
    per_fold, means = shared_intervals(list(sets.values()), auc_gain, draws, means={"average": range(len(sets)),
                                                                                    "avg_fv": visual})  # fmt: skip
    folds = {}
    for (category, rows), entry in zip(present.items(), per_fold, strict=True):
        result = fold_results[category]
        folds[category] = {
            "base_auc": rows[base]["auc"],
            "boosted_auc": rows[boosted]["auc"],
            "gain": entry["value"],
            "ci": entry["ci"],
            "why": entry["why"],
            "test_identities": len(set(result.people)),
        }
    listed = list(sets.values())
    return {
        "base": base,
        "boosted": boosted,
        "metric": "auc",
        "interval": INTERVAL,
        "interval_rules": INTERVAL_RULES,
        "folds": folds,
        "average": _block(means["average"], listed, samples, seed),
        "avg_fv": _block(means["avg_fv"], [listed[i] for i in visual], samples, seed) if visual else {},
    }


def gain_summary(repeats: Sequence[dict[str, FoldResult]], samples: int, seed: int) -> dict[str, Any]:
    """``results.json["gain"]``: the first repeat's gains per variant; with repeats, spread and pooled intervals."""
    summary = gain_for(repeats[0], samples, seed)
    if not summary:
        return {}
    summary["variants"] = {key: gain_for(repeats[0], samples, seed, key) for key in ("trimmed", "trimmed_trained")}
    base, boosted = summary["base"], summary["boosted"]
    summary["refit"] = {  # the fusions refitted on resampled calibration people too (emoboost.benchmark.refit)
        "average": refit_gain(repeats, base, boosted, samples, seed),
        "avg_fv": refit_gain(repeats, base, boosted, samples, seed, VISUAL_CATEGORIES) if summary["avg_fv"] else {},
    }
    if len(repeats) > 1:
        per_repeat = [gain_for(r, 0, seed) for r in repeats]
        sets = [
            {c: _test_set(r, base, boosted, "metrics") for c, r in fold_results.items()} for fold_results in repeats
        ]

        def pooled(categories=None) -> dict[str, Any]:
            chosen = [[s for c, s in r.items() if categories is None or c in categories] for r in sets]
            if not all(chosen):
                return {}
            entry = hierarchical_interval(chosen, auc_gain, samples, seed)
            return {"gain": entry["value"], "ci": entry["ci"], "why": entry["why"], "samples": entry["samples"],
                    "folds": sum(len(r) for r in chosen), "repeats": entry["repeats"]}  # fmt: skip

        summary["repeats"] = {
            "n": len(repeats),
            "interval": "hierarchical bootstrap: repeats resampled, then test identities within each repeat",
            "average": _spread([g["average"]["gain"] for g in per_repeat]),
            "avg_fv": _spread([g["avg_fv"]["gain"] for g in per_repeat if g["avg_fv"]]),
            "pooled_average": pooled(),
            "pooled_avg_fv": pooled(VISUAL_CATEGORIES),
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


def repeats_summary(repeats: Sequence[dict[str, FoldResult]], samples: int = 0, seed: int = 0) -> dict[str, Any]:
    """Mean and spread over repeats of every AUC (per fold, AVG and AVG-FV), per detector row; with ``samples``,
    each row's AVG and AVG-FV AUC also get the hierarchical interval (repeats, then test identities)."""
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

    def pooled(members: Sequence[str]) -> dict[str, Any]:
        present = [c for c in members if c in categories]
        if not present or samples <= 0:
            return {}
        out = {}
        for d in detectors:
            chosen = [
                [r[c].test_set(r[c].metrics, d) for c in present if c in r and d in r[c].metrics] for r in repeats
            ]  # fmt: skip
            if all(chosen):
                entry = hierarchical_interval(chosen, auc, samples, seed)
                out[d] = {"auc": entry["value"], "ci": entry["ci"], "why": entry["why"]}
        return out

    return {
        "n": len(repeats),
        "metric": "auc",
        "folds": folds,
        "average": average(categories),
        "avg_fv": average(VISUAL_CATEGORIES),
        "pooled_average": pooled(categories),  # hierarchical: repeats, then test identities
        "pooled_avg_fv": pooled(VISUAL_CATEGORIES),
    }
