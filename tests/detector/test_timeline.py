"""The timeline figure and the case report's choice of key frames, on a hand-made verdict (no model needed)."""

import numpy as np

from emoboost.detector.case_report import HIGHEST, LOWEST, key_frames
from emoboost.detector.timeline import draw_timeline, panel_names
from emoboost.detector.verdict import Segment, Tracks, Verdict


def hand_verdict(face_from_frame: int = 0, silent_tokens: slice = slice(0, 0)) -> Verdict:
    n_tokens, n_frames = 20, 100  # 4 s at 5 Hz tokens / 25 fps
    boxes = np.tile(np.array([10, 10, 60, 60], np.float32), (n_frames, 1))
    boxes[:face_from_frame] = np.nan
    face_fraction = np.clip((np.arange(n_tokens) * 5 + 5 - face_from_frame) / 5, 0, 1)
    tracks = Tracks(
        time_s=(np.arange(n_tokens) + 0.5) / 5,
        emo_probability=np.full(n_tokens, 0.5),
        mismatch=np.linspace(0.2, 1.5, n_tokens),
        face_fraction=face_fraction,
        expressions=np.full((n_tokens, 7), 1 / 7),
        expression_labels=("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"),
        voice_level_db=np.full(n_tokens, -20.0),
        prosody={"loudness": np.sin(np.arange(n_tokens)), "pitch": np.cos(np.arange(n_tokens))},
        face_boxes=boxes,
        speech_fraction=np.where(np.isin(np.arange(n_tokens), np.arange(n_tokens)[silent_tokens]), 0.0, 1.0),
    )
    llrs = [-1.0, 2.5, 0.3, -3.0, 1.0]  # windows of 2 s, hop 0.5 s
    segments = tuple(Segment(0.5 * i, 0.5 * i + 2.0, llr, 1 / (1 + np.exp(-llr)), 0.5) for i, llr in enumerate(llrs))
    return Verdict(
        path="/cases/clip.mp4",
        sha256="a" * 64,
        label="fake",
        llr=0.8,
        log10_lr=0.8 / np.log(10),
        lr_verbal="weak support for manipulated",
        prior=0.5,
        probability=0.69,
        threshold=0.0,
        scores={},
        modalities={},
        segments=segments,
        duration_s=4.0,
        model_id="m",
        warnings=(),
        provenance={"weights_sha256": "b" * 64},
        tracks=tracks,
    )


def test_timeline_panels_have_one_axis_each_and_legends_outside():
    import matplotlib.pyplot as plt

    verdict = hand_verdict(face_from_frame=30)
    fig = draw_timeline(verdict)
    try:
        assert len(fig.axes) == 4  # no twin axes
        assert [axis.get_ylabel().split(" (")[0] for axis in fig.axes] == [
            name.split(" (")[0] for name in panel_names(verdict)
        ]
        llr_axis = fig.axes[0]
        assert any(
            np.allclose(line.get_ydata(), 0.0) and line.get_linestyle() == "--" for line in llr_axis.get_lines()
        )  # threshold
        fig.canvas.draw()
        for axis in fig.axes:
            legend = axis.get_legend()
            if legend is not None:  # legends sit right of the plotting area, never on the data
                assert legend.get_window_extent().x0 >= axis.get_window_extent().x1
        assert "no face tracked" in [t.get_text() for t in llr_axis.get_legend().get_texts()]
    finally:
        plt.close(fig)


def test_key_frames_come_from_the_most_and_least_suspicious_windows_inside_face_tracks():
    verdict = hand_verdict(face_from_frame=30)
    picks = key_frames(verdict)
    assert 3 <= len(picks) <= 6
    most = [p for p in picks if p[1] == HIGHEST]
    least = [p for p in picks if p[1] == LOWEST]
    assert {p[2] for p in most} == {2.5, 1.0} and {p[2] for p in least} == {-3.0, -1.0}
    assert all(
        frame >= 32 for frame, _, _ in picks if frame < 50
    )  # never a frame at a track's first, interpolated frames


def test_timeline_of_a_visual_encoder_without_expression_classes():
    """face-geometry alone has no classes: the panel says so instead of failing on an empty stack."""
    import dataclasses

    import matplotlib.pyplot as plt

    verdict = hand_verdict()
    tracks = dataclasses.replace(verdict.tracks, expressions=np.zeros((20, 0)), expression_labels=())
    fig = draw_timeline(dataclasses.replace(verdict, tracks=tracks))
    try:
        texts = [text.get_text() for axis in fig.axes for text in axis.texts]
        assert "the visual encoder has no expression classes" in texts
    finally:
        plt.close(fig)


def test_prosody_is_masked_where_the_vad_hears_no_speech_and_windows_are_steps():
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    import emoboost
    from emoboost.detector.timeline import EXPRESSION_COLOURS, NO_FACE, NO_SPEECH_COLOUR

    verdict = hand_verdict(face_from_frame=30, silent_tokens=slice(5, 10))
    fig = draw_timeline(verdict)
    try:
        llr_axis, _, voice_axis, _ = fig.axes
        for line in voice_axis.get_lines():
            if "z-score" in str(line.get_label()):
                shown = np.asarray(line.get_ydata(), np.float64)
                assert np.isnan(shown[5:10]).all() and np.isfinite(shown[:5]).all()  # no pitch drawn through silence
        assert "no speech (VAD): not drawn" in [t.get_text() for t in voice_axis.get_legend().get_texts()]
        # windows: one horizontal step per window over its own span, and no line joining window centres
        steps = [c for c in llr_axis.collections if isinstance(c, LineCollection)]
        spans = sorted((round(seg[0][0], 3), round(seg[1][0], 3)) for c in steps for seg in c.get_segments())
        assert spans == [(0.5 * i, 0.5 * i + 2.0) for i in range(5)]
        assert not [line for line in llr_axis.get_lines() if len(line.get_xdata()) > 2]
        texts = " ".join(t.get_text() for t in fig.texts)
        assert f"weights {'b' * 12}" in texts and f"SHA-256 {'a' * 16}" in texts and emoboost.__version__ in texts
        assert "detector m" in texts
        assert NO_FACE["facecolor"] == "none" and NO_SPEECH_COLOUR != EXPRESSION_COLOURS["neutral"]
    finally:
        plt.close(fig)
