"""Low-level (artefact) detectors: an RGB CNN on aligned face crops and an LCNN-style CNN on log-mels.

- RGB: ``arch: small`` (four strided conv blocks, fast on a CPU), ``resnet18`` or
  ``efficientnet_b0`` from torchvision, randomly initialised (no pretrained weights are loaded;
  inputs are standardised with ImageNet's channel statistics). One logit per crop; the video
  logit is the mean over its crops.
- Acoustic: a light CNN with max-feature-map activations (as LCNN anti-spoofing models) on
  2 s log-mel segments, standardised per band with statistics fitted on training data. One
  logit per segment; the video logit is the mean over segments (1 s hop).

Both train with :func:`emoboost.training.loop.fit`; neither opens files.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emoboost.config import require
from emoboost.models.tokens import window_starts

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclasses.dataclass(frozen=True)
class RGBConfig:
    arch: str = "small"  # small, resnet18, efficientnet_b0
    input_size: int = 112
    crops_per_video: int = 4  # crops drawn per training clip per epoch
    width: int = 32  # channels of the first block of the small CNN (doubles per block)
    dropout: float = 0.2

    def validate(self) -> None:
        require(self.arch in ("small", "resnet18", "efficientnet_b0"), "rgb.arch: small, resnet18 or efficientnet_b0")
        require(
            self.input_size >= 32 and self.crops_per_video >= 1 and self.width >= 4,
            "rgb: input_size >= 32, crops_per_video >= 1, width >= 4",
        )


@dataclasses.dataclass(frozen=True)
class AcousticConfig:
    segment_frames: int = 200  # 2 s of 10 ms log-mel frames
    hop_frames: int = 100  # 1 s hop between segments at inference
    segments_per_video: int = 4  # segments drawn per training clip per epoch
    channels: tuple[int, int, int] = (16, 24, 32)  # after max-feature-map halving
    dropout: float = 0.2

    def validate(self) -> None:
        require(
            self.segment_frames >= 16 and 1 <= self.hop_frames <= self.segment_frames,
            "acoustic: segment_frames >= 16, 1 <= hop_frames <= segment_frames",
        )
        require(self.segments_per_video >= 1, "acoustic.segments_per_video must be >= 1")


class RGBDetector(nn.Module):
    """uint8 crops ``[B, S, S, 3]`` -> fake logits ``[B]``."""

    mean: torch.Tensor  # buffers
    std: torch.Tensor

    def __init__(self, config: RGBConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        if config.arch == "small":
            blocks, channels_in = [], 3
            for i in range(4):
                channels_out = config.width * 2**i
                blocks += [
                    nn.Conv2d(channels_in, channels_out, 3, stride=2, padding=1, bias=False),
                    nn.BatchNorm2d(channels_out),
                    nn.ReLU(inplace=True),
                ]
                channels_in = channels_out
            self.backbone: nn.Module = nn.Sequential(
                *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(config.dropout), nn.Linear(channels_in, 1)
            )
        else:
            import torchvision

            backbone = getattr(torchvision.models, config.arch)(weights=None)
            if config.arch == "resnet18":
                backbone.fc = nn.Linear(backbone.fc.in_features, 1)
            else:
                backbone.classifier[-1] = nn.Linear(backbone.classifier[-1].in_features, 1)
            self.backbone = backbone

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        x = crops.permute(0, 3, 1, 2).float() / 255.0  # [B, 3, S, S]
        if x.shape[-1] != self.config.input_size:
            x = F.interpolate(
                x, size=(self.config.input_size,) * 2, mode="bilinear", antialias=True, align_corners=False
            )
        return self.backbone((x - self.mean) / self.std).squeeze(-1)


class MaxFeatureMap(nn.Module):
    """Conv to 2C channels, keep the element-wise max of the two halves (LCNN's activation)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(channels_in, 2 * channels_out, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.conv(x).chunk(2, dim=1)
        return torch.maximum(a, b)


class AcousticDetector(nn.Module):
    """Log-mel segments ``[B, frames, n_mels]`` -> fake logits ``[B]``."""

    band_mean: torch.Tensor  # buffers
    band_std: torch.Tensor

    def __init__(self, config: AcousticConfig, n_mels: int):
        super().__init__()
        config.validate()
        self.config, self.n_mels = config, n_mels
        self.register_buffer("band_mean", torch.zeros(n_mels))
        self.register_buffer("band_std", torch.ones(n_mels))
        c1, c2, c3 = config.channels
        self.features = nn.Sequential(
            MaxFeatureMap(1, c1, 5), nn.MaxPool2d(2),
            MaxFeatureMap(c1, c2, 3), nn.BatchNorm2d(c2), nn.MaxPool2d(2),
            MaxFeatureMap(c2, c3, 3), nn.BatchNorm2d(c3), nn.MaxPool2d(2),
            MaxFeatureMap(c3, c3, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(c3, 1))

    @torch.no_grad()
    def fit_normaliser(self, logmel_frames: torch.Tensor) -> None:
        """Per-band mean / std from training log-mel frames ``[M, n_mels]``."""
        self.band_mean.copy_(logmel_frames.mean(dim=0))
        self.band_std.copy_(logmel_frames.std(dim=0).clamp_min(1e-3))

    def forward(self, segments: torch.Tensor) -> torch.Tensor:
        x = ((segments.float() - self.band_mean) / self.band_std)[:, None]  # [B, 1, frames, n_mels]
        return self.head(self.features(x)).squeeze(-1)


def cut_segment(logmel: np.ndarray, start: int, segment: int) -> np.ndarray:
    """One ``[segment, n_mels]`` slice, padded by repeating the clip when it is shorter."""
    piece = logmel[start : start + segment].astype(np.float32)
    if len(piece) < segment:
        repeats = -(-segment // max(1, len(piece)))
        piece = (
            np.tile(piece, (repeats, 1))[:segment] if len(piece) else np.zeros((segment, logmel.shape[1]), np.float32)
        )
    return piece


@torch.no_grad()
def rgb_crop_logits(model: RGBDetector, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The logit of every crop ``[k]`` (float64)."""
    if len(crops) == 0:
        return np.zeros(0)
    device = next(model.parameters()).device
    logits = [model(torch.from_numpy(crops[i : i + batch_size]).to(device)) for i in range(0, len(crops), batch_size)]
    return torch.cat(logits).double().cpu().numpy()


@torch.no_grad()
def rgb_video_logit(model: RGBDetector, crops: np.ndarray, batch_size: int = 64) -> float:
    """Mean crop logit of one clip (NaN when it has no face crop)."""
    return float(rgb_crop_logits(model, crops, batch_size).mean()) if len(crops) else float("nan")


@torch.no_grad()
def acoustic_segment_logits(
    model: AcousticDetector, logmel: np.ndarray, batch_size: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """``(logits [k] float64, start mel frames [k])`` of the clip's segments (in batches: memory does not grow
    with its length)."""
    config = model.config
    device = next(model.parameters()).device
    starts = window_starts(len(logmel), config.segment_frames, config.hop_frames)  # same covering rule as token windows
    logits = []
    for begin in range(0, len(starts), batch_size):
        segments = np.stack([cut_segment(logmel, s, config.segment_frames) for s in starts[begin : begin + batch_size]])
        logits.append(model(torch.from_numpy(segments).to(device)).double().cpu())
    return torch.cat(logits).numpy(), np.asarray(starts, np.int64)


def acoustic_video_logit(model: AcousticDetector, logmel: np.ndarray, batch_size: int = 32) -> float:
    """Mean segment logit of one clip."""
    return float(acoustic_segment_logits(model, logmel, batch_size)[0].mean())
