"""Training on a device: the model and every batch go there, the model comes back on the CPU, and a device
this machine lacks is refused before any work (one line naming it)."""

import dataclasses

import numpy as np
import pytest
import torch

from emoboost.benchmark.config import BenchmarkConfig, detector_configs
from emoboost.errors import ConfigError
from emoboost.training.loop import TrainConfig, fit, to_device

TINY = TrainConfig(epochs=2, batch_size=4, warmup_epochs=0, patience=2)


def _fit(config: TrainConfig, seen: list[torch.device]):
    model = torch.nn.Linear(3, 1)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(8, 3)).astype(np.float32))
    y = (x[:, 0] > 0).float()

    def batches(epoch, rng):
        yield (x, [y]), {"ignored": "not a tensor"}

    def loss(batch):
        (inputs, (labels,)), _ = batch
        seen.append(inputs.device)
        return torch.nn.functional.binary_cross_entropy_with_logits(model(inputs)[:, 0], labels)

    return fit(model, batches, loss, lambda: float(model.weight.device.type == config.device.split(":")[0]), config)


def test_to_device_keeps_the_structure():
    batch = (torch.zeros(2), [torch.ones(1), "name"], 3)
    moved = to_device(batch, torch.device("cpu"))
    assert isinstance(moved, tuple) and isinstance(moved[1], list) and moved[1][1] == "name" and moved[2] == 3
    assert torch.equal(moved[0], batch[0]) and torch.equal(moved[1][0], batch[1][0])


def test_fit_trains_on_the_configured_device_and_hands_back_a_cpu_model():
    seen = []
    result = _fit(TINY, seen)
    assert seen and all(d.type == "cpu" for d in seen)
    assert next(result.model.parameters()).device.type == "cpu"
    assert result.best_score == 1.0  # validation ran with the model on the training device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (runs on a GPU box)")
def test_fit_on_cuda():
    seen = []
    result = _fit(dataclasses.replace(TINY, device="cuda"), seen)
    assert seen and all(d.type == "cuda" for d in seen)
    assert next(result.model.parameters()).device.type == "cpu" and result.best_score == 1.0


def test_a_device_this_machine_lacks_is_refused_before_training(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="cuda: no CUDA device is visible"):
        _fit(dataclasses.replace(TINY, device="cuda"), [])
    with pytest.raises(ConfigError, match="no CUDA device"):
        BenchmarkConfig(device="cuda").validate()


def test_the_benchmark_device_reaches_every_network():
    configs = detector_configs(BenchmarkConfig(device="cuda:1"), "configs/emoforensics/synthav.yaml", 0)
    assert configs.emo_train.device == configs.lowlevel_train.device == "cuda:1"
    assert detector_configs(BenchmarkConfig(), "configs/emoforensics/synthav.yaml", 0).emo_train.device == "cpu"
