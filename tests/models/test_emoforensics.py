import dataclasses

import numpy as np
import pytest
import sequences
import torch

from emoboost.config import load_section
from emoboost.errors import ConfigError
from emoboost.models.emoforensics import EmoForensics, EmoForensicsConfig, aggregate
from emoboost.models.inference import predict_clip, predict_logits
from emoboost.training.emoforensics import train_emoforensics
from emoboost.training.loop import TrainConfig

TINY = EmoForensicsConfig(
    d_model=32, heads=2, intra_layers=1, inter_layers=1, feedforward=64, dropout=0.0, alignment_dim=16
)
LEARNER = dataclasses.replace(TINY, d_model=64, feedforward=128)  # still tiny; d 32 tops out near 0.9 on this task
FAST = TrainConfig(epochs=20, batch_size=16, lr=2e-3, warmup_epochs=1, patience=20, windows_per_video=2)


def _inputs(batch=2, length=40, face_dim=16, voice_dim=12, seed=0):
    rng = np.random.default_rng(seed)
    visual = torch.from_numpy(rng.normal(size=(batch, length, face_dim)).astype(np.float32))
    speech = torch.from_numpy(rng.normal(size=(batch, length, voice_dim)).astype(np.float32))
    return visual, speech, torch.ones(batch, length, dtype=torch.bool), torch.ones(batch, length, dtype=torch.bool)


def test_output_shapes():
    model = EmoForensics(TINY, 16, 12).eval()
    out = model(*_inputs(batch=3))
    assert out["logit"].shape == (3,)
    assert out["token_logits"].shape == (3, 40) and out["mismatch"].shape == (3, 40)
    assert out["visual_logit"].shape == (3,) and out["speech_logit"].shape == (3,)
    assert torch.isfinite(out["mismatch"]).all() and (out["mismatch"] >= 0).all() and (out["mismatch"] <= 2).all()


def test_no_face_means_no_visual_attention_mass():
    model = EmoForensics(TINY, 16, 12).eval()
    visual, speech, _, speech_mask = _inputs()
    no_face = torch.zeros_like(speech_mask)
    out = model(visual, speech, no_face, speech_mask, need_weights=True)
    weights = out["voice_to_face_attention"]  # voice queries over [CLS + face tokens]
    assert torch.allclose(weights[:, :, 1:], torch.zeros(()))  # masked face tokens get nothing
    assert torch.allclose(weights[:, :, 0], torch.ones(()))  # all of it goes to the face CLS
    assert torch.isfinite(out["logit"]).all()
    # and the face tokens' content cannot change the result when they are masked
    other = model(visual * 100 + 5, speech, no_face, speech_mask)
    assert torch.allclose(out["logit"], other["logit"], atol=1e-5)


def test_padding_does_not_change_the_result():
    model = EmoForensics(TINY, 16, 12).eval()
    visual, speech, visual_mask, speech_mask = _inputs(batch=1, length=40)
    visual_mask[:, 25:] = False
    speech_mask[:, 25:] = False
    first = model(visual, speech, visual_mask, speech_mask)["logit"]
    visual[:, 25:] = 7.0
    speech[:, 25:] = -3.0
    assert torch.allclose(first, model(visual, speech, visual_mask, speech_mask)["logit"], atol=1e-5)


@pytest.mark.parametrize("name", ["full", "visual_only", "speech_only", "intra_only", "inter_only"])
def test_shipped_configs_build(name):
    config = load_section(EmoForensicsConfig, f"configs/emoforensics/{name}.yaml", "model")
    train = load_section(TrainConfig, f"configs/emoforensics/{name}.yaml", "train")
    model = EmoForensics(config, 135, 75).eval()
    visual, speech, visual_mask, speech_mask = _inputs(face_dim=135, voice_dim=75)
    assert model(visual, speech, visual_mask, speech_mask)["logit"].shape == (2,)
    assert train == TrainConfig()


def test_invalid_model_config():
    with pytest.raises(ConfigError, match="inter_layers needs both modalities"):
        EmoForensics(dataclasses.replace(TINY, modalities=("visual",)), 16, 12)


def test_aggregation():
    logits = torch.tensor([0.0, 2.0, -2.0])
    assert aggregate(logits, "mean") == 0.0 and aggregate(logits, "max") == 2.0
    assert 0.0 < float(aggregate(logits, "attention")) < 2.0


def test_learns_emotion_mismatch():
    """A tiny model separates mismatched face/voice trajectories from matched ones (about 15 s on 2 cores;
    not asserted)."""
    result = train_emoforensics(sequences.clips(160, seed=0), sequences.clips(60, seed=1), LEARNER, FAST)
    assert result.best_score > 0.9, [row["val_score"] for row in result.history]
    # the per-token mismatch is higher on fakes than on real clips
    held_out = sequences.clips(40, seed=2)
    mismatch = np.array([np.nanmean(predict_clip(result.model, clip.tokens).mismatch) for clip in held_out])
    labels = np.array([clip.label for clip in held_out])
    assert mismatch[labels == 1].mean() > mismatch[labels == 0].mean()


def _detector(model):
    from emoboost.config import ExtractConfig
    from emoboost.detector.detector import Detector
    from emoboost.models.fusion import Fusion
    from emoboost.models.lowlevel import AcousticConfig, AcousticDetector, RGBConfig, RGBDetector

    fusion = Fusion(("emo", "rgb", "acoustic"), (1.0, 0.5, 0.5), 0.0, 0.5, {"rule": "test"})
    rgb, audio = RGBDetector(RGBConfig(width=4)), AcousticDetector(AcousticConfig(channels=(4, 4, 4)), 16)
    return Detector(model, rgb, audio, fusion, ExtractConfig())


def test_save_load_round_trip_is_bit_identical(tmp_path):
    from emoboost.detector.detector import Detector

    result = train_emoforensics(
        sequences.clips(40, seed=0), sequences.clips(20, seed=1), TINY, dataclasses.replace(FAST, epochs=2)
    )
    clips = sequences.clips(10, seed=3)
    before = predict_logits(result.model, clips)
    _detector(result.model).save_pretrained(tmp_path / "ckpt")
    loaded = Detector.from_pretrained(tmp_path / "ckpt")
    np.testing.assert_array_equal(before, predict_logits(loaded.emo, clips))
    assert loaded.emo.config == TINY
    assert "emoboost detector" in (tmp_path / "ckpt" / "README.md").read_text()


def test_loading_rejects_foreign_or_mismatched_checkpoints(tmp_path):
    from emoboost.detector.detector import Detector

    with pytest.raises(ConfigError, match="no config.json"):
        Detector.from_pretrained(tmp_path)
    _detector(EmoForensics(TINY, 16, 12)).save_pretrained(tmp_path / "a")
    saved = (tmp_path / "a" / "config.json").read_text()
    (tmp_path / "a" / "config.json").write_text(saved.replace('"d_model": 32', '"d_model": 64'))
    with pytest.raises(ConfigError, match="do not match"):
        Detector.from_pretrained(tmp_path / "a")
    (tmp_path / "a" / "config.json").write_text(saved)
    (tmp_path / "a" / "emo.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ConfigError, match="do not match"):
        Detector.from_pretrained(tmp_path / "a")
