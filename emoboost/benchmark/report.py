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

from emoboost.benchmark.provenance import provenance_lines
from emoboost.benchmark.results import BenchmarkResult, FoldResult
from emoboost.calibration import save_validation_plots
from emoboost.config import load_yaml, resolve_config
from emoboost.data.manifest import CATEGORIES
from emoboost.errors import ConfigError
from emoboost.files import atomic_path, write_text_atomic
from emoboost.metrics import MIN_CLIPS_PER_CLASS
from emoboost.models.networks import DISPLAY_NAMES, NETWORK_NAMES
from emoboost.text import printable

METRIC_NAMES = {"auc": "AUC", "ap": "AP", "eer": "EER", "acc": "ACC", "ece": "ECE"}
DETECTOR_NAMES = {
    **DISPLAY_NAMES,
    "lowlevel": "Low-level (RGB + acoustic)",
    "fusion": "EMO-BOOST (emo + RGB + acoustic)",
    "lowlevel_mixture": "Low-level, mixture fusion (video or audio)",
    "fusion_mixture": "EMO-BOOST, mixture fusion (video or audio)",
    "mean": "Mean of logits (baseline)",
    "best_single": "Best single component (oracle, per fold)",
    "lowlevel_ensemble": "Low-level x 2 seeds (equal-capacity ensemble)",
    "shortcut": "Shortcut only (lead-in silence + duration)",
    "consistency": "Consistency (real-only)",
    "probe_disagreement": "Probe disagreement (floor; needs emotion labels)",
    "lowlevel+consistency": "Low-level + consistency",
    "fusion+consistency": "EMO-BOOST + consistency",
}
VARIANT_NAMES = {"trimmed": "test clips trimmed", "trimmed_trained": "train and test clips trimmed"}


def _fmt(value: float, scale: float = 100.0) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value * scale:.1f}"


def _bits(value: float | None) -> str:
    """Cllr values (bits; 0 perfect, 1 an uninformative system) with three decimals."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def _with_interval(entry: dict[str, Any], metric: str, reasons: list[str]) -> str:
    """``value [low, high]``, or ``value (no interval N)`` with the reason appended to ``reasons``."""
    value = _fmt(entry.get(metric, float("nan")))
    if f"{metric}_ci" not in entry:
        return value
    ci, why = entry[f"{metric}_ci"], entry.get(f"{metric}_ci_why")
    if ci is not None:
        return f"{value} [{_fmt(ci[0])}, {_fmt(ci[1])}]"
    if why not in reasons:
        reasons.append(why or "not computed")
    return f"{value} (no interval {reasons.index(why or 'not computed') + 1})"


def _reasons(reasons: list[str]) -> list[str]:
    return ["", *(f"No interval {i}: {text}." for i, text in enumerate(reasons, 1))] if reasons else []


def _table(summary: dict[str, Any], metric: str, avg_fv: bool = True) -> list[str]:
    """One row per detector: the metric per held-out category, then AVG and AVG-FV with their intervals (no AVG-FV
    column when ``avg_fv`` is False: test sets without FakeAVCeleb's fake-video categories)."""
    categories = list(summary["folds"])
    detectors = list(summary["average"])
    header = ["detector", *categories, "AVG [95 % CI]", *(["AVG-FV [95 % CI]"] if avg_fv else [])]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    reasons: list[str] = []
    for detector in detectors:
        cells = [DETECTOR_NAMES.get(detector, detector)]
        cells += [_fmt(summary["folds"][c][detector][metric]) for c in categories]
        cells.append(_with_interval(summary["average"][detector], metric, reasons))
        if avg_fv:
            cells.append(
                _with_interval(summary["avg_fv"][detector], metric, reasons) if detector in summary["avg_fv"] else "n/a"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return lines + _reasons(reasons)


def anchors_block(path: Path) -> list[str]:
    """The labelled block of published numbers (AUC per category), or nothing when none are recorded
    (``configs/...`` is found among the packaged configs when the working directory has no such file)."""
    try:
        resolve_config(path)
    except ConfigError:  # no anchors file: nothing to print
        return []
    data = load_yaml(path)
    methods = [m for m in (data.get("methods") or []) if m.get("auc")]
    if not methods:
        return []
    columns = [*CATEGORIES, "AVG-FV"]
    lines = [
        "",
        "## Published numbers (other papers; not produced by this run, not comparable row by row)",
        "",
        f"Source: {data.get('source', '?')}.",
        f"Protocol: {data.get('protocol', '?')}",
        "",
        "| method | modality | pretrained | supervised | " + " | ".join(columns) + " |",
        "|" + "---|" * (4 + len(columns)),
    ]
    for m in methods:
        cells = [str(m["auc"].get(c, "-")) for c in columns]
        lines.append(
            f"| {m['method']} | {m.get('modality', '')} | {m.get('pretrained', '')} | "
            f"{'yes' if m.get('supervised') else 'no'} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "AUC in percent as printed in the source; '-': not reported (visual-only methods on audio-only fakes).",
    ]
    return lines


def _pm(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value * 100:+.1f}"


def _interval(entry: dict[str, Any]) -> str:
    """A gain's ``[low, high]``, or why it has none (``ci`` None, ``why`` the reason)."""
    ci = entry.get("ci")
    if ci is None:
        return f"(no interval: {entry.get('why') or 'not computed'})"
    return f"[{_pm(ci[0])}, {_pm(ci[1])}]"


def gain_lines(
    gain: dict[str, Any],
    added: str = "EmoForensics",
    title: str = "Gain",
    sets: str = "folds",
    column: str = "held out",
) -> list[str]:
    """The headline sentence with its interval and the per-fold gain table (``sets``: what the averaged test sets
    are called, ``column``: the table's first column; a cross-dataset report's are the test set's categories)."""
    if not gain:
        return []
    base, boosted = DETECTOR_NAMES.get(gain["base"], gain["base"]), DETECTOR_NAMES.get(gain["boosted"], gain["boosted"])
    average, fv = gain["average"], gain.get("avg_fv") or {}
    sentence = (
        f"**Gain of adding {added} to {base}: {_pm(average['gain'])} AUC points on average over "
        f"{average['folds']} {sets}, "
        f"95 % interval {_interval(average)}"
    )
    if fv:
        sentence += f"; AVG-FV {_pm(fv['gain'])} {_interval(fv)}"
    lines = [f"## {title} (boosted minus base, same test clips)", "", sentence + ".**", ""]
    lines += [
        f"Boosted = {boosted}; base = {base}. Intervals: {gain['interval']}; they show how the gain varies with",
        "the people in the test set, not with retraining (see repeats) nor with the calibration people (see below).",
        f"Rules: {gain.get('interval_rules', '')}.",
        *(
            [
                "With identities drawn independently per fold (the former method, which ignores that the folds share",
                f"their test people) the average's interval would read {_interval({'ci': average['ci_independent']})}.",
            ]
            if average.get("ci_independent") and average["folds"] > 1
            else []
        ),
        "",
        f"| {column} | base AUC | boosted AUC | gain [95 % CI] | test identities |",
        "|---|---|---|---|---|",
    ]
    for category, fold in gain["folds"].items():
        lines.append(
            f"| {category} | {_fmt(fold['base_auc'])} | {_fmt(fold['boosted_auc'])} | "
            f"{_pm(fold['gain'])} {_interval(fold)} | {fold['test_identities']} |"
        )
    for key, variant in gain.get("variants", {}).items():
        if variant:
            lines.append(
                f"\n{VARIANT_NAMES[key]}: gain {_pm(variant['average']['gain'])} "
                f"{_interval(variant['average'])} on average."
            )
    refit = (gain.get("refit") or {}).get("average") or {}
    if refit:
        shown = _interval(refit) if refit.get("gain") is not None else f"(no interval: {refit.get('why')})"
        lines += [
            "",
            f"With the fusions also refitted on resampled calibration people ({refit.get('calib_identities', '?')} "
            f"identities; {refit.get('interval', '')}): average gain interval {shown}"
            + (
                f", AVG-FV {_interval(gain['refit']['avg_fv'])}"
                if (gain["refit"].get("avg_fv") or {}).get("gain") is not None
                else ""
            )
            + ". This interval covers who the fusion weights were fitted on; the one above does not.",
        ]
    repeats = gain.get("repeats")
    if repeats:
        pooled = repeats["pooled_average"]
        lines += [
            "",
            f"Over {repeats['n']} repeats (re-drawn identity partitions and training seeds): "
            f"mean gain {_pm(repeats['average']['mean'])} (standard deviation {repeats['average']['std'] * 100:.1f}); "
            f"pooled interval {_interval(pooled)} ({repeats.get('interval', 'paired bootstrap')}).",
        ]
    return [*lines, ""]


def baselines_lines(results: dict[str, Any]) -> list[str]:
    """What each baseline row rules out, with its AVG AUC beside EMO-BOOST's."""
    average, folds = results.get("average", {}), results.get("folds", {})
    if "fusion" not in average:
        return []

    def avg(row: str, summary: dict[str, Any] = results) -> str:
        return _fmt(summary.get("average", {}).get(row, {}).get("auc", float("nan")))

    lines = ["## Baselines (what each rules out)", "", f"EMO-BOOST: AVG AUC {avg('fusion')}.", ""]
    if "best_single" in average:
        wins = sum(f["fusion"]["auc"] > f["best_single"]["auc"] for f in folds.values() if "best_single" in f)
        chosen = ", ".join(f"{c} {f['best_single']['chosen']}" for c, f in folds.items() if "best_single" in f)
        among = "EmoForensics, RGB, acoustic" + (", consistency" if "consistency" in average else "")
        lines.append(
            f"- **Best single component** (per fold the one of {among} "
            f"with the highest test AUC; chosen on the test clips, so optimistic): AVG {avg('best_single')}; "
            f"EMO-BOOST beats it on {wins} of {len(folds)} folds ({chosen}). A fusion that does not beat it adds "
            "nothing over picking one detector."
        )
    if "mean" in average:
        lines.append(
            f"- **Mean of logits** (no fitted weights, no calibration): AVG {avg('mean')}. Where it matches "
            "EMO-BOOST, the fitted fusion adds nothing over averaging; where it beats it, the fusion's calib fit "
            "does not transfer to the held-out category."
        )
    if "shortcut" in average:
        trimmed = results.get("trimmed", {})
        lines.append(
            f"- **Shortcut only** (logistic regression on the seconds of leading silence by level and by VAD and on "
            f"the clip's duration; nothing else): AVG {avg('shortcut')} as recorded"
            + (f", {avg('shortcut', trimmed)} on silence-trimmed test clips" if trimmed else "")
            + ". A detector no better than it reads nothing the lead-in and length do not give away; about 50 "
            "after trimming means the trimming removed that shortcut."
        )
    if "lowlevel_ensemble" in average and "lowlevel" in average:
        ensemble = average["lowlevel_ensemble"]["auc"] - average["lowlevel"]["auc"]
        boosted = average["fusion"]["auc"] - average["lowlevel"]["auc"]
        lines.append(
            f"- **Equal-capacity ensemble** (the low-level pair fused with a second RGB + acoustic pair trained at "
            f"another seed): AVG {avg('lowlevel_ensemble')}, {_pm(ensemble)} over low-level against EMO-BOOST's "
            f"{_pm(boosted)}. Where EMO-BOOST gains no more than a second low-level seed does, its gain is variance "
            "reduction (any second model helps), not a cue the low-level detectors lack."
        )
    else:
        lines.append(
            "- **Equal-capacity ensemble**: not run (`benchmark.ensemble_baseline: false`), so this report cannot "
            "tell complementarity from variance reduction."
        )
    return [*lines, ""]


def inputs_lines(results: dict[str, Any]) -> list[str]:
    """Clips without features per split and category, and dropped duplicate files."""
    lines = ["## Inputs", "", "| held out | split | clips without features / clips |", "|---|---|---|"]
    for category, splits in results.get("missing", {}).items():
        for split, counts in splits.items():
            lost, total = sum(v[0] for v in counts.values()), sum(v[1] for v in counts.values())
            detail = ", ".join(f"{c} {v[0]}" for c, v in counts.items() if v[0])
            lines.append(f"| {category} | {split} | {lost} / {total}{f' ({detail})' if detail else ''} |")
    for category, dropped in results.get("dropped_duplicates", {}).items():
        for entry in dropped:
            lines.append(
                f"\nfold {category}: dropped {', '.join(entry['paths'])} "
                f"(one file listed as {' and '.join(entry['categories'])})"
            )
    return [*lines, ""]


def controls_lines(results: dict[str, Any]) -> list[str]:
    """The alignment-shuffle control of every EmoForensics row, per fold (see :mod:`emoboost.benchmark.controls`)."""
    folds = {c: v.get("alignment_shuffle", {}) for c, v in results.get("controls", {}).items()}
    if not any(folds.values()):
        return []
    lines = [
        "## Control: face-voice alignment shuffle",
        "",
        "Real test clips scored as recorded and with their voice taken from another real test identity's",
        "clip. AUC real vs re-paired real: 50 means the score ignores the pairing. A row that reads one",
        "modality only sits at 50 by construction (a check of the control itself).",
        "",
        "| held out | detector | AUC real vs re-paired | mean score rise | clips whose score rose | clips |",
        "|---|---|---|---|---|---|",
    ]
    for category, rows in folds.items():
        for detector, c in rows.items():
            lines.append(
                f"| {category} | {DETECTOR_NAMES.get(detector, detector)} | {_fmt(c['auc'])} | "
                f"{c['mean_rise']:+.3f} | {_fmt(c['share_risen'])} % | {c['clips']} |"
            )
    return [*lines, ""]


PAIRING_TITLES = {
    "cross_identity": "another test identity's voice",
    "same_identity": "the same person's other recording's voice",
    "shift": "its own voice shifted by half the clip (>= 1 s)",
    "revoiced": (
        "the same recording re-voiced with another emotion per phrase (SynthAV v3 RVFA-EMO: same video, words, "
        "timing and speaker; clips of their own, so every row is scored, single-modality ones too)"
    ),
}


def pairing_lines(results: dict[str, Any]) -> list[str]:
    """The pairing controls of every fused row that reads face and voice (see
    :func:`emoboost.benchmark.controls.fold_pairing_controls`): AUC real vs re-paired per fold and on average."""
    folds = {c: v.get("pairing", {}) for c, v in results.get("controls", {}).items()}
    controls = [k for k in PAIRING_TITLES if any(k in v for v in folds.values())]
    if not controls:
        return []
    categories = list(folds)
    lines = [
        "## Controls: the same real faces with another voice, for every row that reads both",
        "",
        "Real test clips scored as recorded and re-paired; AUC real vs re-paired on the row's fused LLR (50: the",
        "row ignores the pairing), then the share of clips whose LLR rose. On features: the acoustic detector",
        "scores a replaced voice as it scored that voice's own clip, RGB the face as before; EmoForensics and",
        "the consistency detector score the new pairing. The low-level row reads both modalities but not",
        "their pairing, so it should sit near 50 (a check of the control).",
        "",
    ]
    for control in controls:
        names = list(dict.fromkeys(row for v in folds.values() for row in v.get(control, {})))
        lines += [
            f"**{PAIRING_TITLES[control]}**",
            "",
            "| row | " + " | ".join(categories) + " | mean | risen (mean) |",
            "|---|" + "---|" * (len(categories) + 2),
        ]
        for name in names:
            cells = [folds[c].get(control, {}).get(name) for c in categories]
            found = [c for c in cells if c]
            aucs = [_fmt(c["auc"]) if c else "-" for c in cells]
            mean = _fmt(float(np.mean([c["auc"] for c in found]))) if found else "-"
            risen = _fmt(float(np.mean([c["share_risen"] for c in found]))) + " %" if found else "-"
            lines.append(f"| {DETECTOR_NAMES.get(name, name)} | " + " | ".join(aucs) + f" | {mean} | {risen} |")
        lines.append("")
    return lines


def cells_lines(results: dict[str, Any]) -> list[str]:
    """AUC per factorial cell (SynthAV's emotion_mismatch x artifact) of the base rows, per fold."""
    cells = results.get("cells", {})
    if not cells:
        return []
    detectors = [d for d in (*NETWORK_NAMES, "lowlevel", "fusion") if any(d in v for v in cells.values())]
    lines = [
        "## Per factorial cell (AUC: every real test clip vs the held-out fakes of one cell)",
        "",
        "| held out | cell | fakes | " + " | ".join(DETECTOR_NAMES.get(d, d) for d in detectors) + " |",
        "|---|---|---|" + "---|" * len(detectors),
    ]
    for category, by_detector in cells.items():
        names = sorted({cell for scores in by_detector.values() for cell in scores})
        for cell in names:
            first = next(v[cell] for v in by_detector.values() if cell in v)
            values = [_fmt(by_detector.get(d, {}).get(cell, {}).get("auc", math.nan)) for d in detectors]
            if first["n_fake"] < MIN_CLIPS_PER_CLASS:  # one or two fakes put an AUC anywhere from 0 to 100
                values = [f"too few fakes (< {MIN_CLIPS_PER_CLASS})" for _ in detectors]
            lines.append(f"| {category} | {cell} | {first['n_fake']} | " + " | ".join(values) + " |")
    return [*lines, ""]


def mismatch_lines(results: dict[str, Any]) -> list[str]:
    """The paired emotion-mismatch effect: per scenario, score at mismatch 1 minus at mismatch 0."""
    effects = results.get("mismatch", {})
    if not effects:
        return []
    lines = [
        "## Emotion mismatch, paired (each held-out scenario rendered at both levels)",
        "",
        "Score (probability) of the mismatch-1 fake minus its mismatch-0 twin; 95 % interval over test",
        "identities. A detector that reads face-voice emotion consistency rises; one that reads only",
        "artefacts stays at 0.",
        "",
        "| held out | detector | rise [95 % CI] | risen | pairs | identities |",
        "|---|---|---|---|---|---|",
    ]
    for category, by_detector in effects.items():
        for detector, e in by_detector.items():
            ci = f"[{e['ci'][0]:+.3f}, {e['ci'][1]:+.3f}]" if e.get("ci") else f"(no interval: {e.get('why')})"
            lines.append(
                f"| {category} | {DETECTOR_NAMES.get(detector, detector)} | {e['mean']:+.3f} {ci} "
                f"| {_fmt(e['share_positive'])} % | {e['n']} | {e['identities']} |"
            )
    return [*lines, ""]


def fold_lines(category: str, scores: dict[str, dict[str, Any]], reasons: list[str], figures: bool = True) -> list[str]:
    """One test set's table: per row AUC with its interval, EER, accuracy at the stored threshold, ECE, Cllr and
    Cllr_min, clip counts (a reason for a missing interval is appended to ``reasons``); with ``figures``, the links
    to its ROC, score, Tippett and DET plots."""
    lines = [
        "| detector | AUC [95 % CI] | EER | ACC | ECE | Cllr | Cllr_min | real / fake |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for detector, m in scores.items():
        llr = m.get("llr", {})
        lines.append(
            f"| {DETECTOR_NAMES.get(detector, detector)} | {_with_interval(m, 'auc', reasons)} | "
            f"{_fmt(m['eer'])} | {_fmt(m['acc'])} | {_fmt(m['ece'])} | {_bits(llr.get('cllr'))} | "
            f"{_bits(llr.get('cllr_min'))} | {m['n_real']} / {m['n_fake']} |"
        )
    lines.append("")
    if figures:
        lines += [
            f"![ROC {category}](roc_{category}.png) ![scores {category}](scores_{category}.png)",
            f"![Tippett {category}](llr_{category}/tippett.png) ![DET {category}](llr_{category}/det.png)",
            "",
        ]
    return lines


def markdown(results: dict[str, Any], anchors: Path | None = None) -> str:
    dataset = results["benchmark"]
    lines = [f"# Cross-manipulation benchmark: {dataset}", ""]
    if "synthav" in dataset.lower():
        lines += [
            "**SynthAV is generated data: these numbers check the pipeline; they are not FakeAVCeleb results.**",
            "",
        ]
    lines += [
        "Leave one manipulation category out: train on real clips + the other categories, test on held-out",
        "real identities + the held-out category. Video-level scores in percent. AVG-FV averages the four",
        "categories with a fake video (FVRA-WL, FVFA-FS, FVFA-GAN, FVFA-WL). The networks early-stop on val;",
        "fusions and thresholds are fitted on calib (identity-disjoint, training categories only). RGB learns",
        "video_fake, acoustic audio_fake; every row is scored on the clip label.",
        "",
        "![AUC per category and the gain per fold](summary.png)",
        "",
        *gain_lines(results.get("gain", {})),
        *gain_lines(
            results.get("mixture_gain", {}), "EmoForensics' face and voice heads", "Gain under the mixture fusion"
        ),
        *gain_lines(results.get("consistency_gain", {}), "the consistency detector", "Consistency gain"),
    ]
    for metric in ("auc", "ap"):
        lines += [f"## {METRIC_NAMES[metric]}", "", *_table(results, metric), ""]
    rules = {t.get("rule", "level") for t in results.get("trim", {}).values()}
    cut = {"vad": "before Silero VAD's first speech frame", "level": "before the first frame above silence_db"}
    for key in ("trimmed", "trimmed_trained"):
        if key in results:
            how = " / ".join(cut.get(r, r) for r in sorted(rules)) or cut["level"]
            lines += [f"## Silence-trimmed: {VARIANT_NAMES[key]} (AUC)", "", f"Frames {how} are dropped.", "",
                      *_table(results[key], "auc"), ""]  # fmt: skip
    lines += baselines_lines(results)
    lines += controls_lines(results)
    lines += pairing_lines(results)
    lines += cells_lines(results)
    lines += mismatch_lines(results)
    lines += inputs_lines(results)
    lines += [
        "## Per fold (EER, accuracy at the stored threshold, calibration error; AUC 95 % interval over identities)",
        "",
    ]
    reasons: list[str] = []
    for category, scores in results["folds"].items():
        lines += [f"### {category}", "", *fold_lines(category, scores, reasons)]
    lines += _reasons(reasons)[1:]
    if anchors is not None:
        lines += anchors_block(anchors)
    lines += ["", *provenance_lines(results.get("provenance", {}))]
    return "\n".join(lines) + "\n"


def csv_rows(results: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "variant",
            "fold",
            "detector",
            "auc",
            "ap",
            "eer",
            "acc",
            "ece",
            "auc_ci_low",
            "auc_ci_high",
            "ap_ci_low",
            "ap_ci_high",
            "no_interval_because",
            "n_real",
            "n_fake",
        ]
    )
    variants = [
        ("original", results),
        *((key, results[key]) for key in ("trimmed", "trimmed_trained") if key in results),
    ]
    for variant, summary in variants:
        blocks = [*((c, summary["folds"][c]) for c in summary["folds"]), ("average", summary["average"]),
                  ("avg_fv", summary["avg_fv"])]  # fmt: skip
        for fold, scores in blocks:
            for detector, m in scores.items():
                writer.writerow(
                    [
                        variant,
                        fold,
                        detector,
                        *(f"{m[k]:.6f}" for k in ("auc", "ap", "eer", "acc", "ece")),
                        *_csv_interval(m.get("auc_ci")),
                        *_csv_interval(m.get("ap_ci")),
                        printable(m.get("auc_ci_why") or m.get("ap_ci_why") or ""),
                        m.get("n_real", ""),
                        m.get("n_fake", ""),
                    ]
                )
    return buffer.getvalue()


def _csv_interval(ci: list[float] | None) -> list[str]:
    return [f"{v:.6f}" for v in ci] if ci is not None else ["", ""]


def plots(fold_results: dict[str, FoldResult], out_dir: Path) -> list[Path]:
    """ROC curves of every detector and score histograms of EMO-BOOST, one pair of PNGs per fold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    written = []
    for category, result in fold_results.items():
        labels = np.asarray(result.labels)
        figure, axis = plt.subplots(figsize=(7.5, 5))
        for detector, scores in result.metrics.items():
            fpr, tpr, _ = roc_curve(labels, scores["probabilities"])
            axis.plot(
                fpr,
                tpr,
                label=f"{DETECTOR_NAMES.get(detector, detector)} ({scores['auc'] * 100:.1f})",
                linewidth=2.0 if detector == "fusion" else 1.0,
            )
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
        axis.set(xlabel="false positive rate", ylabel="true positive rate", title=f"held out: {category}")
        axis.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)  # outside the curves
        written.append(_save(figure, out_dir / f"roc_{category}.png"))
        systems = {  # Tippett and DET plots of the calibrated rows (LLRs), named as in the tables
            DETECTOR_NAMES.get(detector, detector): (labels, np.asarray(scores["llrs"]))
            for detector, scores in result.metrics.items()
            if "llrs" in scores and detector != "mean"
        }
        if systems:
            written += save_validation_plots(out_dir / f"llr_{category}", systems, f"held out: {category}").values()
        figure, axis = plt.subplots(figsize=(6, 3.5))
        probabilities = np.asarray(result.metrics["fusion"]["probabilities"])
        bins = np.linspace(0, 1, 21).tolist()
        axis.hist(probabilities[labels == 0], bins=bins, alpha=0.6, label="real")
        axis.hist(probabilities[labels == 1], bins=bins, alpha=0.6, label=f"fake ({category})")
        axis.axvline(
            result.fusions["fusion"]["threshold"], color="black", linestyle="--", linewidth=1, label="threshold"
        )
        axis.set(xlabel="EMO-BOOST probability of fake", ylabel="clips", title=f"held out: {category}")
        axis.legend(fontsize=8)
        written.append(_save(figure, out_dir / f"scores_{category}.png"))
    return written


SUMMARY_ROWS = ("emo", "rgb", "acoustic", "lowlevel", "fusion", "consistency")


def summary_figure(results: dict[str, Any], out_dir: Path) -> Path | None:
    """``summary.png``: AUC per held-out category, AVG and AVG-FV with their intervals for the main rows
    (left), and a forest plot of the gain per fold, AVG and AVG-FV (right). Hollow markers: no interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folds = results.get("folds", {})
    if not folds:
        return None
    categories = list(folds)
    rows = [r for r in (*SUMMARY_ROWS, *sorted({d for f in folds.values() for d in f if d.startswith("ext:")}))
            if all(r in folds[c] for c in categories)]  # fmt: skip
    gain = results.get("gain") or {}
    figure, (left, right) = plt.subplots(1, 2, figsize=(15, 4.8), gridspec_kw={"width_ratios": [2.2, 1]})
    columns = [*categories, "AVG", "AVG-FV"]
    width = 0.8 / max(len(rows), 1)
    for k, row in enumerate(rows):
        entries = [folds[c][row] for c in categories]
        entries += [results.get("average", {}).get(row, {}), results.get("avg_fv", {}).get(row, {})]
        for x, entry in enumerate(entries):
            if "auc" not in entry or entry["auc"] is None or math.isnan(entry["auc"]):
                continue
            position, ci = x - 0.4 + width * (k + 0.5), entry.get("auc_ci")
            if ci is not None:
                left.errorbar(position, entry["auc"] * 100, yerr=[[(entry["auc"] - ci[0]) * 100],
                              [(ci[1] - entry["auc"]) * 100]], fmt="none", color=f"C{k}", linewidth=1)  # fmt: skip
            left.plot(position, entry["auc"] * 100, "o", color=f"C{k}", markerfacecolor=f"C{k}" if ci else "white",
                      label=DETECTOR_NAMES.get(row, row) if x == 0 else None)  # fmt: skip
    left.axhline(50, color="grey", linestyle=":", linewidth=0.8)
    left.set_xticks(range(len(columns)), columns, rotation=20)
    left.set(ylabel="AUC (%)", ylim=(0, 102), title="AUC per held-out category (95 % interval over identities)")
    left.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title="hollow: no interval",
                title_fontsize=7)  # fmt: skip
    if gain:
        labels = [*gain["folds"], "AVG", *(["AVG-FV"] if gain.get("avg_fv") else [])]
        entries = [*gain["folds"].values(), gain["average"], *([gain["avg_fv"]] if gain.get("avg_fv") else [])]
        for y, entry in enumerate(entries):
            ci = entry.get("ci")
            if ci is not None:
                right.plot([ci[0] * 100, ci[1] * 100], [y, y], color="black", linewidth=1.2)
            right.plot(entry["gain"] * 100, y, "s" if y >= len(gain["folds"]) else "o", color="black",
                       markerfacecolor="black" if ci else "white")  # fmt: skip
        right.axvline(0, color="grey", linestyle=":", linewidth=0.8)
        right.set_yticks(range(len(labels)), labels)
        right.invert_yaxis()
        base, boosted = (DETECTOR_NAMES.get(gain[k], gain[k]) for k in ("base", "boosted"))
        right.set(xlabel="AUC points", title=f"Gain: {boosted}\nminus {base}")
        right.title.set_fontsize(8)
    else:
        right.set_axis_off()
    return _save(figure, out_dir / "summary.png")


def _save(figure, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    with atomic_path(path) as part:
        figure.savefig(part, dpi=110)
    plt.close(figure)
    return path


def write_report(
    results: BenchmarkResult, fold_results: dict[str, FoldResult], out_dir: Path, anchors: Path | None = None
) -> list[Path]:
    """``results.md``, ``results.csv`` (both from the ``results.json`` form) and the PNGs into ``out_dir``."""
    data = results.to_dict()
    write_text_atomic(out_dir / "results.md", markdown(data, anchors))
    write_text_atomic(out_dir / "results.csv", csv_rows(data))
    figure = summary_figure(data, out_dir)
    return [
        out_dir / "results.md",
        out_dir / "results.csv",
        *([figure] if figure else []),
        *plots(fold_results, out_dir),
    ]
