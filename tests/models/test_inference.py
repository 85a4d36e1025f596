import dataclasses

import numpy as np
import pytest
import sequences

from emoboost.models.emoforensics import EmoForensics, EmoForensicsConfig
from emoboost.models.inference import ClipScores, predict_clip, predict_logits, sigmoid

TINY = EmoForensicsConfig(
    d_model=32, heads=2, intra_layers=1, inter_layers=1, feedforward=64, dropout=0.0, alignment_dim=16
)


def test_clips_shorter_and_longer_than_a_window():
    model = EmoForensics(TINY, 16, 12).eval()
    for frames in (60, 200, 530):  # 12 tokens, 40 tokens, 106 tokens
        clip = sequences.clips(1, seed=frames, frames=frames)[0]
        scores = predict_clip(model, clip.tokens)
        assert len(scores.token_logits) == len(clip.tokens) == -(-frames // 5)
        assert len(scores.mismatch) == len(clip.tokens)
        assert len(scores.window_logits) == len(scores.window_starts)
        assert scores.logit == pytest.approx(float(np.mean(scores.window_logits)), abs=1e-5)
        assert scores.visual_logit is not None and scores.speech_logit is not None


def test_scores_are_frozen_and_absent_heads_are_none():
    face_only = dataclasses.replace(TINY, inter_layers=0, modalities=("visual",))
    clip = sequences.clips(1, seed=0, frames=200)[0]
    scores = predict_clip(EmoForensics(face_only, 16, 12).eval(), clip.tokens)
    assert isinstance(scores, ClipScores) and scores.speech_logit is None and scores.mismatch is None
    assert isinstance(scores.visual_logit, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scores.logit = 0.0


def test_predict_logits_is_the_clip_logit_of_each_clip():
    model = EmoForensics(TINY, 16, 12).eval()
    clips = sequences.clips(3, seed=4)
    np.testing.assert_array_equal(predict_logits(model, clips), [predict_clip(model, c.tokens).logit for c in clips])


def test_sigmoid_never_overflows_and_agrees_for_scalars_and_arrays():
    values = np.array([-1000.0, -2.0, 0.0, 3.0, 1000.0])
    probabilities = sigmoid(values)
    assert np.isfinite(probabilities).all() and probabilities[2] == 0.5
    assert [sigmoid(float(v)) for v in values] == pytest.approx(probabilities.tolist())


def test_the_mismatch_is_only_where_both_a_face_and_speech_are_there():
    model = EmoForensics(TINY, 16, 12).eval()
    clip = sequences.clips(1, seed=7, frames=200)[0]
    speech_mask = clip.tokens.speech_mask.copy()
    speech_mask[:5] = False  # a silent start
    visual_mask = clip.tokens.visual_mask.copy()
    visual_mask[-3:] = False  # the face lost at the end
    tokens = dataclasses.replace(clip.tokens, speech_mask=speech_mask, visual_mask=visual_mask)
    mismatch = predict_clip(model, tokens).mismatch
    assert np.isnan(mismatch[:5]).all() and np.isnan(mismatch[-3:]).all()
    assert np.isfinite(mismatch[visual_mask & speech_mask]).all()
