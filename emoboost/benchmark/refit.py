"""An interval of the gain that also covers the choice of calibration people: the fusions refitted per draw.

The shared-draw interval of :mod:`emoboost.benchmark.gain` keeps every fold's fitted fusions fixed and
resamples only the test people, so it says how the gain varies with who is tested, not with who the
fusion weights were fitted on. On FakeAVCeleb-size folds calib holds some 50 identities; on SynthAV a
handful, and a fusion fitted on few people can put its weight on the weaker detector. Here each
bootstrap draw resamples, in order (issue 26):

1. the repeats, with replacement (only when there are several);
2. within each chosen repeat, the **calibration identities** (one resample shared by its folds: a
   partition's folds share their calib people), and both fusions (base and boosted) are fitted again on
   the resampled calib clips, with the regression and prior weighting of
   :meth:`emoboost.models.fusion.Fusion.fit`;
3. the **test identities** (one resample shared by the repeat's folds), on which the refitted fusions are
   scored: the gain of the draw is the mean over folds of ``AUC(boosted) - AUC(base)``.

It needs the logits each fold's fusions were fitted and scored on (``FoldResult.logits``, kept since
this module exists); fold results without them get no interval, and say why. Draws in which a
resampled calib or test set loses a class are NaN and count against the valid share of
:data:`emoboost.metrics.INTERVAL_RULES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emoboost.benchmark.results import FoldResult
from emoboost.metrics import MIN_IDENTITIES, IdentityDraws, auc, both_classes, interval_from, too_small
from emoboost.models.fusion import Fusion, fit_logistic

INTERVAL = (
    "95 % percentile interval of a bootstrap that resamples repeats, then calibration identities (both fusions "
    "refitted on them), then test identities; each resample shared by the folds of its repeat"
)


class _Fold:
    """One fold's arrays for one (base, boosted) pair."""

    def __init__(self, result: FoldResult, base: tuple[str, ...], boosted: tuple[str, ...]):
        stored = result.logits or {}

        def matrix(split: str, inputs: tuple[str, ...]) -> np.ndarray:
            columns = [[np.nan if v is None else v for v in stored[split][i]] for i in inputs]
            return np.asarray(columns, np.float64).T.reshape(-1, len(inputs))

        self.calib_labels = np.asarray(stored["calib_labels"], int)
        self.calib_groups = np.asarray(stored["calib_groups"]).astype(str)
        self.test_labels = np.asarray(result.labels, int)
        self.test_groups = np.asarray(result.people).astype(str)
        self.sides = [(inputs, matrix("calib", inputs), matrix("test", inputs)) for inputs in (base, boosted)]

    def gain(self, calib_index: np.ndarray, test_index: np.ndarray) -> float:
        """``AUC(boosted) - AUC(base)`` with both fusions fitted on ``calib_index`` and scored on ``test_index``."""
        labels = self.test_labels[test_index]
        if not both_classes(labels):
            return float("nan")
        aucs = []
        for inputs, calib, test in self.sides:
            x, y = calib[calib_index], self.calib_labels[calib_index]
            complete = ~np.isnan(x).any(axis=1)
            if not both_classes(y[complete]):
                return float("nan")
            scored = test[test_index]
            if np.isnan(scored).any():  # a test clip missing a score: the subset fusions, as the benchmark scores it
                llrs = Fusion.fit(x, y, inputs).llr(scored)
            else:
                weights, bias = fit_logistic(x[complete], y[complete], 1.0, 0.5)
                llrs = scored @ np.asarray(weights) + bias
            aucs.append(auc(labels, llrs))
        return aucs[1] - aucs[0]


def refit_gain(
    repeats: Sequence[dict[str, FoldResult]],
    base: str,
    boosted: str,
    samples: int,
    seed: int = 0,
    categories: Sequence[str] | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """The mean gain over the folds (``categories``, default all) and its interval with the fusions refitted on
    resampled calibration people (module docstring); ``{"why": ...}`` without an interval where it cannot be
    computed."""
    chosen = [{c: r for c, r in folds.items() if categories is None or c in categories} for folds in repeats]
    chosen = [folds for folds in chosen if folds]
    if not chosen:
        return {}
    if any(r.logits is None for folds in chosen for r in folds.values()):
        return {"gain": None, "ci": None, "samples": 0,
                "why": "fold results from before their calib logits were kept: run the folds again"}  # fmt: skip
    if any(base not in r.fusions or boosted not in r.fusions for folds in chosen for r in folds.values()):
        return {}
    repeats_folds = [
        [_Fold(r, tuple(r.fusions[base]["inputs"]), tuple(r.fusions[boosted]["inputs"])) for r in folds.values()]
        for folds in chosen
    ]

    def everyone(fold: _Fold) -> tuple[np.ndarray, np.ndarray]:
        return np.arange(len(fold.calib_labels)), np.arange(len(fold.test_labels))

    value = float(np.mean([np.mean([f.gain(*everyone(f)) for f in folds]) for folds in repeats_folds]))
    rng = np.random.default_rng(seed)
    values = np.full(max(samples, 0), np.nan)
    for draw in range(max(samples, 0)):
        picked = rng.integers(0, len(repeats_folds), len(repeats_folds)) if len(repeats_folds) > 1 else [0]
        means = []
        for k in picked:
            folds = repeats_folds[int(k)]
            calib_draw = IdentityDraws([f.calib_groups for f in folds], 1, int(rng.integers(0, 2**31)))
            test_draw = IdentityDraws([f.test_groups for f in folds], 1, int(rng.integers(0, 2**31)))
            gains = [
                f.gain(
                    calib_draw.indices(0, calib_draw.members(f.calib_groups)),
                    test_draw.indices(0, test_draw.members(f.test_groups)),
                )
                for f in folds
            ]
            means.append(float(np.mean(gains)))  # NaN when any fold's draw lost a class
        values[draw] = float(np.mean(means))
    calib_people = min(len(np.unique(np.concatenate([f.calib_groups for f in folds]))) for folds in repeats_folds)
    test_people = min(len(np.unique(np.concatenate([f.test_groups for f in folds]))) for folds in repeats_folds)
    small = next((f"a test set has {s}" for folds in repeats_folds for f in folds
                  if (s := too_small(f.test_labels, f.test_groups))), None)  # fmt: skip
    if small is None and calib_people < MIN_IDENTITIES:
        small = f"{calib_people} calibration identities (an interval needs {MIN_IDENTITIES})"
    return {
        "gain": value,
        **interval_from(values, samples, level, small, test_people),
        "folds": sum(len(folds) for folds in repeats_folds),
        "repeats": len(repeats_folds),
        "calib_identities": calib_people,
        "interval": INTERVAL,
    }
