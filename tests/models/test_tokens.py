import numpy as np

from emoboost.models.tokens import tokenize, window_starts, windows


def test_tokens_average_face_frames_only_and_mask_faceless_tokens():
    visual = np.arange(12, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    speech = np.ones((12, 2), np.float32)
    face = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], bool)
    tokens = tokenize(visual, speech, face, token_frames=5)
    assert len(tokens) == 3  # 12 frames -> ceil(12 / 5)
    assert tokens.visual_mask.tolist() == [True, False, True]
    np.testing.assert_allclose(tokens.visual[0], 0.5)  # mean of frames 0 and 1, not of all five
    np.testing.assert_allclose(tokens.visual[1], 0.0)
    np.testing.assert_allclose(tokens.visual[2], 10.0)  # frame 10 only; 11 has no face, 12-14 do not exist
    np.testing.assert_allclose(tokens.speech, 1.0)  # the partial last token is not diluted by padding


def test_window_starts_cover_short_and_long_clips():
    assert window_starts(10, 40, 20) == [0]  # shorter than one window: one padded window
    assert window_starts(40, 40, 20) == [0]
    assert window_starts(60, 40, 20) == [0, 20]
    assert window_starts(75, 40, 20) == [0, 20, 35]  # the last window ends at the clip's end
    for n in (1, 39, 41, 99, 250):
        starts = window_starts(n, 40, 20)
        covered = np.zeros(n, bool)
        for start in starts:
            covered[start : start + 40] = True
        assert covered.all()


def test_short_clip_window_is_padded_and_masked():
    tokens = tokenize(np.ones((50, 4), np.float32), np.ones((50, 3), np.float32), np.ones(50, bool), 5)
    batch = windows(tokens, 40, 20)
    assert batch.visual.shape == (1, 40, 4) and batch.speech.shape == (1, 40, 3)
    assert batch.visual_mask[0].tolist() == [True] * 10 + [False] * 30
    assert batch.speech_mask[0].tolist() == [True] * 10 + [False] * 30
    assert not batch.visual[0, 10:].any()


def test_speech_tokens_average_speech_frames_only_and_mask_silent_tokens():
    speech = np.arange(12, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    audio = np.array([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1], bool)
    tokens = tokenize(np.ones((12, 3), np.float32), speech, np.ones(12, bool), token_frames=5, audio_mask=audio)
    assert tokens.speech_mask.tolist() == [True, False, True]
    np.testing.assert_allclose(tokens.speech[0], 2.5)  # frames 2 and 3, not the pause around them
    np.testing.assert_allclose(tokens.speech[2], 11.0)
    assert tokens.visual_mask.all()  # the face mask is independent of the voice
    assert tokenize(
        np.ones((12, 3), np.float32), speech, np.ones(12, bool), 5
    ).speech_mask.all()  # no audio mask: all speech
