"""The one training loop (:func:`fit`) and its settings (:class:`TrainConfig`), shared by every network.

AdamW, linear warm-up then cosine decay, gradient clipping, early stopping on a validation
score (AUC), fixed seeds; the model and every batch go to ``TrainConfig.device`` and the model
comes back on the CPU. Each network's recipe (its batches and loss) lives beside this module:
:mod:`emoboost.training.emoforensics`, :mod:`emoboost.training.lowlevel`.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

import numpy as np
import torch

from emoboost.config import require, resolve_device

MAX_EPOCHS = 10_000  # bounds a config can state: a typo of 1e9 is refused at parse time, not after hours
MAX_BATCH = 65_536
PRECISIONS = ("fp32", "bf16")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 16
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_epochs: int = 2
    patience: int = 6  # epochs without a better validation score before stopping
    grad_clip: float = 1.0
    seed: int = 0
    windows_per_video: int = 2
    modality_loss_weight: float = 0.5
    token_loss_weight: float = 0.25
    alignment_loss_weight: float = 0.1
    alignment_margin: float = 0.2
    device: str = "cpu"  # where the network trains ("cuda", "cuda:1"); it is handed back on the CPU
    # "bf16": forward passes under bfloat16 autocast (weights, optimiser and loss stay float32); measured faster
    # on a CPU with AVX512-BF16 (docs/decisions.md, Training), not measured elsewhere. Validation runs in float32.
    precision: str = "fp32"
    # convolution weights and activations in channels-last memory while training (the model is handed back
    # in the default layout); changes only the summation order. No effect on a network without 4-d weights
    channels_last: bool = False

    def validate(self) -> None:
        require(
            self.epochs >= 1 and self.batch_size >= 1 and self.windows_per_video >= 1,
            "train: epochs, batch_size, windows_per_video must be >= 1",
        )
        require(
            self.epochs <= MAX_EPOCHS and self.batch_size <= MAX_BATCH and self.windows_per_video <= MAX_BATCH,
            f"train: epochs must be <= {MAX_EPOCHS}, batch_size and windows_per_video <= {MAX_BATCH}",
        )
        require(
            self.lr > 0 and self.weight_decay >= 0 and self.grad_clip > 0,
            "train: lr, grad_clip must be > 0, weight_decay >= 0",
        )
        require(self.warmup_epochs >= 0 and self.patience >= 1, "train: warmup_epochs >= 0, patience >= 1")
        require(self.precision in PRECISIONS, f"train.precision must be one of {', '.join(PRECISIONS)}")
        resolve_device(self.device)  # a device torch cannot use here is a ConfigError naming it


ModelT = TypeVar("ModelT", bound=torch.nn.Module)


@dataclasses.dataclass
class FitResult(Generic[ModelT]):
    model: ModelT
    history: list[dict]
    best_epoch: int
    best_score: float


def fit(
    model: ModelT,
    batches: Callable[[int, np.random.Generator], Iterable[object]],
    loss: Callable[[object], torch.Tensor],
    validate: Callable[[], float],
    config: TrainConfig,
    on_epoch: Callable[[dict], None] | None = None,
) -> FitResult[ModelT]:
    """The training loop shared by every detector. ``validate`` returns a score, higher is better (AUC).

    The model and every batch (tensors, nested in tuples / lists) go to ``config.device``; the model
    comes back on the CPU with its best validation state.
    """
    config.validate()
    device = torch.device(config.device)
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)  # 4-d parameters only; others are left as they are
    bf16 = config.precision == "bf16"
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, sum(1 for _ in batches(0, np.random.default_rng(config.seed))))
    warmup, total = config.warmup_epochs * steps_per_epoch, config.epochs * steps_per_epoch

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
    history, best_score, best_epoch, best_state = [], -math.inf, 0, copy.deepcopy(model.state_dict())
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        model.train()
        losses = []
        for batch in batches(epoch, rng):
            optimiser.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                value = loss(to_device(batch, device, config.channels_last))
            value.float().backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimiser.step()
            scheduler.step()
            losses.append(float(value.detach()))
        model.eval()
        score = validate()
        improved = score > best_score + 1e-6
        if improved:
            best_score, best_epoch, best_state = score, epoch, copy.deepcopy(model.state_dict())
        row = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)) if losses else float("nan"),
            "val_score": score,
            "lr": optimiser.param_groups[0]["lr"],
            "seconds": time.perf_counter() - started,
            "best": improved,
        }
        history.append(row)
        if on_epoch is not None:
            on_epoch(row)
        if epoch - best_epoch >= config.patience:
            break
    model.load_state_dict(best_state)
    model.to("cpu")
    if config.channels_last:
        model.to(memory_format=torch.contiguous_format)  # saved and used as any other model
    model.eval()
    return FitResult(model, history, best_epoch, best_score)


def to_device(batch, device: torch.device, channels_last: bool = False):
    """``batch`` with every tensor in it (nested in tuples and lists) on ``device`` (``channels_last``: 4-d
    float tensors in channels-last memory)."""
    if isinstance(batch, torch.Tensor):
        batch = batch.to(device, non_blocking=True)
        if channels_last and batch.dim() == 4 and batch.is_floating_point():
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(item, device, channels_last) for item in batch)
    return batch
