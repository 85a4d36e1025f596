"""The cross-dataset evaluation's report: ``results.md`` (the benchmark's tables, each captioned with the dataset
trained on and the dataset tested on), ``results.csv``, ``scores.csv`` (every test clip's LLR per row) and the
ROC / score / Tippett / DET plots of each test set, written from a
:class:`~emoboost.benchmark.results.CrossDatasetResult` by the benchmark report's own helpers
(:mod:`emoboost.benchmark.report`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from emoboost.benchmark.cross_config import ALL
from emoboost.benchmark.localisation import AP_IOU_THRESHOLDS, AR_PROPOSALS
from emoboost.benchmark.provenance import provenance_lines
from emoboost.benchmark.report import (
    DETECTOR_NAMES,
    _fmt,
    _pm,
    _reasons,
    _table,
    csv_rows,
    fold_lines,
    gain_lines,
    plots,
)
from emoboost.benchmark.results import CrossDatasetResult, FoldResult
from emoboost.data.identities import identity_space
from emoboost.detector.outputs import csv_cell
from emoboost.files import write_text_atomic

UNPUBLISHED_TEST = {"avdeepfake1m": "val"}  # datasets whose test labels are not published: their labelled split


def scope(results: dict[str, Any]) -> str:
    """The caption of every table: what the detector was trained on and what it is tested on."""
    train, test = results["train"], results["test"]
    return (
        f"*Trained on **{train['dataset']}** ({Path(train['manifest']).name}), tested on **{test['dataset']}** "
        f"({test['split']} split of {Path(test['manifest']).name}).*"
    )


def _intro(results: dict[str, Any]) -> list[str]:
    train, test, own = results["train"], results["test"], results["own_fusion"]
    lines = [f"# Cross-dataset evaluation: trained on {train['dataset']}, tested on {test['dataset']}", ""]
    if train.get("generated") or "synthav" in (train["dataset"].lower(), test["dataset"].lower()):
        lines += [
            "**Generated data took part (SynthAV): these numbers check the pipeline and say how a detector trained on "
            "generated clips transfers; they are not results of emoboost trained on real data.**",
            "",
        ]
    counts = ", ".join(f"{name} {n}" for name, n in test["clips"].items())
    lines += [
        f"- **Detector**: `{train['folder']}` ({train['obtained']}; model id {train['model_id']}), trained with the "
        f"`{train['benchmark']}` recipe on {train['manifest']} (train / val / calib rows "
        f"{' / '.join(str(train['rows'][s]) for s in ('train', 'val', 'calib'))}; fakes: "
        f"{', '.join(train['fake_categories'])}).",
        f"- **Test set**: the `{test['split']}` split of {test['manifest']}: {counts} clips of {test['identities']} "
        "identities."
        + (
            f" {test['dataset']} publishes no test labels: its `{test['split']}` split is the labelled held-out split."
            if UNPUBLISHED_TEST.get(test["dataset"].lower()) == test["split"]
            else ""
        ),
        "- **Rows**: the benchmark's rows a trained detector gives (each network, low-level, EMO-BOOST, the mean of "
        "logits, the mixture fusions, the consistency rows), each fusion and threshold fitted on the training data's "
        "calib clips, never on the test set (the shortcut, ensemble, ablation and silence-trimmed rows train more "
        f"networks on the training data and are not run here); the detector's own fusion is the `{own['row']}` row "
        f"(refitted, its LLRs differ from the detector's by at most {own['max_llr_difference']:.1e}). A category's "
        "test set is every real test clip plus that category's fakes; scores in percent; intervals are 95 % "
        "percentile intervals of a bootstrap over test identities.",
        "",
    ]
    return lines


def _identity_lines(results: dict[str, Any]) -> list[str]:
    identities = results["identities"]
    lines = ["## Identities", "", scope(results), "", identities["statement"], ""]
    for source in identities.get("other_sources", []):
        lines += _source_lines(source, identities["test"]["dataset"])
    return [*lines, ""] if identities.get("other_sources") else lines


def _source_lines(source: dict[str, Any], test_dataset: str) -> list[str]:
    """What is known of a source of real clips beside the training data, against the test set."""
    what = f"The {source['kind']} (`{source['source']}`)"
    if source["people"] is None:
        return [f"- {what} could not be read: its people are unknown."]
    files = (
        " None of its real clips is a test file (compared by SHA-256)."
        if source.get("files_checked")
        else " Its files were not recorded, so they were not compared with the test files."
    )
    if source.get("checked"):
        return [
            f"- {what}: {source['people']} people of {source['dataset']}, which names people as "
            f"{test_dataset} does; none is a test person.{files}"
        ]
    recorded = (
        f"of {source['dataset']}, whose names identify no one in {test_dataset}"
        if source.get("dataset")
        else "whose dataset is not recorded"
    )
    lines = [
        f"- {what}: {source['people']} people {recorded}; {source['same_names_as_test']} share a name with a test "
        f"person (the same person only if both name people the same way).{files}"
    ]
    if source["same_names_as_test"] and not source.get("dataset") and identity_space(test_dataset).space is not None:
        lines.append(
            f"- **Warning: possible identity leak.** {source['same_names_as_test']} test people share a name "
            f"with people of the {source['kind']}. If those clips come from the test set's identity space "
            "(e.g. VoxCeleb2 clips for AV-Deepfake1M, whose real clips are VoxCeleb2's), the rows that read "
            "the consistency detector were tested on people it learnt from: leave those people out of the "
            "test manifest or of the consistency detector's training clips, and rerun. emoboost cannot "
            "tell, because that source's dataset is not recorded (`emoboost train-consistency --dataset` "
            "records it)."
        )
    return lines


def _overall_gain_line(gain: dict[str, Any]) -> list[str]:
    if not gain:
        return []
    entry = gain["folds"][ALL]
    ci = entry["ci"]
    interval = f"[{_pm(ci[0])}, {_pm(ci[1])}]" if ci is not None else f"(no interval: {entry['why']})"
    return [
        f"On every test clip at once: {DETECTOR_NAMES.get(gain['boosted'], gain['boosted'])} "
        f"{_fmt(entry['boosted_auc'])} against {DETECTOR_NAMES.get(gain['base'], gain['base'])} "
        f"{_fmt(entry['base_auc'])}, gain {_pm(entry['gain'])} {interval}.",
        "",
    ]


def localisation_lines(results: dict[str, Any]) -> list[str]:
    """The temporal localisation block: AP at each IoU, AR@N and frame AUC per test set."""
    block = results["localisation"]
    lines = ["## Temporal localisation", "", scope(results), ""]
    if not block.get("scored"):
        return [*lines, f"Not scored: {block['why']}.", ""]
    settings = block["settings"]
    header = [
        "test set",
        "clips",
        "segments",
        *(f"AP@{t:g}" for t in AP_IOU_THRESHOLDS),
        *(f"AR@{n}" for n in AR_PROPOSALS),
        "frame AUC",
        "frames (fake)",
    ]
    lines += [
        f"Ground truth: `{block['column']}`. Window scores: {block['windows']}. Proposals: runs of consecutive "
        f"windows at or above each LLR level {', '.join(f'{t:g}' for t in settings['thresholds'])} (gap "
        f"{settings['max_gap_s']:g} s, scored by the {settings['proposal_score']} of their windows), pooled. AP and "
        "AR as the AV-Deepfake1M benchmark defines them (its first recall step is not counted: on a handful of "
        "segments AP can read 0); frame AUC over every grid frame a window covers. Real clips have no segments: "
        "their proposals are false positives. In percent.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for name, entry in block["sets"].items():
        cells = [
            name,
            str(entry["clips"]),
            str(entry["segments"]),
            *(_fmt(entry["ap"][f"{t:g}"]) for t in AP_IOU_THRESHOLDS),
            *(_fmt(entry["ar"][str(n)]) for n in AR_PROPOSALS),
            _fmt(entry["frame_auc"]),
            f"{entry['frames']} ({entry['fake_frames']})",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    spread = block["window_llrs"]
    if spread["distinct"] == 1:
        bounds = spread["bounds"]
        lines += [
            "",
            f"Every one of the {spread['windows']} windows scores the same LLR ({spread['min']:g}): "
            + (
                f"the detector's calibration bounds its LLRs to [{bounds[0]:g}, {bounds[1]:g}] (ELUB: few calibration "
                "clips), so "
                if bounds is not None
                else ""
            )
            + "no proposal or frame is ranked above another and these figures say nothing about localisation.",
        ]
    elif spread["distinct"] < spread["windows"] / 2:
        lines += [
            "",
            f"{spread['windows']} windows share {spread['distinct']} LLR values (ties at the calibration "
            "bounds): ranks among tied windows are arbitrary.",
        ]
    if block.get("fakes_without_segments"):
        lines += ["", f"{block['fakes_without_segments']} fake test clips have no segments in `{block['column']}`."]
    return [*lines, ""]


def _missing_lines(results: dict[str, Any]) -> list[str]:
    lines = ["## Inputs", "", scope(results), "", "| clips | clips without features / clips |", "|---|---|"]
    for name, entry in results["missing"].items():
        counts = entry["counts"]
        lost, total = sum(v[0] for v in counts.values()), sum(v[1] for v in counts.values())
        detail = ", ".join(f"{c} {v[0]}" for c, v in counts.items() if v[0])
        where = "training data's calib" if name == "calib" else "test"
        lines.append(f"| {where} | {lost} / {total}{f' ({detail})' if detail else ''} |")
    return [*lines, ""]


def cross_markdown(results: dict[str, Any]) -> str:
    """``results.md`` of a cross-dataset evaluation (``results``: its ``results.json`` form)."""
    summary = {key: results[key] for key in ("folds", "average", "avg_fv")}
    avg_fv = bool(results["avg_fv"])
    pair = f"{results['train']['dataset']} -> {results['test']['dataset']}"
    lines = [*_intro(results), *_identity_lines(results)]
    named = {"sets": f"categories of {results['test']['dataset']}", "column": "test category"}
    lines += gain_lines(results["gain"], title=f"Gain, {pair}", **named)
    lines += _overall_gain_line(results["overall_gain"])
    lines += gain_lines(results["mixture_gain"], "EmoForensics' face and voice heads", f"Mixture gain, {pair}", **named)
    lines += gain_lines(results["consistency_gain"], "the consistency detector", f"Consistency gain, {pair}", **named)
    for metric, title in (("auc", "AUC"), ("ap", "AP")):
        lines += [f"## {title} per category of {results['test']['dataset']}", "", scope(results), ""]
        lines += [*_table(summary, metric, avg_fv), ""]
    reasons: list[str] = []
    lines += ["## Every test clip (EER, accuracy at the stored threshold, ECE, Cllr)", "", scope(results), ""]
    lines += fold_lines(ALL, results["overall"], reasons)
    lines += ["## Per category (EER, accuracy at the stored threshold, ECE, Cllr)", ""]
    for category, scores in results["folds"].items():
        lines += [f"### {category}", "", scope(results), "", *fold_lines(category, scores, reasons)]
    lines += _reasons(reasons)[1:]
    lines += ["", *localisation_lines(results), *_missing_lines(results)]
    lines += provenance_lines(results["provenance"])
    return "\n".join(lines) + "\n"


def scores_csv(fold: FoldResult) -> str:
    """Every test clip with each row's LLR (natural log; ``mean`` is uncalibrated), in test order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    rows = list(fold.metrics)
    writer.writerow(["path", "label", "identity", *rows])
    for index, (path, label, identity) in enumerate(zip(fold.paths, fold.labels, fold.groups, strict=True)):
        cells = [csv_cell(str(path)), label, csv_cell(str(identity))]  # a spreadsheet must not run a name
        writer.writerow([*cells, *(f"{fold.metrics[r]['llrs'][index]:.6f}" for r in rows)])
    return buffer.getvalue()


def write_cross_report(result: CrossDatasetResult, fold_results: dict[str, FoldResult], out_dir: Path) -> list[Path]:
    """``results.md``, ``results.csv``, ``scores.csv`` and the plots of every test set (``fold_results``: each
    category's and ``all``) into ``out_dir``."""
    data = result.to_dict()
    write_text_atomic(out_dir / "results.md", cross_markdown(data))
    write_text_atomic(out_dir / "results.csv", csv_rows(data))
    write_text_atomic(out_dir / "scores.csv", scores_csv(fold_results[ALL]))
    return [out_dir / "results.md", out_dir / "results.csv", out_dir / "scores.csv", *plots(fold_results, out_dir)]
