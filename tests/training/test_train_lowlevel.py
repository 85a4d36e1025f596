"""The low-level detectors learn their own modality's label: clips whose other modality is fake do not confuse them."""

import numpy as np

from emoboost.metrics import auc
from emoboost.models.lowlevel import RGBConfig, rgb_video_logit
from emoboost.training.loop import TrainConfig
from emoboost.training.lowlevel import LowLevelClip, train_rgb

RGB = RGBConfig(input_size=32, width=4, crops_per_video=8)
TRAIN = TrainConfig(epochs=6, batch_size=16, lr=0.005, warmup_epochs=0, patience=6)


def _clips(kind: str, count: int, rng: np.random.Generator) -> list[LowLevelClip]:
    """``real``, ``FVFA`` (a planted artefact in every crop) or ``RVFA`` (real video, fake voice: no artefact)."""
    clips = []
    for i in range(count):
        crops = rng.integers(0, 120, (4, 32, 32, 3)).astype(np.uint8)
        if kind == "FVFA":
            crops[:, 8:24, 8:24] = 250
        label, video_fake = int(kind != "real"), int(kind == "FVFA")
        clips.append(LowLevelClip(f"{kind}{i}", crops, np.zeros((8, 8), np.float16), label, video_fake, label))
    return clips


def _video_auc(train, val, test, target):
    model = train_rgb(train, val, RGB, TRAIN, target=target).model
    return auc(np.array([c.video_fake for c in test]), np.array([rgb_video_logit(model, c.crops) for c in test]))


def test_rgb_trained_on_video_fake_is_not_hurt_by_real_video_fakes():
    rng = np.random.default_rng(0)
    train = _clips("real", 16, rng) + _clips("FVFA", 8, rng) + _clips("RVFA", 8, rng)
    val = _clips("real", 6, rng) + _clips("FVFA", 3, rng) + _clips("RVFA", 3, rng)
    test = _clips("real", 10, rng) + _clips("FVFA", 10, rng) + _clips("RVFA", 10, rng)
    without_rvfa = [c for c in train if c.key[:4] != "RVFA"]
    modality = _video_auc(train, val, test, "video_fake")
    assert modality >= 0.95
    assert modality >= _video_auc(without_rvfa, val, test, "video_fake") - 0.02  # RVFA clips cost nothing
