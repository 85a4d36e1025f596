import factory
import numpy as np
import pytest

from emoboost.encoders import build_speech_encoder
from emoboost.encoders.speech import EgemapsEncoder, deltas, to_grid
from emoboost.media.decode import SAMPLE_RATE, SAMPLES_PER_FRAME


@pytest.fixture(scope="module")
def egemaps():
    return EgemapsEncoder()


def _speech(seconds=3.0, **voice):
    return factory.fit(
        factory.speech("The quick brown fox jumps over the lazy dog, again and again.", **voice), seconds, SAMPLE_RATE
    )


def test_egemaps_shape_finite_and_deterministic(egemaps):
    audio = _speech()
    n_frames = len(audio) // SAMPLES_PER_FRAME
    first = egemaps.encode(audio, n_frames)
    assert first.shape == (n_frames, 76) and egemaps.dim == 76
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, egemaps.encode(audio, n_frames))
    # the standardised part is zero-mean over the clip (voiced-only descriptors: over voiced frames)
    standardised, voiced = first[:, :25], first[:, -1] > 0
    reference = np.where(egemaps.voiced_only[None], voiced[:, None], True)
    means = np.array([standardised[reference[:, j], j].mean() for j in range(25)])
    np.testing.assert_allclose(means, 0, atol=1e-4)
    assert (standardised.std(0) > 0.5).sum() >= 20


def test_egemaps_follows_pitch_and_loudness(egemaps):
    n_frames = 75
    low, high = _speech(pitch=20), _speech(pitch=90)
    names = list(egemaps.names)
    f0 = names.index("F0semitoneFrom27.5Hz_sma3nz")
    loud = names.index("Loudness_sma3")

    def voiced_mean(audio, column):
        raw, _ = egemaps.descriptors(audio, n_frames)
        voiced = raw[:, f0] > 0
        return raw[voiced, column].mean()

    assert voiced_mean(high, f0) > voiced_mean(low, f0) + 3  # semitones
    quiet = _speech() * 0.1
    assert (
        egemaps.descriptors(_speech(), n_frames)[0][:, loud].mean()
        > 2 * egemaps.descriptors(quiet, n_frames)[0][:, loud].mean()
    )
    # the absolute level survives in the embedding (third block), not only the clip-normalised shape
    assert (
        egemaps.encode(_speech(), n_frames)[:, 50 + loud].mean() > egemaps.encode(quiet, n_frames)[:, 50 + loud].mean()
    )


def test_speech_lines_up_with_the_grid(egemaps):
    # 1 s silence, 1 s speech, 1 s silence: loudness rises only in the middle second
    speech = factory.fit(factory.speech("aaaaaah, hello, hello"), 1.0, SAMPLE_RATE)
    audio = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), speech, np.zeros(SAMPLE_RATE, np.float32)])
    loudness = egemaps.descriptors(audio, 75)[0][:, list(egemaps.names).index("Loudness_sma3")]
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
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=24,
        conv_dim=(16, 16),
        conv_stride=(5, 64),
        conv_kernel=(10, 64),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    Wav2Vec2Model(config).save_pretrained(tmp_path / "tiny-w2v")
    Wav2Vec2FeatureExtractor(sampling_rate=16_000).save_pretrained(tmp_path / "tiny-w2v")
    encoder = build_speech_encoder(f"hf:{tmp_path / 'tiny-w2v'}", local_files_only=True)
    assert encoder.dim == 16 and encoder.id.startswith("hf:")
    audio = _speech(2.0)
    embedding = encoder.encode(audio, 50)
    assert embedding.shape == (50, 16) and np.isfinite(embedding).all()
    np.testing.assert_array_equal(embedding, encoder.encode(audio, 50))


def test_pitch_is_averaged_over_voiced_frames_only(egemaps):
    """openSMILE writes F0 = 0 in unvoiced frames; no grid frame may average those zeros in."""
    speech = factory.fit(factory.speech("hello, hello, a sunny day"), 1.5, SAMPLE_RATE)
    audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), speech, np.zeros(SAMPLE_RATE, np.float32)])
    n_frames = len(audio) // SAMPLES_PER_FRAME
    raw, voiced = egemaps.descriptors(audio, n_frames)
    f0 = raw[:, list(egemaps.names).index("F0semitoneFrom27.5Hz_sma3nz")]
    lld = egemaps.smile.process_signal(audio, SAMPLE_RATE)["F0semitoneFrom27.5Hz_sma3nz"].to_numpy()
    voiced_lld = lld[lld > 0]
    assert voiced.max() == 1.0 and voiced[:10].max() == 0.0 and voiced[-20:].max() == 0.0  # silence is unvoiced
    assert 0 < voiced.mean() < 1
    # every grid frame's pitch lies within the voiced frames' range (a zero averaged in would pull it below)
    assert f0.min() >= voiced_lld.min() - 1e-4 and f0.max() <= voiced_lld.max() + 1e-4
    partly = (voiced > 0) & (voiced < 1)
    assert partly.any()  # frames at voicing edges exist, and they carry voiced pitch, not a diluted mean
    embedding = egemaps.encode(audio, n_frames)
    np.testing.assert_allclose(embedding[:, -1], voiced)  # the voiced fraction is the last column


def test_clip_normalisation_can_be_turned_off(egemaps):
    """Without it, a frame's features do not depend on the rest of the clip (away from the junction)."""
    raw = EgemapsEncoder(clip_normalisation=False)
    assert raw.dim == 51 and raw.version != egemaps.version
    first = _speech(2.0)
    other = _speech(2.0, pitch=90) * 0.2
    alone = raw.encode(first, 50)
    joined = raw.encode(np.concatenate([first, other]), 100)
    assert alone.shape == (50, 51)
    np.testing.assert_allclose(joined[:44], alone[:44], atol=1e-4)
    normalised = egemaps.encode(np.concatenate([first, other]), 100)[:44, :25]
    assert np.abs(normalised - egemaps.encode(first, 50)[:44, :25]).max() > 0.1  # the clip statistics do move it


def test_hf_speech_model_keeps_its_classification_head(tmp_path):
    """An audio classifier is loaded with its head; per-frame head outputs average to the utterance's logits."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    for problem, labels in (
        ("single_label_classification", ["angry", "happy", "neutral", "sad"]),
        ("regression", ["arousal", "dominance", "valence"]),
    ):
        config = Wav2Vec2Config(
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=24,
            classifier_proj_size=8,
            conv_dim=(16, 16),
            conv_stride=(5, 64),
            conv_kernel=(10, 64),
            num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=2,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={n: i for i, n in enumerate(labels)},
            problem_type=problem,
            use_weighted_layer_sum=problem == "regression",
        )
        model = Wav2Vec2ForSequenceClassification(config).eval()
        directory = tmp_path / problem
        model.save_pretrained(directory)
        Wav2Vec2FeatureExtractor(sampling_rate=16_000).save_pretrained(directory)
        encoder = build_speech_encoder(f"hf:{directory}", local_files_only=True)
        assert encoder.labels == tuple(labels) and encoder.dim == 16 + len(labels)
        audio = _speech(2.0)
        with torch.inference_mode():
            frames = encoder._frames(audio)  # [F, 16 + C]
            inputs = encoder.feature_extractor(audio, sampling_rate=16_000, return_tensors="pt")
            logits = model(**inputs).logits[0]
        np.testing.assert_allclose(frames[:, 16:].mean(0).numpy(), logits.numpy(), atol=1e-5)
        embedding = encoder.encode(audio, 50)
        assert embedding.shape == (50, 16 + len(labels)) and np.isfinite(embedding).all()


def test_hf_speech_model_without_head_gives_its_last_hidden_state(tmp_path):
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    config = Wav2Vec2Config(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=24,
        conv_dim=(16, 16),
        conv_stride=(5, 64),
        conv_kernel=(10, 64),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    model = Wav2Vec2Model(config).eval()
    model.save_pretrained(tmp_path / "bare")
    Wav2Vec2FeatureExtractor(sampling_rate=16_000).save_pretrained(tmp_path / "bare")
    encoder = build_speech_encoder(f"hf:{tmp_path / 'bare'}", local_files_only=True)
    audio = _speech(2.0)
    with torch.inference_mode():
        expected = model(
            **encoder.feature_extractor(audio, sampling_rate=16_000, return_tensors="pt")
        ).last_hidden_state[0]
        np.testing.assert_allclose(encoder._frames(audio).numpy(), expected.numpy(), atol=1e-5)
    assert encoder.labels == () and encoder.dim == 16


@pytest.mark.parametrize("clip_normalisation", [True, False])
def test_egemaps_span_equals_embedding_the_span_alone(clip_normalisation):
    """A span cut from a clip's embedding (silence trimming) never sees the cut lead-in."""
    encoder = EgemapsEncoder(clip_normalisation=clip_normalisation)
    audio = _speech(seconds=3.0)
    n_frames = len(audio) // SAMPLES_PER_FRAME
    raw, voiced = encoder.descriptors(audio, n_frames)
    start = 20
    expected = encoder.embed(raw[start:], voiced[start:])
    spanned = encoder.span(encoder.embed(raw, voiced)[start:])
    assert spanned.shape == expected.shape == (n_frames - start, encoder.dim)
    np.testing.assert_allclose(spanned, expected, atol=1e-4, rtol=1e-4)
    # and it differs from the uncut clip's values where the clip statistics matter
    if clip_normalisation:
        assert not np.allclose(encoder.embed(raw, voiced)[start:, :25], expected[:, :25], atol=1e-3)
