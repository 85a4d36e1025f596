"""Silero VAD: the audio mask on the 25 fps grid (weights from the cache)."""

import factory
import numpy as np
import pytest

from emoboost.encoders.assets import is_cached
from emoboost.encoders.vad import (
    SILERO_ASSET,
    VAD_CONTEXT,
    VAD_FRAME,
    SileroVAD,
    frames_with_context,
    to_grid_fractions,
)
from emoboost.media.decode import SAMPLE_RATE, SAMPLES_PER_FRAME


def test_frames_carry_the_previous_frames_tail_as_context():
    audio = np.arange(3 * VAD_FRAME - 100, dtype=np.float32)
    frames = frames_with_context(audio)
    assert frames.shape == (3, VAD_CONTEXT + VAD_FRAME)
    assert (frames[0, :VAD_CONTEXT] == 0).all()
    np.testing.assert_array_equal(frames[1, :VAD_CONTEXT], audio[VAD_FRAME - VAD_CONTEXT : VAD_FRAME])
    np.testing.assert_array_equal(frames[1, VAD_CONTEXT:], audio[VAD_FRAME : 2 * VAD_FRAME])
    assert (frames[2, -100:] == 0).all()  # the last frame is zero-padded


def test_grid_fractions_weight_by_overlap():
    # 512-sample blocks (32 ms) onto 640-sample grid frames (40 ms): frame 0 = all of block 0 + 1/5 of block 1
    values = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    grid = to_grid_fractions(values, VAD_FRAME, 4)
    assert grid[0] == pytest.approx(512 / 640)
    assert grid[1] == pytest.approx(256 / 640)  # 384 samples of block 1 (0), 256 of block 2 (1)
    assert grid.shape == (4,)


@pytest.mark.skipif(
    not is_cached(SILERO_ASSET),
    reason="Silero VAD not in the user cache: run `emoboost fetch-weights` (scripts/setup.sh does)",
)
def test_speech_is_masked_in_silence_and_noise_but_not_in_speech():
    vad = SileroVAD()
    speech = factory.speech("hello there, this is a test of the voice activity detector")
    rng = np.random.default_rng(0)
    silence = np.zeros(SAMPLE_RATE, np.float32)
    audio = np.concatenate([silence, speech, silence]) + rng.normal(0, 0.003, len(speech) + 2 * SAMPLE_RATE).astype(
        np.float32
    )
    n_frames = len(audio) // SAMPLES_PER_FRAME
    probability, mask = vad.speech_activity(audio[: n_frames * SAMPLES_PER_FRAME], n_frames)
    assert probability.shape == mask.shape == (n_frames,) and mask.dtype == bool
    spoken = slice(25, 25 + len(speech) // SAMPLES_PER_FRAME)
    assert not mask[:23].any() and not mask[-23:].any()  # room noise is not speech
    assert mask[spoken].mean() > 0.7
    np.testing.assert_array_equal(probability, vad.speech_activity(audio[: n_frames * SAMPLES_PER_FRAME], n_frames)[0])
    # blocks of 512 frames carry the LSTM state: a clip longer than one block gives the same start
    long = np.tile(audio, 5)
    long_frames = len(long) // SAMPLES_PER_FRAME
    np.testing.assert_allclose(
        vad.speech_activity(long[: long_frames * SAMPLES_PER_FRAME], long_frames)[0][: n_frames - 1],
        probability[:-1],
        atol=1e-5,
    )  # the last frame was zero-padded
