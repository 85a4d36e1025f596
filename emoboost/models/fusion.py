"""EMO-BOOST: fusion of detector logits into a calibrated log-likelihood ratio, and the decision on it.

``Fusion.fit`` takes the calibration logits of the detectors (any subset of emo, rgb, audio,
external) and fits a prior-weighted logistic regression (as the BOSARIS / FoCal toolkits do):
real and fake clips are weighted so that together they count as a set with the prior
``weight_prior`` (0.5 by default) whatever the calibration set's own class balance, and that
prior's log-odds is removed from the output. The output is then a natural-log likelihood ratio
(LLR): ``log P(scores | fake) / P(scores | real)``, and the posterior probability of fake at a
prior ``p`` is ``sigmoid(llr + logit(p))``.

The decision is made on the LLR. By default it is the Bayes decision at the stated prior with
equal costs (fake when the posterior is at least 0.5, i.e. ``llr >= -logit(prior)``); with
``target_fpr`` it is the lowest LLR threshold whose false-positive rate on the calibration clips
stays at or below the target. The calibration LLRs of both classes are kept, so the
calibration FPR / TPR of any threshold (any prior) can be stated in a verdict's provenance.
The benchmark fits fusions only on calibration clips of the training categories, never on the
held-out category. ``Fusion.mean`` is the uncalibrated baseline (mean of logits; its
"LLR" is not calibrated), thresholded at its EER point.

A clip can lack a score (no face crop for the RGB detector: an audio-only verdict). Counting the
missing logit as 0 is not neutral for a fitted fusion (0 is a score like any other, and the
weights were fitted with that input present), so ``Fusion.fit`` also fits a **subset fusion**
for every proper subset of the inputs, on the calibration clips that have those scores, with the
same regularisation and prior weighting: a clip missing some scores gets the LLR of the scores it
has, calibrated as such (it assumes that a score's absence says nothing about the label). Each
subset keeps its ELUB and the range of its calibration LLRs. A clip with no score at all gets LLR
0 (no evidence). A fusion stored without subsets (before they existed) falls back to logit 0.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from emoboost.calibration import elub_bounds
from emoboost.errors import ConfigError
from emoboost.metrics import both_classes, eer

FUSION_FORMAT = "emoboost.fusion/2"
OLD_FORMATS = ("emoboost.fusion/1",)
LLR_DECIMALS = 4  # calibration LLRs stored in fusion.json


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def logit(p: float) -> float:
    """``log(p / (1 - p))`` for ``0 < p < 1``."""
    return math.log(p / (1.0 - p))


def bayes_threshold(prior: float) -> float:
    """The LLR above which the posterior P(fake) at ``prior`` is at least 0.5 (equal costs)."""
    if not 0.0 < prior < 1.0:
        raise ConfigError(f"prior must be strictly between 0 and 1, not {prior}")
    return 0.0 - logit(prior) + 0.0  # + 0.0: no negative zero at prior 0.5


def rates_at(real_llrs: np.ndarray, fake_llrs: np.ndarray, threshold: float) -> tuple[float, float]:
    """``(FPR, TPR)``: shares of real / fake LLRs at or above ``threshold`` (NaN for an empty class)."""
    real, fake = np.asarray(real_llrs, np.float64), np.asarray(fake_llrs, np.float64)
    fpr = float((real >= threshold).mean()) if len(real) else float("nan")
    tpr = float((fake >= threshold).mean()) if len(fake) else float("nan")
    return fpr, tpr


def choose_threshold(
    labels: np.ndarray, scores: np.ndarray, target_fpr: float | None = None
) -> tuple[float, dict[str, Any]]:
    """Threshold on ``scores`` (EER point, or the lowest threshold with FPR <= target) and its operating point."""
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, np.float64)
    if not both_classes(labels):
        raise ConfigError("choosing a threshold needs real and fake calibration clips")
    if target_fpr is None:
        _, threshold = eer(labels, scores)
    else:
        real = np.sort(scores[labels == 0])
        allowed = int(np.floor(target_fpr * len(real)))  # real clips allowed above the threshold
        threshold = (
            float(np.nextafter(real[len(real) - allowed - 1], np.inf)) if allowed < len(real) else float(real.min())
        )
    threshold = float(np.clip(threshold, -1e6, 1e6))  # roc_curve's first threshold is +inf
    fpr, tpr = rates_at(scores[labels == 0], scores[labels == 1], threshold)
    point = {
        "rule": "EER point" if target_fpr is None else f"FPR <= {target_fpr:g}",
        "fpr": fpr,
        "tpr": tpr,
        "val_clips": len(labels),
    }
    return threshold, point


def decision_rule(labels: np.ndarray, llrs: np.ndarray, target_fpr: float | None) -> tuple[float, dict[str, Any]]:
    """The LLR threshold and its calibration operating point: Bayes at prior 0.5 (LLR 0), or the lowest threshold
    whose calibration FPR meets ``target_fpr``."""
    if target_fpr is not None:
        return choose_threshold(labels, llrs, target_fpr)
    threshold = bayes_threshold(0.5)
    fpr, tpr = rates_at(llrs[labels == 0], llrs[labels == 1], threshold)
    return threshold, {"rule": "bayes", "fpr": fpr, "tpr": tpr, "val_clips": len(labels)}


@dataclasses.dataclass(frozen=True)
class Fusion:
    """``llr = weights . logits + bias`` (natural log); ``label = fake`` when ``llr >= decision_threshold(prior)``.

    ``llr_threshold`` is fixed for the rules "FPR <= x" and "EER point"; for the rule "bayes" it is the
    Bayes threshold at prior 0.5 (0.0) and :meth:`decision_threshold` moves it with the prior.
    """

    inputs: tuple[str, ...]  # detector names, in the order of the logit columns
    weights: tuple[float, ...]
    bias: float
    llr_threshold: float
    operating_point: dict[str, Any]  # rule, calibration FPR / TPR at the threshold (prior 0.5), clips
    method: str = "logistic"  # or "mean" (baseline)
    calibration: dict[str, Any] = dataclasses.field(
        default_factory=dict, compare=False
    )  # real / fake LLRs, weight_prior
    subsets: dict[str, dict[str, Any]] = dataclasses.field(
        default_factory=dict, compare=False
    )  # "rgb+acoustic" -> weights, bias, elub, range, clips: the fusion of the scores a clip has

    @classmethod
    def fit(
        cls,
        logits: np.ndarray,
        labels: np.ndarray,
        inputs: Sequence[str],
        target_fpr: float | None = None,
        regularisation: float = 1.0,
        weight_prior: float = 0.5,
    ) -> Fusion:
        """Fit on calibration logits ``[N, len(inputs)]`` (rows with a missing logit are dropped).

        Each class gets a total weight proportional to ``weight_prior`` / ``1 - weight_prior`` (the
        weights average 1, so ``regularisation`` keeps scikit-learn's meaning of C); the output is
        the fitted log-odds minus ``logit(weight_prior)``: an LLR, free of the set's class balance.
        """
        all_logits, all_labels = np.atleast_2d(np.asarray(logits, np.float64)), np.asarray(labels).astype(int)
        logits, labels = _complete(all_logits, all_labels, inputs)
        weights, bias = fit_logistic(logits, labels, regularisation, weight_prior)
        llrs = np.round(logits @ np.asarray(weights) + bias, LLR_DECIMALS)  # as stored: thresholds agree with them
        threshold, point = decision_rule(labels, llrs, target_fpr)
        subsets = {}
        for columns in _proper_subsets(len(inputs)):
            have = ~np.isnan(all_logits[:, columns]).any(axis=1)
            if not both_classes(all_labels[have]):
                continue  # no calibration for this subset: such clips fall back to logit 0 (said in warnings)
            part, part_labels = all_logits[have][:, columns], all_labels[have]
            sub_weights, sub_bias = fit_logistic(part, part_labels, regularisation, weight_prior)
            sub_llrs = np.round(part @ np.asarray(sub_weights) + sub_bias, LLR_DECIMALS)
            subsets[_key(inputs, columns)] = _subset_record(sub_weights, sub_bias, sub_llrs, part_labels)
        return cls(
            tuple(inputs),
            weights,
            bias,
            threshold,
            point,
            calibration=calibration_record(llrs, labels, weight_prior),
            subsets=subsets,
        )

    @classmethod
    def mean(
        cls, logits: np.ndarray, labels: np.ndarray, inputs: Sequence[str], target_fpr: float | None = None
    ) -> Fusion:
        """The baseline: mean of the logits (not calibrated), thresholded at the EER point or the target FPR."""
        logits, labels = _complete(logits, labels, inputs)
        weights = tuple(1.0 / len(inputs) for _ in inputs)
        scores = np.round(logits @ np.asarray(weights), LLR_DECIMALS)
        threshold, point = choose_threshold(labels, scores, target_fpr)
        subsets = {  # the mean of the logits a clip has
            _key(inputs, columns): {"weights": [1.0 / len(columns)] * len(columns), "bias": 0.0}
            for columns in _proper_subsets(len(inputs))
        }
        return cls(
            tuple(inputs),
            weights,
            0.0,
            threshold,
            point,
            method="mean",
            calibration=calibration_record(scores, labels, None),
            subsets=subsets,
        )

    # -- outputs -----------------------------------------------------------------------------
    def llr(self, logits: np.ndarray) -> np.ndarray:
        """Natural-log likelihood ratios ``[N]`` from logits ``[N, len(inputs)]``. A clip missing some logits (NaN)
        gets its subset's fusion (module docstring); none at all, 0; a subset without a fit, the missing logits as 0.
        """
        logits = np.atleast_2d(np.asarray(logits, np.float64))
        missing = np.isnan(logits)
        out = np.nan_to_num(logits, nan=0.0) @ np.asarray(self.weights) + self.bias
        for pattern in {tuple(row) for row in missing[missing.any(axis=1)]}:
            rows = (missing == np.array(pattern)).all(axis=1)
            present = [name for name, gone in zip(self.inputs, pattern, strict=True) if not gone]
            fitted = self.subset(present)
            if not present:
                out[rows] = 0.0
            elif fitted is not None:
                columns = [i for i, gone in enumerate(pattern) if not gone]
                out[rows] = logits[rows][:, columns] @ np.asarray(fitted["weights"], np.float64) + fitted["bias"]
        return out

    def subset(self, present: Sequence[str]) -> dict[str, Any] | None:
        """The fusion of the inputs ``present`` (weights in the inputs' order, bias, and where fitted its ELUB,
        calibration LLR range and clips); the full fusion for every input; None where no subset was fitted."""
        names = [name for name in self.inputs if name in set(present)]
        if len(names) == len(self.inputs):
            real, fake = self.calibration_llrs()
            record: dict[str, Any] = {"weights": list(self.weights), "bias": self.bias}
            if len(real) and len(fake):
                record["range"] = [float(min(real.min(), fake.min())), float(max(real.max(), fake.max()))]
                record["clips"] = [len(real), len(fake)]
            return record
        return self.subsets.get("+".join(names)) if names else None

    def probability(self, logits: np.ndarray, prior: float = 0.5) -> np.ndarray:
        """Posterior probabilities of fake ``[N]`` at ``prior`` (0.5: the LR expressed as a probability)."""
        return sigmoid(self.llr(logits) + logit(prior))

    @property
    def threshold(self) -> float:
        """The decision threshold at prior 0.5 as a probability (for code that thresholds :meth:`probability`)."""
        return float(sigmoid(np.array(self.decision_threshold(0.5))))

    def decision_threshold(self, prior: float = 0.5, target_fpr: float | None = None) -> float:
        """The LLR threshold at ``prior``: Bayes (equal costs), the stored one, or the one meeting ``target_fpr``."""
        if target_fpr is not None:
            real, fake = self.calibration_llrs()
            if not len(real):
                raise ConfigError(
                    "this fusion stores no calibration LLRs: it cannot choose a threshold for --target-fpr"
                )
            labels = np.r_[np.zeros(len(real)), np.ones(len(fake))]
            return choose_threshold(labels, np.r_[real, fake], target_fpr)[0]
        if self.operating_point.get("rule") == "bayes":
            return bayes_threshold(prior)
        bayes_threshold(prior)  # validates the prior
        return self.llr_threshold

    def calibration_llrs(self) -> tuple[np.ndarray, np.ndarray]:
        """The calibration clips' LLRs ``(real, fake)`` (empty when not stored)."""
        return np.asarray(self.calibration.get("real", ()), np.float64), np.asarray(
            self.calibration.get("fake", ()), np.float64
        )

    def llr_bounds(self, present: Sequence[str] | None = None) -> tuple[float, float] | None:
        """The ELUB of the calibration LLRs (:func:`emoboost.calibration.elub_bounds`): the natural-log LLRs the
        calibration clips can support; None when they are not stored for both classes. (The fusion was fitted on
        the same clips, so the bounds are if anything generous.) With ``present`` (the inputs a clip has), the
        ELUB of that subset's fusion; ``(0, 0)`` for a clip with no score."""
        if present is not None and len([n for n in self.inputs if n in set(present)]) < len(self.inputs):
            fitted = self.subset(present)
            if not any(n in set(present) for n in self.inputs):
                return 0.0, 0.0
            elub = None if fitted is None else fitted.get("elub")
            return None if elub is None else (float(elub[0]), float(elub[1]))
        stored = self.calibration.get("elub")
        if isinstance(stored, list | tuple) and len(stored) == 2 and all(isinstance(v, int | float) for v in stored):
            low, high = float(stored[0]), float(stored[1])
            if math.isfinite(low) and math.isfinite(high) and low <= 0 <= high:
                return low, high
        real, fake = self.calibration_llrs()
        if not len(real) or not len(fake):
            return None
        return elub_bounds(np.r_[np.zeros(len(real)), np.ones(len(fake))], np.r_[real, fake])

    def contributions(self, logits: Sequence[float]) -> dict[str, float]:
        """Each input's share of the fused LLR (``weight x logit``, with the subset fusion's weights when a logit is
        missing; a missing logit's share is 0) and the ``bias``: they add up to :meth:`llr` of the same logits."""
        values = np.asarray(logits, np.float64)
        present = [name for name, v in zip(self.inputs, values, strict=True) if not math.isnan(v)]
        fitted = self.subset(present)
        if not present:
            return {**{name: 0.0 for name in self.inputs}, "bias": 0.0}
        if fitted is None:  # no subset fitted: the missing logits count as 0
            fitted = {"weights": list(self.weights), "bias": self.bias}
            present = list(self.inputs)
        weight = dict(zip(present, fitted["weights"], strict=True))
        shares = {
            name: 0.0 if math.isnan(v) else float(weight[name] * v) for name, v in zip(self.inputs, values, strict=True)
        }
        return {**shares, "bias": float(fitted["bias"])}

    def operating_point_at(self, threshold: float) -> dict[str, Any]:
        """Calibration FPR / TPR at an LLR threshold, and the clip counts they come from."""
        real, fake = self.calibration_llrs()
        fpr, tpr = rates_at(real, fake, threshold)
        return {
            "fpr": None if math.isnan(fpr) else fpr,
            "tpr": None if math.isnan(tpr) else tpr,
            "real_clips": len(real),
            "fake_clips": len(fake),
        }

    # -- persistence -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``threshold`` (probability at prior 0.5) is written for readers that plot probabilities."""
        data = {
            "format": FUSION_FORMAT,
            **dataclasses.asdict(self),
            "inputs": list(self.inputs),
            "weights": list(self.weights),
        }
        return {**data, "threshold": self.threshold}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fusion:
        """Read a ``to_dict()``; a fusion from before calibrated LLRs (format 1) is refused with the way out."""
        found = data.get("format")
        if found in OLD_FORMATS:
            raise ConfigError(
                f"fusion format {found!r} outputs probabilities at its validation set's class balance, "
                "not likelihood ratios; "
                "retrain the detector (`emoboost train`, or delete the detector folder and rerun `emoboost quickstart`)"
            )
        if found != FUSION_FORMAT:
            raise ConfigError(f"fusion format {found!r}, expected {FUSION_FORMAT!r}")
        return cls(
            tuple(data["inputs"]),
            tuple(data["weights"]),
            float(data["bias"]),
            float(data["llr_threshold"]),
            dict(data["operating_point"]),
            data.get("method", "logistic"),
            dict(data.get("calibration", {})),
            _read_subsets(data.get("subsets", {}), tuple(data["inputs"])),
        )


def calibration_record(llrs: np.ndarray, labels: np.ndarray, weight_prior: float | None) -> dict[str, Any]:
    """The calibration LLRs of both classes (sorted, rounded as stored), the weight prior and their ELUB."""

    def rounded(values: np.ndarray) -> list[float]:
        return [round(float(v), LLR_DECIMALS) for v in np.sort(values)]

    data: dict[str, Any] = {
        "real": rounded(llrs[labels == 0]),
        "fake": rounded(llrs[labels == 1]),
        "weight_prior": weight_prior,
    }
    if (labels == 0).any() and (labels == 1).any():  # what these clips can support (stored with the detector)
        data["elub"] = [round(v, LLR_DECIMALS) for v in elub_bounds(labels, llrs)]
    return data


def fit_logistic(
    logits: np.ndarray, labels: np.ndarray, regularisation: float, weight_prior: float
) -> tuple[tuple[float, ...], float]:
    """Prior-weighted logistic regression: weights and the LLR bias (the fitted log-odds minus the prior's).

    It minimises scikit-learn's objective for ``LogisticRegression(C=regularisation)`` (the sample-weighted log
    loss plus ``|w|^2 / (2 C)``, the intercept not penalised) by Newton's method, to the optimum rather than to
    lbfgs' tolerance (tests/models/test_fusion.py compares the two): a fusion of four inputs fits 14 subset fusions
    besides itself, and scikit-learn's per-call overhead made that 0.85 s where these few features need a few ms.
    """
    x = np.hstack([np.asarray(logits, np.float64), np.ones((len(labels), 1))])
    y = np.asarray(labels, np.float64)
    n_fake, n_real = int(labels.sum()), int((labels == 0).sum())
    weight = np.where(labels == 1, weight_prior * len(labels) / n_fake, (1 - weight_prior) * len(labels) / n_real)
    penalty = np.r_[np.full(x.shape[1] - 1, 1.0 / regularisation), 0.0]

    def objective(theta: np.ndarray) -> float:
        z = x @ theta
        return float(weight @ (np.logaddexp(0.0, z) - y * z) + 0.5 * penalty @ theta**2)

    theta = np.zeros(x.shape[1])
    current = objective(theta)
    for _ in range(100):
        p = sigmoid(x @ theta)
        gradient = x.T @ (weight * (p - y)) + penalty * theta
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-12 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-8 and objective(theta - scale * step) > current + 1e-12 * abs(current):
            scale /= 2  # damped: separable calibration sets stay finite through the penalty, and converge
        theta = theta - scale * step
        current = objective(theta)
        if float(np.abs(scale * step).max()) < 1e-10:
            break
    return tuple(float(w) for w in theta[:-1]), float(theta[-1]) - logit(weight_prior)


def _proper_subsets(n: int) -> list[list[int]]:
    """Column indices of every non-empty proper subset of ``n`` inputs (none for one input)."""
    return [[i for i in range(n) if mask >> i & 1] for mask in range(1, (1 << n) - 1)]


def _key(inputs: Sequence[str], columns: Sequence[int]) -> str:
    return "+".join(inputs[i] for i in columns)


def _subset_record(weights: Sequence[float], bias: float, llrs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    return {
        "weights": [float(w) for w in weights],
        "bias": float(bias),
        "elub": [round(v, LLR_DECIMALS) for v in elub_bounds(labels, llrs)],
        "range": [float(llrs.min()), float(llrs.max())],
        "clips": [int((labels == 0).sum()), int((labels == 1).sum())],
    }


def _read_subsets(data: Any, inputs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Stored subset fusions, checked: each key names inputs of the fusion, in order, with one weight each."""
    if not isinstance(data, dict):
        raise ConfigError(f"fusion subsets must be a mapping, not {type(data).__name__}")
    out = {}
    for key, record in data.items():
        names = str(key).split("+")
        weights = record.get("weights") if isinstance(record, dict) else None
        if (
            [n for n in inputs if n in names] != names
            or not isinstance(weights, list)
            or len(weights) != len(names)
            or not all(isinstance(w, int | float) and math.isfinite(w) for w in [*weights, record.get("bias")])
        ):
            raise ConfigError(f"fusion subset {key!r} does not fit the fusion's inputs {list(inputs)}")
        out[str(key)] = dict(record)
    return out


def _complete(logits: np.ndarray, labels: np.ndarray, inputs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    logits, labels = np.atleast_2d(np.asarray(logits, np.float64)), np.asarray(labels).astype(int)
    if logits.shape != (len(labels), len(inputs)):
        raise ConfigError(f"fusion: logits of shape {logits.shape} for {len(labels)} clips and {len(inputs)} inputs")
    keep = ~np.isnan(logits).any(axis=1)
    if not both_classes(labels[keep]):
        raise ConfigError("fusion needs real and fake calibration clips with every logit")
    return logits[keep], labels[keep]
