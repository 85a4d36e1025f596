"""Temporal localisation: window scores -> proposals, AP at IoU, AR@N and frame-level AUC, each on a case small
enough to compute by hand (the computation is written beside each expected value).

The AP / AR definitions are those of the AV-Deepfake1M benchmark (emoboost/benchmark/localisation.py's docstring).
The authors' package (``avdeepfake1m`` on PyPI) cannot be imported beside this project's pins (it requires
numpy < 2, pandas 2, lightning, torchmetrics, opencv), so the values here are hand-computed; its compiled
evaluator, loaded alone from the wheel, agreed with this module to 1e-7 on 200 random sets (docs/decisions.md).
"""

import numpy as np
import pytest

from emoboost.benchmark.localisation import (
    WindowScores,
    average_precision_at_iou,
    average_recall_at_n,
    frame_auc,
    frame_labels,
    frame_scores,
    segments_by_path,
    window_proposals,
)
from emoboost.data.manifest import ManifestRow

# windows (start_s, end_s, score), given out of order: the function sorts them by start
WINDOWS = WindowScores(
    starts_s=np.array([4.0, 0.0, 1.0, 2.0, 3.0, 8.0]),
    ends_s=np.array([6.0, 2.0, 3.0, 4.0, 5.0, 10.0]),
    scores=np.array([0.875, 0.25, 0.75, 0.5, 0.25, 0.625]),
)


def test_windows_above_the_threshold_merge_into_scored_proposals():
    # by start: [0,2] .25 | [1,3] .75 | [2,4] .5 | [3,5] .25 | [4,6] .875 | [8,10] .625; threshold 0.5 (>=):
    # run [1,3]+[2,4] (overlap) -> (1, 4), mean (.75 + .5) / 2 = .625; [3,5] is below: the run ends;
    # [4,6] alone -> (4, 6) .875 ([8,10] starts 2 s after 6: a gap) ; [8,10] -> (8, 10) .625.
    # order: score down, then start: (4,6) .875, (1,4) .625, (8,10) .625
    assert window_proposals(WINDOWS).tolist() == [[0.875, 4.0, 6.0], [0.625, 1.0, 4.0], [0.625, 8.0, 10.0]]
    # max instead of mean: (1, 4) scores max(.75, .5) = .75
    assert window_proposals(WINDOWS, score="max").tolist() == [[0.875, 4.0, 6.0], [0.75, 1.0, 4.0], [0.625, 8.0, 10.0]]
    # a 2 s gap allowed: [8,10] starts at 8 <= 6 + 2, so it joins [4,6]: (4, 10), mean (.875 + .625) / 2 = .75
    assert window_proposals(WINDOWS, max_gap_s=2.0).tolist() == [[0.75, 4.0, 10.0], [0.625, 1.0, 4.0]]
    # thresholds 0.5 and 0.7 pooled: at 0.7 the runs are [1,3] alone -> (1, 3) .75 and [4,6] -> (4, 6) .875,
    # the latter already found at 0.5 with the same score: kept once
    assert window_proposals(WINDOWS, thresholds=(0.5, 0.7)).tolist() == [
        [0.875, 4.0, 6.0],
        [0.75, 1.0, 3.0],
        [0.625, 1.0, 4.0],
        [0.625, 8.0, 10.0],
    ]
    assert window_proposals(WINDOWS, thresholds=0.9).shape == (0, 3)  # nothing above: no proposal


# Three clips. A: one fake segment (1, 3); B: two, (2, 4) and (6, 8); C: real. Proposals (score, start, end),
# A's given out of score order (they are ranked per clip first).
SEGMENTS = {"A": [(1.0, 3.0)], "B": [(2.0, 4.0), (6.0, 8.0)], "C": []}
PROPOSALS = {
    "A": [[0.4, 5.0, 6.0], [0.9, 1.0, 3.0], [0.8, 1.0, 2.0]],
    "B": [[0.7, 2.0, 4.0], [0.6, 6.0, 7.5], [0.5, 2.0, 4.0]],
    "C": [[0.85, 0.0, 1.0]],
}


def test_average_precision_at_iou_as_the_benchmark_defines_it():
    # IoUs: A .9 -> 1.0, A .8 (1,2) vs (1,3): 1 / 2 = 0.5 (not > 0.5: strict), A .4 -> 0; B .7 -> 1.0 with (2,4),
    # B .6 (6,7.5) vs (6,8): 1.5 / 2 = 0.75, B .5 -> 1.0 with (2,4), already taken by .7; C .85: a real clip.
    # IoU 0.5: TP = A.9, B.7, B.6 (0.75 > 0.5). Ranked over all clips (3 segments in all):
    #   score  .9  .85  .8   .7   .6   .5   .4
    #   TP     1   0    0    1    1    0    0
    #   prec   1   1/2  1/3  2/4  3/5  3/6  3/7
    #   recall 1/3 1/3  1/3  2/3  1    1    1
    # max precision at rank k or later: k=2..5 -> .6, k=6 -> .5, k=7 -> 3/7.
    # AP = sum over k >= 2 of (r_k - r_{k-1}) * that max = (1/3) * .6 (k=4) + (1/3) * .6 (k=5) = 0.4
    # (the first step r_1 - 0 = 1/3 is not counted, as in the reference; VOC-style AP would add 1/3 * 1).
    # IoU 0.75 and 0.95: B.6 is no longer a TP (0.75 is not > 0.75); TP = A.9, B.7:
    #   TP 1 0 0 1 0 0 0, recall steps at k=4 only (1/3), max precision from k=4 on: 2/4 -> AP = 1/3 * 1/2 = 1/6.
    ap = average_precision_at_iou(PROPOSALS, SEGMENTS)
    assert list(ap) == [0.5, 0.75, 0.95]
    assert ap[0.5] == pytest.approx(0.4) and ap[0.75] == pytest.approx(1 / 6) and ap[0.95] == pytest.approx(1 / 6)


def test_the_first_recall_step_is_not_counted_as_in_the_reference():
    # one segment, one perfect proposal: ranks (TP), recall 1 at k=1, no step k >= 2: AP = 0 by the definition
    assert average_precision_at_iou({"A": [[0.9, 1.0, 3.0]]}, {"A": [(1.0, 3.0)]}, [0.5]) == {0.5: 0.0}
    # a false positive ranked first moves the hit to k=2: AP = (1 - 0) * (1/2) = 0.5
    found_second = {"A": [[0.9, 5.0, 6.0], [0.8, 1.0, 3.0]]}
    assert average_precision_at_iou(found_second, {"A": [(1.0, 3.0)]}, [0.5]) == {0.5: 0.5}
    assert np.isnan(average_precision_at_iou({"C": [[0.9, 0.0, 1.0]]}, {"C": []})[0.5])  # no segment: undefined


def test_average_recall_at_n_as_the_benchmark_defines_it():
    # best IoU of each segment among each clip's N best proposals:
    #   N=1: A(1,3) 1.0 (.9); B(2,4) 1.0 (.7); B(6,8) 0 (only .7 read)
    #   N>=2: B(6,8) gets 0.75 (.6); the rest unchanged
    # thresholds .5:.05:.95 (10): a segment counts where its IoU > t.
    # N=1: 2 of 3 segments at every threshold -> AR = 2/3.
    # N=2: at t = .5 .55 .6 .65 .7 (0.75 > t) 3/3, at t = .75 ... .95 2/3 -> AR = (5 * 1 + 5 * 2/3) / 10 = 5/6.
    # N=3 and N=100 (more than any clip has): as N=2.
    ar = average_recall_at_n(PROPOSALS, SEGMENTS, n_proposals=(1, 2, 3, 100))
    assert ar == pytest.approx({1: 2 / 3, 2: 5 / 6, 3: 5 / 6, 100: 5 / 6})
    # a clip with a segment and no proposal has it missed: 4 segments, N=1 recalls 2 -> 1/2
    more = average_recall_at_n({**PROPOSALS, "D": []}, {**SEGMENTS, "D": [(0.0, 1.0)]}, n_proposals=(1,))
    assert more == pytest.approx({1: 0.5})


def test_iou_on_the_frame_grid_is_taken_as_the_reference_takes_it():
    # Frame-aligned times whose exact IoU is exactly 0.5, where float rounding decides "above 0.5":
    # proposal (0.12, 0.32) vs segment (0, 0.28): 0.16 / 0.32 = 0.5; float64 gives 0.5000000000000001 (above),
    # float32, the reference's arithmetic, gives 0.5 (not above): not recalled, and with a false positive ranked
    # first, AP = 0 (a hit second would give (1 - 0) * 1/2 = 0.5).
    assert (min(0.32, 0.28) - max(0.12, 0.0)) / (max(0.32, 0.28) - min(0.12, 0.0)) > 0.5  # float64
    assert average_recall_at_n({"A": [[0.9, 0.12, 0.32]]}, {"A": [(0.0, 0.28)]}, (1,), (0.5,)) == {1: 0.0}
    first_wrong = {"A": [[0.95, 5.0, 6.0], [0.9, 0.12, 0.32]]}
    assert average_precision_at_iou(first_wrong, {"A": [(0.0, 0.28)]}, [0.5]) == {0.5: 0.0}
    # and the other way: proposal (0.04, 0.64) vs (0, 0.36): exactly 0.32 / 0.64 = 0.5, float32 0.50000006: above,
    # so the reference recalls it (AR 1) and AP with the false positive first is 1/2
    assert average_recall_at_n({"A": [[0.9, 0.04, 0.64]]}, {"A": [(0.0, 0.36)]}, (1,), (0.5,)) == {1: 1.0}
    first_wrong = {"A": [[0.95, 5.0, 6.0], [0.9, 0.04, 0.64]]}
    assert average_precision_at_iou(first_wrong, {"A": [(0.0, 0.36)]}, [0.5]) == {0.5: 0.5}


def test_frame_scores_labels_and_auc():
    # fps 4, 2 s: 8 frames, centres .125 .375 .625 .875 1.125 1.375 1.625 1.875.
    # windows [0, 1) .2 and [0.5, 1.5) .6: frames 0-1 see the first, 2-3 both, 4-5 the second, 6-7 none.
    windows = WindowScores(np.array([0.0, 0.5]), np.array([1.0, 1.5]), np.array([0.2, 0.6]))
    mean = frame_scores(windows, 2.0, fps=4)
    assert mean[:6] == pytest.approx([0.2, 0.2, 0.4, 0.4, 0.6, 0.6]) and np.isnan(mean[6:]).all()
    assert frame_scores(windows, 2.0, fps=4, reduce="max")[:6] == pytest.approx([0.2, 0.2, 0.6, 0.6, 0.6, 0.6])
    # segment [0.5, 1.25): centres .625 .875 1.125 inside -> frames 2, 3, 4 fake
    labels = frame_labels([(0.5, 1.25)], 2.0, fps=4)
    assert labels.tolist() == [False, False, True, True, True, False, False, False]
    # clip "a": scored frames 0-5, fakes (2, 3, 4) score .4 .4 .6, reals (0, 1, 5) .2 .2 .6; clip "b" (real, 1 s):
    # one window [0, 1) .1, four real frames at .1. Pairs fake > real: each .4 beats 2 x .2 and 4 x .1 (6 each,
    # 12), loses to .6; the .6 beats 2 x .2 + 4 x .1 (6) and ties .6 (0.5): (12 + 6.5) / (3 x 7) = 18.5 / 21.
    result = frame_auc(
        {"a": windows, "b": WindowScores(np.array([0.0]), np.array([1.0]), np.array([0.1]))},
        {"a": [(0.5, 1.25)], "b": []},
        {"a": 2.0, "b": 1.0},
        fps=4,
    )
    assert result.auc == pytest.approx(18.5 / 21)
    assert (result.frames, result.fake_frames, result.unscored_frames) == (10, 3, 2)
    # max, clip "a" alone: fakes .6 .6 .6, reals .2 .2 .6: each fake beats the two .2 and ties the .6 (2.5 of 3)
    maxed = frame_auc({"a": windows}, {"a": [(0.5, 1.25)]}, {"a": 2.0}, fps=4, reduce="max")
    assert maxed.auc == pytest.approx(3 * 2.5 / 9)


def test_frame_labels_on_the_25_fps_grid_match_the_authors_frame_rule():
    # the AV-Deepfake1M loader labels frames int(0.48 * 25) = 12 to int(0.86 * 25) - 1 = 20; frame centres agree
    assert np.flatnonzero(frame_labels([(0.48, 0.86)], 1.0)).tolist() == list(range(12, 21))


def test_segments_come_from_the_manifest_columns():
    row = ManifestRow(
        "a.mp4", 1, "FVFA", "AVDF1M-AV", "", "id00001", ("id00001",),
        fake_segments="4.4:4.64;5.0:5.2", video_fake_segments="4.4:4.64",
    )  # fmt: skip
    assert segments_by_path([row]) == {"a.mp4": [(4.4, 4.64), (5.0, 5.2)]}
    assert segments_by_path([row], "video_fake_segments") == {"a.mp4": [(4.4, 4.64)]}


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="no proposals for 1 clip"):
        average_precision_at_iou({}, {"A": [(1.0, 2.0)]})
    with pytest.raises(ValueError, match="every proposal must end after it starts"):
        average_recall_at_n({"A": [[0.9, 2.0, 1.0]]}, {"A": [(1.0, 2.0)]})
    with pytest.raises(ValueError, match="ground truth segment"):
        average_precision_at_iou({"A": []}, {"A": [(2.0, 1.0)]})
    with pytest.raises(ValueError, match="every window must end after it starts"):
        WindowScores(np.array([1.0]), np.array([1.0]), np.array([0.5]))
    with pytest.raises(ValueError, match="whole numbers >= 1"):
        average_recall_at_n({"A": []}, {"A": []}, n_proposals=(0,))
