"""Temporal localisation of partial fakes (benchmark stage): window scores -> segment proposals, the metrics
the AV-Deepfake1M benchmark reports (AP at IoU thresholds, AR@N), and frame-level AUC.

Inputs are keyed by clip (a manifest path): ground-truth segments ``[(start_s, end_s), ...]`` (the
manifest's ``fake_segments`` column, :func:`segments_by_path`), proposals ``[P, 3]`` arrays of
``(score, start_s, end_s)`` rows (the benchmark's ``[confidence, start, end]``; higher score: more
likely fake), and a detector's window scores (:class:`WindowScores`). Clips are taken in the order of
the ground-truth mapping, segments in their given order: the AP's matching depends on both.

**AP at IoU t** (the definition of the authors' ``avdeepfake1m`` package, ``src/loc_1d.rs``, and of
LAV-DF's ``metrics.py``). Per clip, proposals are ranked by descending score (stable; the benchmark's
proposal files are written in that order) and each ground-truth segment, in order, takes the
first proposal not yet taken whose IoU with it is above t (strictly); taken proposals are true
positives, the others false positives. All clips' proposals are then ranked together by descending
score (stable, clips in order) and ``AP = sum_{k>=2} (r_k - r_{k-1}) * max_{k'>=k} p_{k'}``, with
``p_k``, ``r_k`` the precision and recall (over all ground-truth segments) of the first k. As in the
authors' code, the first recall step (``r_1 - 0``) is not counted: on a benchmark of thousands of
segments that changes AP by at most 1 / (number of segments); on a single segment found first it
makes AP 0, so small tests must state it. NaN when no clip has a segment.

**AR@N** (same sources). Per clip, only the N best proposals are read (all of them when there are
fewer); a ground-truth segment counts as recalled at IoU t when one of them overlaps it with IoU
above t (one proposal may recall several segments). Recall at t = recalled / all segments, over all
clips; AR@N = the mean of that recall over ``AR_IOU_THRESHOLDS`` (0.5:0.05:0.95). A clip with
segments and no proposal has them all missed (neither reference takes such a clip: the compiled
package fails to parse an empty proposal list, 0.0.4 tried, and LAV-DF's code cannot index one).

**IoU** of two intervals: intersection length over union length (0 when they do not overlap), computed in
float32 and compared with the threshold in float32, as both reference implementations do (the Rust package
reads times as f32; LAV-DF's torch tensors are float32). This matters: frame-aligned times (AV-Deepfake1M's
are multiples of 40 ms, and so are a frame-based detector's) often give an IoU of exactly 0.5 or 0.75, and
which side of the threshold it falls is decided by rounding. On 100 small random sets of frame-aligned
segments, float64 IoUs changed AP by up to 0.07 and AR by up to 0.05 against the reference; float32 ones
reproduce it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from emoboost.data.manifest import ManifestRow, segment_problem, segments_of
from emoboost.media.timebase import FPS
from emoboost.metrics import auc

AP_IOU_THRESHOLDS = (0.5, 0.75, 0.95)
AR_IOU_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
AR_PROPOSALS = (10, 20, 50, 100)
Reduce = Literal["mean", "max"]


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: no element-wise ==
class WindowScores:
    """One clip's window scores: ``starts_s`` [W] and ``ends_s`` [W] in seconds (each end after its start),
    ``scores`` [W] (higher: more likely fake), all finite. Stored as float64 arrays."""

    starts_s: np.ndarray
    ends_s: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        arrays = [np.asarray(a, np.float64) for a in (self.starts_s, self.ends_s, self.scores)]
        if any(a.ndim != 1 for a in arrays) or len({len(a) for a in arrays}) != 1:
            raise ValueError("window starts, ends and scores must be 1-D arrays of one length")
        if not all(np.isfinite(a).all() for a in arrays):
            raise ValueError("window starts, ends and scores must be finite")
        if (arrays[1] <= arrays[0]).any():
            raise ValueError("every window must end after it starts")
        for name, array in zip(("starts_s", "ends_s", "scores"), arrays, strict=True):
            object.__setattr__(self, name, array)


@dataclasses.dataclass(frozen=True)
class FrameAUC:
    """Frame-level AUC over every scored grid frame of every clip, with what it was computed on."""

    auc: float  # NaN when the scored frames are all real or all fake
    frames: int  # scored frames
    fake_frames: int  # of which inside a ground-truth segment
    unscored_frames: int  # frames no window covers: left out


def segments_by_path(
    rows: Iterable[ManifestRow], column: str = "fake_segments"
) -> dict[str, list[tuple[float, float]]]:
    """Ground truth from manifest rows: ``{path: [(start_s, end_s), ...]}`` of ``column`` (``fake_segments``,
    ``video_fake_segments`` or ``audio_fake_segments``), in the manifest's order."""
    return {row.path: segments_of(getattr(row, column)) for row in rows}


def window_proposals(
    windows: WindowScores, thresholds: float | Sequence[float] = 0.5, max_gap_s: float = 0.0, score: Reduce = "mean"
) -> np.ndarray:
    """Segment proposals from one clip's window scores, as ``[P, 3]`` rows ``(score, start_s, end_s)``.

    For each threshold: windows are taken in start order (ties: earlier end first); a run of consecutive
    windows each scoring ``>= threshold``, each starting at most ``max_gap_s`` after the latest end so far
    (overlapping or touching windows join), is one proposal from the run's first start to its latest end,
    scored with the ``mean`` (default) or ``max`` of its windows' scores. A window below the threshold ends a
    run even where the windows around it overlap. Proposals of all thresholds are pooled (several thresholds
    give the short and long proposals AR@N needs), one per ``(start, end)`` kept with its highest score, and
    sorted by descending score (ties: earlier start, then earlier end)."""
    if max_gap_s < 0 or not np.isfinite(max_gap_s):
        raise ValueError(f"max_gap_s must be a finite number >= 0, not {max_gap_s}")
    if score not in ("mean", "max"):
        raise ValueError(f"score must be 'mean' or 'max', not {score!r}")
    order = np.lexsort((windows.ends_s, windows.starts_s))
    starts, ends, scores = windows.starts_s[order], windows.ends_s[order], windows.scores[order]
    levels = np.atleast_1d(np.asarray(thresholds, np.float64))
    if levels.ndim != 1 or not len(levels) or not np.isfinite(levels).all():
        raise ValueError(f"thresholds must be one or more finite numbers, not {thresholds}")
    best: dict[tuple[float, float], float] = {}
    for threshold in levels:
        run: list[int] = []  # indices of the open run's windows
        for i in range(len(scores)):
            if run and (scores[i] < threshold or starts[i] > ends[run].max() + max_gap_s):
                _close(run, starts, ends, scores, score, best)
                run = []
            if scores[i] >= threshold:
                run.append(i)
        if run:
            _close(run, starts, ends, scores, score, best)
    rows = sorted(((s, a, b) for (a, b), s in best.items()), key=lambda r: (-r[0], r[1], r[2]))
    return np.array(rows, np.float64).reshape(-1, 3)


def _close(
    run: list[int],
    starts: np.ndarray,
    ends: np.ndarray,
    scores: np.ndarray,
    score: Reduce,
    best: dict[tuple[float, float], float],
) -> None:
    """Record the run of window indices as one proposal, keeping the highest score per extent."""
    extent = (float(starts[run[0]]), float(ends[run].max()))
    value = float(scores[run].mean() if score == "mean" else scores[run].max())
    best[extent] = max(value, best.get(extent, -np.inf))


def _ground_truth(segments: Mapping[str, Sequence[Sequence[float]]]) -> dict[str, np.ndarray]:
    """``{clip: [L, 2]}`` float64 segments, each checked (finite, ``0 <= start < end``)."""
    out = {}
    for clip, items in segments.items():
        array = np.asarray(items, np.float64) if len(items) else np.zeros((0, 2))
        if array.ndim != 2 or array.shape[1] != 2:
            raise ValueError(f"{clip}: ground truth must be (start_s, end_s) pairs")
        for start, end in array:
            problem = segment_problem(float(start), float(end))
            if problem is not None:
                raise ValueError(f"{clip}: ground truth {problem}")
        out[clip] = array
    return out


def _ranked_proposals(proposals: Mapping[str, ArrayLike], clips: Iterable[str]) -> dict[str, np.ndarray]:
    """``{clip: [P, 3]}`` proposals of every ground-truth clip, ranked by descending score (stable)."""
    clips = list(clips)
    missing = [c for c in clips if c not in proposals]
    if missing:
        raise ValueError(f"no proposals for {len(missing)} clip(s), e.g. {missing[0]} (give [] for none)")
    out = {}
    for clip in clips:
        array = np.asarray(proposals[clip], np.float64)
        array = array if array.size else np.zeros((0, 3))
        if array.ndim != 2 or array.shape[1] != 3 or not np.isfinite(array).all():
            raise ValueError(f"{clip}: proposals must be finite (score, start_s, end_s) rows")
        if (array[:, 2] <= array[:, 1]).any():
            raise ValueError(f"{clip}: every proposal must end after it starts")
        out[clip] = array[np.argsort(-array[:, 0], kind="stable")]
    return out


def iou(proposals: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """``[P, L]`` float32 IoU of ``[P, 2]`` proposal and ``[L, 2]`` segment intervals (seconds): intersection over
    union, computed in float32 as both reference implementations do (module docstring)."""
    ends_p, ends_s = proposals[:, None, 1].astype(np.float32), segments[None, :, 1].astype(np.float32)
    starts_p, starts_s = proposals[:, None, 0].astype(np.float32), segments[None, :, 0].astype(np.float32)
    inner = np.maximum(np.minimum(ends_p, ends_s) - np.maximum(starts_p, starts_s), np.float32(0))
    hull = np.maximum(ends_p, ends_s) - np.minimum(starts_p, starts_s)  # the union wherever they overlap
    return inner / hull  # [P, L]; 0 where they do not overlap


def _true_positives(proposals: np.ndarray, segments: np.ndarray, threshold: float) -> np.ndarray:
    """``[P]`` bool: each segment, in order, takes the first free proposal (in rank order) with IoU > threshold."""
    above = iou(proposals[:, 1:], segments) > np.float32(threshold)  # [P, L]
    taken = np.zeros(len(proposals), bool)
    for column in above.T:
        free = np.flatnonzero(column & ~taken)
        if len(free):
            taken[free[0]] = True
    return taken


def average_precision_at_iou(
    proposals: Mapping[str, ArrayLike],
    segments: Mapping[str, Sequence[Sequence[float]]],
    iou_thresholds: Sequence[float] = AP_IOU_THRESHOLDS,
) -> dict[float, float]:
    """AP at each IoU threshold, as the AV-Deepfake1M benchmark defines it (module docstring).

    ``proposals``: ``{clip: [P, 3] (score, start_s, end_s)}`` for every clip of ``segments`` (more are ignored);
    ``segments``: ``{clip: [(start_s, end_s), ...]}``, empty for a real clip. Returns ``{threshold: AP}``."""
    truth = _ground_truth(segments)
    ranked = _ranked_proposals(proposals, truth)
    total = sum(len(s) for s in truth.values())
    if not total:
        return {threshold: float("nan") for threshold in iou_thresholds}
    scores = np.concatenate([ranked[c][:, 0] for c in truth])  # [K] every clip's proposals, clips in order
    out = {}
    for threshold in iou_thresholds:
        hits = np.concatenate([_true_positives(ranked[c], truth[c], threshold) for c in truth])  # [K]
        hits = hits[np.argsort(-scores.astype(np.float32), kind="stable")].astype(
            np.float64
        )  # f32 ranks, as the reference
        found = np.cumsum(hits)
        precision, recall = found / np.arange(1, len(found) + 1), found / total
        best_after = np.maximum.accumulate(precision[::-1])[::-1]  # max precision at this rank or later
        out[threshold] = float(np.sum(np.diff(recall) * best_after[1:]))  # steps k >= 2 only, as the reference
    return out


def average_recall_at_n(
    proposals: Mapping[str, ArrayLike],
    segments: Mapping[str, Sequence[Sequence[float]]],
    n_proposals: Sequence[int] = AR_PROPOSALS,
    iou_thresholds: Sequence[float] = AR_IOU_THRESHOLDS,
) -> dict[int, float]:
    """AR@N for each N, as the AV-Deepfake1M benchmark defines it (module docstring); arguments as
    :func:`average_precision_at_iou`. Returns ``{N: AR}``, NaN when no clip has a segment."""
    if not n_proposals or any(int(n) != n or n < 1 for n in n_proposals):
        raise ValueError(f"n_proposals must be whole numbers >= 1, not {list(n_proposals)}")
    truth = _ground_truth(segments)
    ranked = _ranked_proposals(proposals, truth)
    thresholds = np.asarray(iou_thresholds, np.float32)  # [I], compared in float32 as the IoUs
    recalled = np.zeros((len(thresholds), len(n_proposals)))  # [I, N] segments recalled, summed over clips
    total = 0
    for clip, truth_segments in truth.items():
        total += len(truth_segments)
        top = ranked[clip][: max(n_proposals)]
        if not len(truth_segments) or not len(top):
            continue
        best = np.maximum.accumulate(iou(top[:, 1:], truth_segments), axis=0)  # [P, L]: best IoU in the first k + 1
        for j, n in enumerate(n_proposals):
            recalled[:, j] += (best[min(n, len(top)) - 1][None, :] > thresholds[:, None]).sum(axis=1)
    if not total:
        return {int(n): float("nan") for n in n_proposals}
    return {int(n): float((recalled[:, j] / total).mean()) for j, n in enumerate(n_proposals)}


def frame_scores(windows: WindowScores, duration_s: float, fps: int = FPS, reduce: Reduce = "mean") -> np.ndarray:
    """``[T]`` score per grid frame (``T = round(duration_s * fps)``, frame i covering ``[i/fps, (i+1)/fps)``):
    the mean (or max) score of the windows whose ``[start, end)`` holds the frame's centre ``(i + 0.5) / fps``;
    NaN where none does."""
    if reduce not in ("mean", "max"):
        raise ValueError(f"reduce must be 'mean' or 'max', not {reduce!r}")
    centres = (np.arange(int(round(duration_s * fps))) + 0.5) / fps  # [T]
    inside = (centres[:, None] >= windows.starts_s[None]) & (centres[:, None] < windows.ends_s[None])  # [T, W]
    covered = inside.any(axis=1)
    out = np.full(len(centres), np.nan)
    if reduce == "mean":
        out[covered] = (inside * windows.scores[None]).sum(axis=1)[covered] / inside.sum(axis=1)[covered]
    else:
        out[covered] = np.where(inside, windows.scores[None], -np.inf).max(axis=1)[covered]
    return out


def frame_labels(segments: Sequence[Sequence[float]] | np.ndarray, duration_s: float, fps: int = FPS) -> np.ndarray:
    """``[T]`` bool: grid frame i is fake when its centre ``(i + 0.5) / fps`` lies in a segment's
    ``[start, end)``. On segments that fall on the frame grid (AV-Deepfake1M's are multiples of 40 ms) this
    labels frames ``start * fps`` to ``end * fps - 1``, as the authors' frame loader does, without its float
    truncation."""
    centres = (np.arange(int(round(duration_s * fps))) + 0.5) / fps
    fake = np.zeros(len(centres), bool)
    for start, end in segments:
        fake |= (centres >= start) & (centres < end)
    return fake


def frame_auc(
    windows: Mapping[str, WindowScores],
    segments: Mapping[str, Sequence[Sequence[float]]],
    durations_s: Mapping[str, float],
    fps: int = FPS,
    reduce: Reduce = "mean",
) -> FrameAUC:
    """Frame-level AUC pooled over every clip of ``segments``: each grid frame scored by :func:`frame_scores`
    and labelled by :func:`frame_labels`; frames no window covers are left out and counted."""
    truth = _ground_truth(segments)
    missing = [c for c in truth if c not in windows or c not in durations_s]
    if missing:
        raise ValueError(f"no window scores or duration for {len(missing)} clip(s), e.g. {missing[0]}")
    scores = [frame_scores(windows[c], durations_s[c], fps, reduce) for c in truth]
    labels = [frame_labels(truth[c], durations_s[c], fps) for c in truth]
    score, label = (np.concatenate(a) if a else np.zeros(0) for a in (scores, labels))
    scored = ~np.isnan(score)
    return FrameAUC(
        auc=auc(label[scored], score[scored]),
        frames=int(scored.sum()),
        fake_frames=int(label[scored].sum()),
        unscored_frames=int((~scored).sum()),
    )


def localisation_metrics(
    windows: Mapping[str, WindowScores],
    segments: Mapping[str, Sequence[Sequence[float]]],
    durations_s: Mapping[str, float],
    thresholds: float | Sequence[float] = 0.0,
    max_gap_s: float = 0.0,
    score: Reduce = "mean",
    reduce: Reduce = "mean",
) -> dict[str, Any]:
    """Every localisation metric of a set of clips from their window scores: proposals by :func:`window_proposals`
    (``thresholds``, ``max_gap_s``, ``score``), AP at :data:`AP_IOU_THRESHOLDS`, AR@N for :data:`AR_PROPOSALS` and
    the frame-level AUC (``reduce``: how overlapping windows score a frame). ``segments`` names the clips (real
    ones with none); every one needs its windows and its duration in seconds. Plain data for a results file:
    ``{"ap": {"0.5": ...}, "ar": {"10": ...}, "frame_auc", "frames", "fake_frames", "unscored_frames", "clips",
    "segments", "proposals"}``."""
    proposals = {clip: window_proposals(windows[clip], thresholds, max_gap_s, score) for clip in segments}
    precision = average_precision_at_iou(proposals, segments)
    recall = average_recall_at_n(proposals, segments)
    frames = frame_auc(windows, segments, durations_s, reduce=reduce)
    return {
        "ap": {f"{threshold:g}": value for threshold, value in precision.items()},
        "ar": {str(n): value for n, value in recall.items()},
        "frame_auc": frames.auc,
        "frames": frames.frames,
        "fake_frames": frames.fake_frames,
        "unscored_frames": frames.unscored_frames,
        "clips": len(segments),
        "segments": int(sum(len(s) for s in segments.values())),
        "proposals": int(sum(len(p) for p in proposals.values())),
    }
