"""One PNG per verdict: where the clip looks fake, with the face and voice emotion tracks under it.

Panel 1: fused probability of fake per analysis window (bars over the window's stretch, darker
where windows overlap), EmoForensics' per-token probability (5 Hz line) and the threshold;
grey bands where no face was tracked. Panel 2: facial-expression probabilities over time
(stacked, blank where there is no face). Panel 3: the voice: level in dBFS and, with the egemaps
encoder, loudness and pitch as clip z-scores; the face-voice emotion mismatch on the right axis.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoboost.api import Verdict
from emoboost.cache import atomic_path
from emoboost.text import printable

STEM_BYTES = 200  # of a plot's name: with "_<hash>.png" and a temporary name's extras it stays under 255 bytes

EXPRESSION_COLOURS = {
    "angry": "#d62728", "disgust": "#8c564b", "fear": "#9467bd", "happy": "#f2c12e",
    "sad": "#1f77b4", "surprise": "#17becf", "neutral": "#bdbdbd",
}


def timeline_name(path: str | Path, sha256: str) -> str:
    """``<stem>_<sha256[:8]>.png`` for a verdict's file: unique for same-named files in different folders."""
    stem = printable(Path(path).stem)
    while len(stem.encode()) > STEM_BYTES:  # the name must fit the file system's 255 bytes with its suffix
        stem = stem[:-1]
    return f"{stem}_{sha256[:8]}.png"


def _no_face_spans(time_s: np.ndarray, face_fraction: np.ndarray, step: float) -> list[tuple[float, float]]:
    spans, start = [], None
    for t, fraction in zip(time_s, face_fraction):
        if fraction == 0 and start is None:
            start = t - step / 2
        elif fraction > 0 and start is not None:
            spans.append((start, t - step / 2))
            start = None
    if start is not None:
        spans.append((start, time_s[-1] + step / 2))
    return spans


def plot_timeline(verdict: Verdict, target: str | Path) -> Path:
    """Write the timeline PNG of ``verdict`` (which must carry its tracks) atomically to ``target``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tracks = verdict.tracks
    if tracks is None:
        raise ValueError("this verdict has no tracks (predict it again with the Detector)")
    target = Path(target)
    t = tracks.time_s
    step = float(t[1] - t[0]) if len(t) > 1 else 0.2
    end = max(verdict.duration_s, float(t[-1] + step / 2) if len(t) else 0.0)
    fig, axes = plt.subplots(3, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [1.3, 1, 1]})
    try:
        ax = axes[0]
        for segment in verdict.segments:
            colour = "#d62728" if segment.probability >= verdict.threshold else "#2ca02c"
            ax.fill_between([segment.start_s, segment.end_s], 0, segment.probability, color=colour, alpha=0.25, linewidth=0, step="pre")
            ax.hlines(segment.probability, segment.start_s, segment.end_s, color=colour, linewidth=2)
        ax.plot(t, tracks.emo_probability, color="black", linewidth=1, label="EmoForensics per token")
        ax.axhline(verdict.threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {verdict.threshold:.2f}")
        for axis in axes:
            for start, stop in _no_face_spans(t, tracks.face_fraction, step):
                axis.axvspan(start, stop, color="0.85", zorder=0)
        ax.set_ylim(0, 1)
        ax.set_ylabel("P(fake)")
        ax.legend(loc="upper right", fontsize=8)
        colour = "#d62728" if verdict.label == "fake" else "#2ca02c"
        ax.set_title(f"{printable(Path(verdict.path).name)}: {verdict.label.upper()}  P(fake) {verdict.probability:.2f}  (model {verdict.model_id})", color=colour, fontsize=11, loc="left")

        ax = axes[1]
        labels = tracks.expression_labels or tuple(f"class {i}" for i in range(tracks.expressions.shape[1]))
        values = np.nan_to_num(tracks.expressions, nan=0.0).T
        ax.stackplot(t, values, labels=labels, colors=[EXPRESSION_COLOURS.get(label, None) for label in labels], step="mid", alpha=0.9)
        ax.set_ylim(0, 1)
        ax.set_ylabel("face expression")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)

        ax = axes[2]
        ax.plot(t, tracks.voice_level_db, color="0.4", linewidth=1, label="level (dBFS)")
        ax.set_ylabel("voice level (dBFS)")
        if tracks.prosody:
            z = ax.twinx()
            for (name, values), colour in zip(tracks.prosody.items(), ("#1f77b4", "#ff7f0e")):
                z.plot(t, values, color=colour, linewidth=1, label=f"{name} (z)")
            z.set_ylabel("prosody (clip z-score)")
            z.legend(loc="upper left", fontsize=8)
        if tracks.mismatch is not None:
            m = ax.twinx()
            m.spines["right"].set_position(("axes", 1.08))
            m.plot(t, tracks.mismatch, color="#9467bd", linewidth=1.5, label="face-voice emotion mismatch")
            m.set_ylim(0, 2)
            m.set_ylabel("emotion mismatch")
            m.legend(loc="upper right", fontsize=8)
        ax.legend(loc="lower left", fontsize=8)
        axes[-1].set_xlim(0, end)
        axes[-1].set_xlabel("time (s)")
        fig.tight_layout()
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
    return target
