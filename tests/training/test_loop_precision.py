"""Training speed settings: bfloat16 autocast and channels-last memory change how a network is computed while it
trains, never what the caller gets back (a float32 model in the default layout that saves and scores as before)."""

import dataclasses

import numpy as np
import pytest
import torch

from emoboost.config import load_section
from emoboost.errors import ConfigError
from emoboost.models.lowlevel import RGBConfig, rgb_video_logit
from emoboost.training.loop import TrainConfig, fit, to_device
from emoboost.training.lowlevel import LowLevelClip, train_rgb


def _clips(n: int, rng: np.random.Generator) -> list[LowLevelClip]:
    """Fake clips carry a bright square in the crop's centre: a cue any of the settings can learn."""
    clips = []
    for i in range(n):
        fake = i % 2
        crops = rng.integers(0, 120, size=(3, 32, 32, 3), dtype=np.uint8)
        if fake:
            crops[:, 10:22, 10:22] = 250
        clips.append(LowLevelClip(f"c{i}", crops, np.zeros((10, 8), np.float16), fake, fake, 0))
    return clips


@pytest.mark.parametrize("precision,channels_last", [("fp32", True), ("bf16", False), ("bf16", True)])
def test_rgb_trains_under_each_setting_and_comes_back_float32_in_the_default_layout(precision, channels_last):
    rng = np.random.default_rng(0)
    train, val = _clips(24, rng), _clips(8, rng)
    config = TrainConfig(
        epochs=4, batch_size=8, warmup_epochs=0, patience=4, lr=3e-3, precision=precision, channels_last=channels_last
    )
    result = train_rgb(train, val, RGBConfig(arch="small", input_size=32, width=8, crops_per_video=2), config)
    for name, tensor in result.model.state_dict().items():
        assert tensor.is_contiguous(), name  # safetensors refuses anything else
        assert not tensor.is_floating_point() or tensor.dtype == torch.float32, name
    assert result.best_score == 1.0  # the square is learnt
    scores = [rgb_video_logit(result.model, clip.crops) for clip in val]
    assert all(np.isfinite(scores))


def test_fp32_without_channels_last_is_the_default_and_unchanged():
    assert (TrainConfig().precision, TrainConfig().channels_last) == ("fp32", False)


def test_channels_last_batches_only_touch_4d_float_tensors():
    batch = (torch.zeros(2, 3, 4, 5), torch.zeros(2, 3, 4, 5, dtype=torch.uint8), torch.zeros(2, 3))
    moved = to_device(batch, torch.device("cpu"), channels_last=True)
    assert moved[0].is_contiguous(memory_format=torch.channels_last) and moved[0].stride(1) == 1
    assert moved[1].is_contiguous() and moved[2].is_contiguous()


def test_an_unknown_precision_is_refused_by_name(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("train: {precision: fp16}\n")
    with pytest.raises(ConfigError, match="train.precision must be one of fp32, bf16"):
        load_section(TrainConfig, path, "train")
    with pytest.raises(ConfigError, match="precision"):
        fit(
            torch.nn.Linear(1, 1),
            lambda e, r: [],
            lambda b: torch.zeros(()),
            lambda: 0.0,
            dataclasses.replace(TrainConfig(), precision="half"),
        )
