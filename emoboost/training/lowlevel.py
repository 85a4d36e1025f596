"""Training the low-level detectors (RGB crops, log-mel audio) with the shared :func:`emoboost.training.loop.fit` loop.

Each detector learns the label of its own modality: the RGB detector ``video_fake`` (an RVFA
clip has a real video), the acoustic detector ``audio_fake`` (an FVRA clip has real audio).
Training and early stopping both use that label; the low-level row of the benchmark fuses the
two on the clip label.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from emoboost.errors import DataError
from emoboost.metrics import auc
from emoboost.models.lowlevel import (
    AcousticConfig,
    AcousticDetector,
    RGBConfig,
    RGBDetector,
    acoustic_video_logit,
    cut_segment,
    rgb_video_logit,
)
from emoboost.models.networks import BY_NAME
from emoboost.training.loop import FitResult, ModelT, TrainConfig, fit


@dataclasses.dataclass(frozen=True)
class LowLevelClip:
    key: str
    crops: np.ndarray  # [K, S, S, 3] uint8
    logmel: np.ndarray  # [F, n_mels] float16
    label: int  # the clip's: fake when either modality is
    video_fake: int
    audio_fake: int


RGB_TARGET = BY_NAME["rgb"].target  # video_fake
ACOUSTIC_TARGET = BY_NAME["acoustic"].target  # audio_fake


def _score(labels: np.ndarray, logits: np.ndarray) -> float:
    known = ~np.isnan(logits)
    score = auc(labels[known], logits[known])
    return -1.0 if math.isnan(score) else score


def _targets(clips: Sequence[LowLevelClip], target: str) -> np.ndarray:
    return np.array([int(getattr(c, target)) for c in clips])


def _pos_weight(clips: Sequence[LowLevelClip], target: str) -> torch.Tensor:
    labels = _targets(clips, target)
    return torch.tensor(max(1.0, (labels == 0).sum()) / max(1.0, (labels == 1).sum()))


def _train(
    model: ModelT,
    clips: Sequence[LowLevelClip],
    val: Sequence[LowLevelClip],
    draw: Callable[[LowLevelClip, np.random.Generator], np.ndarray],
    per_video: int,
    predict: Callable[[LowLevelClip], float],
    config: TrainConfig,
    on_epoch: Callable[[dict], None] | None,
    target: str,
) -> FitResult[ModelT]:
    pos_weight = _pos_weight(clips, target)
    val_labels = _targets(val, target)

    def batches(epoch: int, rng: np.random.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        items = [(i, draw(clips[i], rng)) for i in range(len(clips)) for _ in range(per_video)]
        order = rng.permutation(len(items))
        for begin in range(0, len(order), config.batch_size):
            chosen = [items[j] for j in order[begin : begin + config.batch_size]]
            inputs = torch.from_numpy(np.stack([sample for _, sample in chosen]))
            labels = torch.tensor([float(getattr(clips[i], target)) for i, _ in chosen])
            yield inputs, labels

    def loss(batch) -> torch.Tensor:
        inputs, labels = batch
        return F.binary_cross_entropy_with_logits(model(inputs), labels, pos_weight=pos_weight.to(labels.device))

    return fit(model, batches, loss, lambda: _score(val_labels, np.array([predict(c) for c in val])), config, on_epoch)


def train_rgb(
    train: Sequence[LowLevelClip],
    val: Sequence[LowLevelClip],
    config: RGBConfig,
    train_config: TrainConfig,
    on_epoch: Callable[[dict], None] | None = None,
    target: str = RGB_TARGET,
) -> FitResult[RGBDetector]:
    """Train the RGB detector on clips with face crops, on ``target`` (``video_fake``; ``label`` for comparisons)."""
    with_faces = [c for c in train if len(c.crops)]
    if not with_faces:
        raise DataError("no training clip has face crops")
    torch.manual_seed(train_config.seed)
    model = RGBDetector(config)
    return _train(
        model,
        with_faces,
        val,
        lambda clip, rng: clip.crops[rng.integers(len(clip.crops))],
        config.crops_per_video,
        lambda clip: rgb_video_logit(model, clip.crops),
        train_config,
        on_epoch,
        target,
    )


def train_acoustic(
    train: Sequence[LowLevelClip],
    val: Sequence[LowLevelClip],
    config: AcousticConfig,
    train_config: TrainConfig,
    on_epoch: Callable[[dict], None] | None = None,
    target: str = ACOUSTIC_TARGET,
) -> FitResult[AcousticDetector]:
    """Train the acoustic detector on log-mel segments, on ``target`` (``audio_fake``; ``label`` for comparisons)."""
    torch.manual_seed(train_config.seed)
    model = AcousticDetector(config, train[0].logmel.shape[1])
    model.fit_normaliser(torch.from_numpy(np.concatenate([c.logmel for c in train]).astype(np.float32)))

    def draw(clip: LowLevelClip, rng: np.random.Generator) -> np.ndarray:
        start = int(rng.integers(0, max(0, len(clip.logmel) - config.segment_frames) + 1))
        return cut_segment(clip.logmel, start, config.segment_frames)

    return _train(
        model,
        train,
        val,
        draw,
        config.segments_per_video,
        lambda clip: acoustic_video_logit(model, clip.logmel),
        train_config,
        on_epoch,
        target,
    )
