"""One figure per verdict: the fused LLR over time against the decision threshold, and the emotion tracks under it.

Four panels, one y-axis each, legends to the right of the data, names as in the case report
(:data:`PANELS`):

1. fused score: each analysis window's score (the fused window logit through the clip calibration: a score, not
   a calibrated LR) drawn as a step over the window's span, red at or above the threshold, green below; the
   clip's LLR and the decision threshold;
2. face expression: facial-expression probabilities (stacked; blank where no face is tracked);
3. voice prosody: loudness and pitch as clip z-scores (egemaps speech encoder), otherwise the
   voice level in dBFS; not drawn where Silero VAD hears no speech (pitch there is meaningless), those
   stretches shaded blue;
4. face-voice inconsistency: with a detector that has the real-only consistency detector, its score per
   analysis window (higher: face and voice less plausible together) against the band real calibration
   clips' windows span (5th to 95th percentile); otherwise EmoForensics' face-voice emotion distance
   (0 agree .. 2 opposite), blank without a face or speech.

Hatched bands mark stretches where no face was tracked (grey is the "neutral" expression, so it is not used for
them). A footer names the detector, its weights hash, the file's SHA-256 prefix and the emoboost version.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emoboost.detector.verdict import Verdict
from emoboost.files import atomic_path
from emoboost.text import file_stem, printable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EXPRESSION_COLOURS = {
    "angry": "#d62728",
    "disgust": "#8c564b",
    "fear": "#9467bd",
    "happy": "#f2c12e",
    "sad": "#1f77b4",
    "surprise": "#17becf",
    "neutral": "#bdbdbd",
}
FAKE_COLOUR, REAL_COLOUR = "#d62728", "#2ca02c"
NO_FACE: dict[str, Any] = {"facecolor": "none", "edgecolor": "0.55", "hatch": "///", "linewidth": 0.0}  # not grey
NO_SPEECH_COLOUR = "#d6e6f5"  # light blue under the prosody panel where the VAD hears no speech
PANELS = {
    "llr": "fused score (ln LR)",
    "expression": "face expression",
    "prosody": "voice prosody",
    "mismatch": "emotion mismatch",
    "consistency": "face-voice inconsistency",
}
LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 8, "frameon": False, "borderaxespad": 0.0}


def timeline_name(path: str | Path, sha256: str) -> str:
    """``<stem>_<sha256[:8]>.png`` for a verdict's file (:func:`emoboost.text.file_stem`): unique for
    same-named files in different folders."""
    return f"{file_stem(path)}_{sha256[:8]}.png"


def _spans(time_s: np.ndarray, flagged: np.ndarray, step: float) -> list[tuple[float, float]]:
    """The stretches ``(start, stop)`` of consecutive flagged tokens (each token covers ``step`` around its centre)."""
    spans, start = [], None
    for t, flag in zip(time_s, flagged, strict=False):
        if flag and start is None:
            start = t - step / 2
        elif not flag and start is not None:
            spans.append((start, t - step / 2))
            start = None
    if start is not None:
        spans.append((start, time_s[-1] + step / 2))
    return spans


def _no_face_spans(time_s: np.ndarray, face_fraction: np.ndarray, step: float) -> list[tuple[float, float]]:
    return _spans(time_s, np.asarray(face_fraction) == 0, step)


def _llr_panel(ax, verdict: Verdict) -> None:
    from emoboost.calibration import format_lr

    llrs = np.array([s.llr for s in verdict.segments])
    above = llrs >= verdict.threshold
    for segment, fake in zip(verdict.segments, above, strict=False):  # a step over each window's own span
        ax.hlines(
            segment.llr, segment.start_s, segment.end_s, color=FAKE_COLOUR if fake else REAL_COLOUR, linewidth=2.5
        )
    for chosen, colour, name in (
        (above, FAKE_COLOUR, "window score >= threshold"),
        (~above, REAL_COLOUR, "window score < threshold"),
    ):
        if chosen.any():
            ax.plot([], [], color=colour, linewidth=2.5, label=name)
    ax.axhline(
        verdict.llr,
        color="black",
        linewidth=1.2,
        linestyle=":",
        label=f"clip LLR {verdict.llr:+.2f} ({format_lr(verdict.llr)})",
    )
    ax.axhline(
        verdict.threshold,
        color="black",
        linewidth=1.2,
        linestyle="--",
        label=f"threshold {verdict.threshold:+.2f} (prior {verdict.prior:g})",
    )
    values = np.r_[llrs, verdict.llr, verdict.threshold]
    margin = max(0.5, 0.1 * float(np.ptp(values)))
    ax.set_ylim(float(values.min()) - margin, float(values.max()) + margin)
    ax.set_ylabel(PANELS["llr"])


def _voice_panel(ax, tracks, step: float) -> None:
    speech = tracks.speech_fraction
    silent = np.zeros(len(tracks.time_s), bool) if speech is None else np.asarray(speech) <= 0
    for start, stop in _spans(tracks.time_s, silent, step):
        ax.axvspan(start, stop, color=NO_SPEECH_COLOUR, zorder=0)
    if silent.any():
        ax.plot([], [], color=NO_SPEECH_COLOUR, linewidth=6, label="no speech (VAD): not drawn")
    if tracks.prosody:
        for (name, values), colour in zip(tracks.prosody.items(), ("#1f77b4", "#ff7f0e"), strict=False):
            shown = np.where(silent, np.nan, np.asarray(values, np.float64))
            ax.plot(tracks.time_s, shown, color=colour, linewidth=1, label=f"{name} (clip z-score)")
        ax.axhline(0.0, color="0.7", linewidth=0.8)
        ax.set_ylabel(f"{PANELS['prosody']} (z)")
    else:
        ax.plot(tracks.time_s, tracks.voice_level_db, color="0.4", linewidth=1, label="voice level (dBFS)")
        ax.set_ylabel(f"{PANELS['prosody']} (dBFS)")


def panel_names(verdict: Verdict) -> list[str]:
    """The four panels' names for ``verdict`` (the last one: the consistency detector's when it has one)."""
    last = "consistency" if any(s.consistency is not None for s in verdict.segments) else "mismatch"
    return [PANELS[key] for key in ("llr", "expression", "prosody", last)]


def _consistency_panel(ax, verdict: Verdict) -> bool:
    """The consistency detector's window scores and the real calibration band; False when the verdict has none."""
    windows = [s for s in verdict.segments if s.consistency is not None]
    if not windows:
        return False
    band = verdict.provenance.get("consistency_real_band")
    if isinstance(band, (list, tuple)) and len(band) == 2:
        ax.axhspan(band[0], band[1], color="#2ca02c", alpha=0.15, zorder=0, label="real calibration windows (5-95 %)")
    for segment in windows:  # a step over each window's own span
        ax.hlines(segment.consistency, segment.start_s, segment.end_s, color="#9467bd", linewidth=2.5)
    ax.plot([], [], color="#9467bd", linewidth=2.5, label="window score")
    clip = verdict.scores.get("consistency")
    if clip is not None:
        ax.axhline(clip, color="black", linewidth=1.0, linestyle=":", label=f"clip score {clip:+.2f}")
    ax.set_ylabel(PANELS["consistency"])
    return True


def draw_timeline(verdict: Verdict) -> Figure:
    """The timeline figure of ``verdict`` (which must carry its tracks); the caller closes it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from emoboost.calibration import format_lr

    tracks = verdict.tracks
    if tracks is None:
        raise ValueError("this verdict has no tracks (predict it again with the Detector)")
    t = tracks.time_s
    step = float(t[1] - t[0]) if len(t) > 1 else 0.2
    end = max(verdict.duration_s, float(t[-1] + step / 2) if len(t) else 0.0)
    fig, axes = plt.subplots(4, 1, figsize=(11, 8.5), sharex=True, gridspec_kw={"height_ratios": [1.4, 1, 1, 0.8]})
    _llr_panel(axes[0], verdict)
    colour = FAKE_COLOUR if verdict.label == "fake" else REAL_COLOUR
    axes[0].set_title(
        f"{printable(Path(verdict.path).name)}: {verdict.label.upper()}   "
        f"{format_lr(verdict.llr)} ({verdict.lr_verbal})   "
        f"P(fake) {verdict.probability:.3f} at prior {verdict.prior:g}",
        color=colour,
        fontsize=10,
        loc="left",
    )
    labels = tracks.expression_labels or tuple(f"class {i}" for i in range(tracks.expressions.shape[1]))
    values = np.nan_to_num(tracks.expressions, nan=0.0).T
    if len(values):  # a visual encoder without expression classes (face-geometry alone) has nothing to stack
        colours = [EXPRESSION_COLOURS.get(label) or f"C{i % 10}" for i, label in enumerate(labels)]  # unknown: cycle
        axes[1].stackplot(t, values, labels=labels, colors=colours, step="mid", alpha=0.9)
    else:
        axes[1].text(0.5, 0.5, "the visual encoder has no expression classes", transform=axes[1].transAxes, ha="center")
    axes[1].set_ylim(0, 1)
    axes[1].set_ylabel(f"{PANELS['expression']} (P)")
    _voice_panel(axes[2], tracks, step)
    if not _consistency_panel(axes[3], verdict):
        if tracks.mismatch is not None:  # blank without a face (or speech, NaN from the model): nothing to compare
            mismatch = np.where(tracks.face_fraction > 0, tracks.mismatch, np.nan)
            axes[3].plot(t, mismatch, color="#9467bd", linewidth=1.5, label="face-voice distance")
        else:
            axes[3].text(
                0.5,
                0.5,
                "one modality only: no mismatch",
                transform=axes[3].transAxes,
                ha="center",
                va="center",
                color="0.4",
            )
        axes[3].set_ylim(0, 2)
        axes[3].set_ylabel(PANELS["mismatch"])
    spans = _no_face_spans(t, tracks.face_fraction, step) if len(t) else []
    for axis in axes:
        for start, stop in spans:
            axis.axvspan(start, stop, zorder=0, **NO_FACE)
        handles, names = axis.get_legend_handles_labels()
        if spans and axis is axes[0]:
            handles, names = handles + [Patch(**NO_FACE)], names + ["no face tracked"]
        if handles:
            axis.legend(handles, names, **LEGEND)
    axes[-1].set_xlim(0, end)
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.text(0.01, 0.008, footer(verdict), fontsize=7, color="0.3", family="monospace")
    return fig


def footer(verdict: Verdict) -> str:
    """What identifies the figure: detector id, weights hash, the file's SHA-256 prefix, emoboost version."""
    import emoboost

    weights = str(verdict.provenance.get("weights_sha256") or "unknown")[:12]
    return (
        f"detector {printable(verdict.model_id)}  weights {weights}  file SHA-256 {verdict.sha256[:16]}"
        f"  emoboost {emoboost.__version__}"
    )


def timeline_png_bytes(verdict: Verdict, dpi: int = 100) -> bytes:
    """The timeline as PNG bytes (for embedding in a report)."""
    import matplotlib.pyplot as plt

    fig = draw_timeline(verdict)
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def plot_timeline(verdict: Verdict, target: str | Path) -> Path:
    """Write the timeline PNG of ``verdict`` (which must carry its tracks) atomically to ``target``."""
    target = Path(target)
    data = timeline_png_bytes(verdict)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(data)
    return target
