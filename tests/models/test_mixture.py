"""The mixture fusion: each side calibrated on its own modality's label, combined as video OR audio OR both."""

import numpy as np
import pytest

from emoboost.errors import ConfigError
from emoboost.metrics import auc
from emoboost.models.fusion import Fusion
from emoboost.models.mixture import MixtureFusion, check_weights


def _clips(rng, n, video_fake, audio_fake):
    """RGB and acoustic logits: each detector sees only its own modality's manipulation."""
    rgb = rng.normal(2.0 if video_fake else 0.0, 1.0, n)
    acoustic = rng.normal(2.5 if audio_fake else 0.0, 1.0, n)
    return np.c_[rgb, acoustic], np.full(n, int(video_fake)), np.full(n, int(audio_fake))


def _calib_with_fake_audio_only(rng):
    """Like the FVRA-WL fold: calibration fakes all have a fake voice (voice-only and both-fake categories)."""
    parts = [_clips(rng, 60, False, False), _clips(rng, 40, False, True), _clips(rng, 40, True, True)]
    # the real-video-fake-audio and real clips calibrate the video side; add video-only fakes of *another* kind
    return (np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))  # fmt: skip


def test_the_mixture_finds_video_only_fakes_the_logistic_fusion_learnt_to_ignore():
    rng = np.random.default_rng(0)
    logits, video_fake, audio_fake = _calib_with_fake_audio_only(rng)
    labels = ((video_fake + audio_fake) > 0).astype(int)
    logistic = Fusion.fit(logits, labels, ("rgb", "acoustic"))
    mixture = MixtureFusion.fit(logits[:, :1], logits[:, 1:], video_fake, audio_fake, ("rgb",), ("acoustic",))
    real, _, _ = _clips(rng, 200, False, False)
    held_out, _, _ = _clips(rng, 200, True, False)  # lip-sync fakes: fake video, real voice
    test, test_labels = np.vstack([real, held_out]), np.r_[np.zeros(200), np.ones(200)]
    rgb_alone = auc(test_labels, test[:, 0])
    assert auc(test_labels, mixture.llr(test)) > auc(test_labels, logistic.llr(test)) + 0.05
    assert auc(test_labels, mixture.llr(test)) == pytest.approx(rgb_alone, abs=0.03)
    assert logistic.weights[1] > logistic.weights[0]  # the logistic fusion leant on the acoustic detector


def test_the_mixture_llr_is_the_stated_formula_and_round_trips():
    rng = np.random.default_rng(1)
    logits, video_fake, audio_fake = _calib_with_fake_audio_only(rng)
    video_fake[:20] = 1  # some video-only fakes too
    weights = (0.5, 0.2, 0.3)
    mixture = MixtureFusion.fit(
        logits[:, :1], logits[:, 1:], video_fake, audio_fake, ("rgb",), ("acoustic",), weights, target_fpr=0.1
    )
    sample = np.array([[1.0, -0.5], [-2.0, 3.0]])
    lv, la = mixture.video.llr(sample[:, :1]), mixture.audio.llr(sample[:, 1:])
    expected = np.log(0.5 * np.exp(lv) + 0.2 * np.exp(la) + 0.3 * np.exp(lv + la))
    assert mixture.llr(sample) == pytest.approx(expected)
    assert mixture.operating_point["fpr"] <= 0.1 and mixture.operating_point["rule"] == "FPR <= 0.1"
    again = MixtureFusion.from_dict(mixture.to_dict())
    assert again == mixture and again.llr(sample) == pytest.approx(mixture.llr(sample))
    # a side with no input (no face crops: RGB missing) is no evidence, LR 1, not the side's fitted offset
    missing = mixture.llr(np.array([[np.nan, 0.7]]))
    la = mixture.audio.llr(np.array([[0.7]]))
    assert missing == pytest.approx(np.log(0.5 + 0.2 * np.exp(la) + 0.3 * np.exp(la)))


@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.5, 0.6, -0.1), (0.2, 0.2, 0.2), (np.nan, 0.5, 0.5)])
def test_mixture_weights_are_checked(weights):
    with pytest.raises(ConfigError, match="mixture weights"):
        check_weights(weights)
