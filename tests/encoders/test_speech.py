import numpy as np
import pytest

import factory
from emoboost.encoders import build_speech_encoder
from emoboost.encoders.speech import EgemapsEncoder, deltas, to_grid
from emoboost.media.decode import SAMPLE_RATE, SAMPLES_PER_FRAME


@pytest.fixture(scope="module")
def egemaps():
    return EgemapsEncoder()


def _speech(seconds=3.0, **voice):
    return factory.fit(factory.speech("The quick brown fox jumps over the lazy dog, again and again.", **voice), seconds, SAMPLE_RATE)


def test_egemaps_shape_finite_and_deterministic(egemaps):
    audio = _speech()
    n_frames = len(audio) // SAMPLES_PER_FRAME
    first = egemaps.encode(audio, n_frames)
    assert first.shape == (n_frames, 75) and egemaps.dim == 75
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, egemaps.encode(audio, n_frames))
    # the standardised part is zero-mean, unit-variance over the clip where the descriptor varies
    standardised = first[:, :25]
    varying = standardised.std(0) > 0.5
    np.testing.assert_allclose(standardised[:, varying].mean(0), 0, atol=1e-4)
    assert varying.sum() >= 20


def test_egemaps_follows_pitch_and_loudness(egemaps):
    n_frames = 75
    low, high = _speech(pitch=20), _speech(pitch=90)
    names = list(egemaps.names)
    f0 = names.index("F0semitoneFrom27.5Hz_sma3nz")
    loud = names.index("Loudness_sma3")

    def voiced_mean(audio, column):
        raw = egemaps.descriptors(audio, n_frames)
        voiced = raw[:, f0] > 0
        return raw[voiced, column].mean()

    assert voiced_mean(high, f0) > voiced_mean(low, f0) + 3  # semitones
    quiet = _speech() * 0.1
    assert egemaps.descriptors(_speech(), n_frames)[:, loud].mean() > 2 * egemaps.descriptors(quiet, n_frames)[:, loud].mean()
    # the absolute level survives in the embedding (third block), not only the clip-normalised shape
    assert egemaps.encode(_speech(), n_frames)[:, 50 + loud].mean() > egemaps.encode(quiet, n_frames)[:, 50 + loud].mean()


def test_speech_lines_up_with_the_grid(egemaps):
    # 1 s silence, 1 s speech, 1 s silence: loudness rises only in the middle second
    speech = factory.fit(factory.speech("aaaaaah, hello, hello"), 1.0, SAMPLE_RATE)
    audio = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), speech, np.zeros(SAMPLE_RATE, np.float32)])
    loudness = egemaps.descriptors(audio, 75)[:, list(egemaps.names).index("Loudness_sma3")]
    loud_frames = np.flatnonzero(loudness > 0.3 * loudness.max())
    assert loud_frames.min() >= 24 and loud_frames.max() <= 51


def test_to_grid_averages_and_fills_gaps():
    times = np.array([0.005, 0.015, 0.2])  # two stamps in frame 0, one in frame 5
    values = np.array([[1.0], [3.0], [10.0]])
    grid = to_grid(times, values, 8)[:, 0]
    assert grid.tolist() == [2.0, 2.0, 2.0, 10.0, 10.0, 10.0, 10.0, 10.0]


def test_deltas_of_a_ramp_are_its_slope():
    ramp = np.arange(10, dtype=np.float64)[:, None] * 3
    assert np.allclose(deltas(ramp)[2:-2], 3.0)
    assert deltas(np.ones((1, 4))).tolist() == [[0, 0, 0, 0]]


def test_hf_speech_model_from_a_local_directory(tmp_path):
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    config = Wav2Vec2Config(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
        conv_dim=(16, 16), conv_stride=(5, 64), conv_kernel=(10, 64), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
    )
    Wav2Vec2Model(config).save_pretrained(tmp_path / "tiny-w2v")
    Wav2Vec2FeatureExtractor(sampling_rate=16_000).save_pretrained(tmp_path / "tiny-w2v")
    encoder = build_speech_encoder(f"hf:{tmp_path / 'tiny-w2v'}", local_files_only=True)
    assert encoder.dim == 16 and encoder.id.startswith("hf:")
    audio = _speech(2.0)
    embedding = encoder.encode(audio, 50)
    assert embedding.shape == (50, 16) and np.isfinite(embedding).all()
    np.testing.assert_array_equal(embedding, encoder.encode(audio, 50))
