"""Benchmark reports: Markdown and CSV tables, ROC curves and score histograms (matplotlib PNG).

Published numbers of other methods ("anchors") are never typed into code: they are read from
``configs/benchmark/anchors.yaml`` and printed in their own, labelled block, only when the file
holds numbers together with their source.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from emoboost.cache import atomic_path, write_text_atomic
from emoboost.config import load_yaml, resolve_config
from emoboost.errors import ConfigError

METRIC_NAMES = {"auc": "AUC", "ap": "AP", "eer": "EER", "acc": "ACC", "ece": "ECE"}
DETECTOR_NAMES = {
    "emo": "EmoForensics",
    "rgb": "RGB (face crops)",
    "audio": "Acoustic (log-mel)",
    "lowlevel": "Low-level (RGB + acoustic)",
    "fusion": "EMO-BOOST (emo + RGB + acoustic)",
    "mean": "Mean of logits (baseline)",
}


def _fmt(value: float, scale: float = 100.0) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value * scale:.1f}"


def _table(summary: dict[str, Any], metric: str) -> list[str]:
    categories = list(summary["folds"])
    detectors = list(summary["average"])
    header = ["detector", *categories, "AVG", "AVG-FV"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for detector in detectors:
        cells = [DETECTOR_NAMES.get(detector, detector)]
        cells += [_fmt(summary["folds"][c][detector][metric]) for c in categories]
        cells += [_fmt(summary["average"][detector][metric]), _fmt(summary["avg_fv"].get(detector, {}).get(metric, float("nan")))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def anchors_block(path: Path) -> list[str]:
    """The labelled block of published numbers, or nothing when none are recorded (``configs/...`` is found
    among the packaged configs when the working directory has no such file)."""
    try:
        resolve_config(path)
    except ConfigError:  # no anchors file: nothing to print
        return []
    entries = [e for e in (load_yaml(path).get("anchors") or []) if e.get("auc")]
    if not entries:
        return []
    lines = ["", "### Published numbers (other papers, other protocols details may differ; not produced by this run)", ""]
    for entry in entries:
        cells = ", ".join(f"{k} {v}" for k, v in entry["auc"].items())
        lines.append(f"- {entry['method']} ({entry['source']}): AUC {cells}")
    return lines


def markdown(results: dict[str, Any], anchors: Path | None = None) -> str:
    dataset = results["benchmark"]
    lines = [f"# Cross-manipulation benchmark: {dataset}", ""]
    if "synthav" in dataset.lower():
        lines += ["**SynthAV is generated data: these numbers check the pipeline; they are not FakeAVCeleb results.**", ""]
    lines += [
        "Leave one manipulation category out: train on real clips + the other categories, test on held-out",
        "real identities + the held-out category. Video-level scores in percent. AVG-FV averages the four",
        "categories with a fake video (FVRA-WL, FVFA-FS, FVFA-GAN, FVFA-WL). Fusions and thresholds are",
        "fitted on validation clips of the training categories only.",
        "",
    ]
    for metric in ("auc", "ap"):
        lines += [f"## {METRIC_NAMES[metric]}", "", *_table(results, metric), ""]
    gain = results.get("gain")
    if gain:
        lines += [f"EMO-BOOST gain over the low-level detector: {gain['auc_average'] * 100:+.1f} AUC points on average, {gain['auc_avg_fv'] * 100:+.1f} on AVG-FV.", ""]
    lines += ["## Silence-trimmed test clips (leading silence removed)", "", *_table(results["trimmed"], "auc"), ""]
    lines += ["## Per fold (EER, accuracy at the stored threshold, calibration error; AUC 95 % bootstrap interval)", ""]
    for category, scores in results["folds"].items():
        lines.append(f"### {category}")
        lines += ["", "| detector | AUC [95 % CI] | EER | ACC | ECE | real / fake |", "|---|---|---|---|---|---|"]
        for detector, m in scores.items():
            low, high = m["auc_ci"]
            lines.append(
                f"| {DETECTOR_NAMES.get(detector, detector)} | {_fmt(m['auc'])} [{_fmt(low)}, {_fmt(high)}] | {_fmt(m['eer'])} | {_fmt(m['acc'])} | {_fmt(m['ece'])} | {m['n_real']} / {m['n_fake']} |"
            )
        lines += ["", f"![ROC {category}](roc_{category}.png) ![scores {category}](scores_{category}.png)", ""]
    if anchors is not None:
        lines += anchors_block(anchors)
    return "\n".join(lines) + "\n"


def csv_rows(results: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["variant", "fold", "detector", "auc", "ap", "eer", "acc", "ece", "auc_ci_low", "auc_ci_high", "n_real", "n_fake"])
    for variant, summary in (("original", results), ("silence_trimmed", results["trimmed"])):
        for category, scores in summary["folds"].items():
            for detector, m in scores.items():
                writer.writerow([variant, category, detector, *(f"{m[k]:.6f}" for k in ("auc", "ap", "eer", "acc", "ece")), f"{m['auc_ci'][0]:.6f}", f"{m['auc_ci'][1]:.6f}", m["n_real"], m["n_fake"]])
        for block in ("average", "avg_fv"):
            for detector, m in summary[block].items():
                writer.writerow([variant, block, detector, *(f"{m[k]:.6f}" for k in ("auc", "ap", "eer", "acc", "ece")), "", "", "", ""])
    return buffer.getvalue()


def plots(fold_results: dict[str, dict[str, Any]], out_dir: Path) -> list[Path]:
    """ROC curves of every detector and score histograms of EMO-BOOST, one pair of PNGs per fold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    written = []
    for category, result in fold_results.items():
        labels = np.asarray(result["labels"])
        figure, axis = plt.subplots(figsize=(5, 5))
        for detector, scores in result["metrics"].items():
            fpr, tpr, _ = roc_curve(labels, scores["probabilities"])
            axis.plot(fpr, tpr, label=f"{detector} ({scores['auc'] * 100:.1f})", linewidth=2.0 if detector == "fusion" else 1.0)
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
        axis.set(xlabel="false positive rate", ylabel="true positive rate", title=f"held out: {category}")
        axis.legend(loc="lower right", fontsize=8)
        written.append(_save(figure, out_dir / f"roc_{category}.png"))
        figure, axis = plt.subplots(figsize=(6, 3.5))
        probabilities = np.asarray(result["metrics"]["fusion"]["probabilities"])
        bins = np.linspace(0, 1, 21)
        axis.hist(probabilities[labels == 0], bins=bins, alpha=0.6, label="real")
        axis.hist(probabilities[labels == 1], bins=bins, alpha=0.6, label=f"fake ({category})")
        axis.axvline(result["fusions"]["fusion"]["threshold"], color="black", linestyle="--", linewidth=1, label="threshold")
        axis.set(xlabel="EMO-BOOST probability of fake", ylabel="clips", title=f"held out: {category}")
        axis.legend(fontsize=8)
        written.append(_save(figure, out_dir / f"scores_{category}.png"))
    return written


def _save(figure, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    with atomic_path(path) as part:
        figure.savefig(part, dpi=110)
    plt.close(figure)
    return path


def write_report(results: dict[str, Any], fold_results: dict[str, dict[str, Any]], out_dir: Path, anchors: Path | None = None) -> list[Path]:
    """``results.md``, ``results.csv`` and the PNGs into ``out_dir``."""
    write_text_atomic(out_dir / "results.md", markdown(results, anchors))
    write_text_atomic(out_dir / "results.csv", csv_rows(results))
    return [out_dir / "results.md", out_dir / "results.csv", *plots(fold_results, out_dir)]
