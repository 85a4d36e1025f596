"""``faceapi-expression``: the face-api.js facial-expression net in PyTorch, weights read from its TFJS files.

The net (Vincent Mühler's face-api.js, maintained as npm ``@vladmandic/face-api``, MIT) takes a
112x112 RGB face, subtracts the mean RGB ``(122.782, 117.001, 104.298)`` and divides by 255; four
dense blocks of four convolutions (the first of the net a plain 3x3 conv, all others 3x3
depthwise-separable; the first of each block with stride 2; each conv adds its bias; the block's
outputs are summed DenseNet-style with ReLUs between: ``relu(o1 + o2 + ... )``) take it to
``[256, 7, 7]``; a 7x7 average pool gives the 256-d face embedding and a linear layer the logits
of 7 expressions (neutral, happy, sad, angry, fearful, disgusted, surprised).

Weights: the package's ``model/face_expression_model-weights_manifest.json`` + ``.bin`` (TFJS
layout: tensors concatenated in manifest order, most stored as uint8 with a per-tensor ``scale``
and ``min``: ``value = q * scale + min``) are fetched with ``npm pack`` (hash-checked, see
:mod:`emoboost.encoders.assets`), dequantised and converted once into safetensors in the cache.
TensorFlow's "same" padding for stride 2 pads only after (one row and column here), which the
port reproduces exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emoboost.encoders.assets import PackagedAsset, asset_path, ensure_asset
from emoboost.encoders.visual import FaceEmotionEncoder
from emoboost.errors import WeightsUnavailableError
from emoboost.files import atomic_path

FACEAPI_VERSION = "1.7.15"
MANIFEST_MEMBER = "package/model/face_expression_model-weights_manifest.json"
BIN_MEMBER = "package/model/face_expression_model.bin"
FACEAPI_ASSET = PackagedAsset(
    registry="npm",
    package="@vladmandic/face-api",
    version=FACEAPI_VERSION,
    members={
        MANIFEST_MEMBER: "5b349c17c7836da506e03422cd6461c74085d8bb2713ad4114647dc5d28174c8",
        BIN_MEMBER: "9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d",
    },
    env="EMOBOOST_FACEAPI_TGZ",
    licence="MIT",
    credit="face-api.js expression net (Vincent Mühler)",
)
CONVERSION_VERSION = 1
EXPRESSIONS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
INPUT_SIZE = 112
MEAN_RGB = (122.782, 117.001, 104.298)
CHANNELS = (32, 64, 128, 256)
EMBEDDING_DIM = CHANNELS[-1]


def read_tfjs_weights(manifest_path: str | Path, bin_dir: str | Path | None = None) -> dict[str, np.ndarray]:
    """Every tensor of a TFJS weights manifest, dequantised to float32, by its TFJS name (HWIO layouts)."""
    manifest = json.loads(Path(manifest_path).read_text())
    folder = Path(bin_dir or Path(manifest_path).parent)
    tensors: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join((folder / name).read_bytes() for name in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"], dtype=np.int64))
            quantization = spec.get("quantization")
            if quantization:
                dtype = np.dtype(quantization["dtype"])
                raw = np.frombuffer(data, dtype, count, offset).astype(np.float64)
                values = raw * quantization["scale"] + quantization["min"]
            else:
                dtype = np.dtype(spec["dtype"])
                values = np.frombuffer(data, dtype, count, offset)
            offset += count * dtype.itemsize
            tensors[spec["name"]] = values.astype(np.float32).reshape(spec["shape"])
        if offset != len(data):
            raise WeightsUnavailableError(
                f"{manifest_path}: the manifest describes {offset} bytes, the weights file has {len(data)}"
            )
    return tensors


def _same_pad(x: torch.Tensor, stride: int) -> torch.Tensor:
    """TensorFlow "same" padding of a 3x3 window: ``2`` in all for stride 1, ``1`` after for stride 2 on even sizes."""
    total = [max((-(-size // stride) - 1) * stride + 3 - size, 0) for size in x.shape[-2:]]
    return F.pad(x, (total[1] // 2, total[1] - total[1] // 2, total[0] // 2, total[0] - total[0] // 2))


class SeparableConv(nn.Module):
    """TF ``separableConv2d`` (depth multiplier 1) + bias."""

    def __init__(self, channels_in: int, channels_out: int, stride: int):
        super().__init__()
        self.stride = stride
        self.depthwise = nn.Conv2d(channels_in, channels_in, 3, stride, groups=channels_in, bias=False)
        self.pointwise = nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(_same_pad(x, self.stride)))


class DenseBlock(nn.Module):
    """face-api.js ``denseBlock4``: four convs, outputs summed with ReLUs between."""

    def __init__(self, channels_in: int, channels_out: int, first: bool):
        super().__init__()
        self.first = first
        self.conv0 = (
            nn.Conv2d(channels_in, channels_out, 3, 2) if first else SeparableConv(channels_in, channels_out, 2)
        )
        self.convs = nn.ModuleList([SeparableConv(channels_out, channels_out, 1) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.conv0(_same_pad(x, 2)) if self.first else self.conv0(x))
        total = out
        for index, conv in enumerate(self.convs):
            step = conv(out if index == 0 else F.relu(total))
            total = total + step
        return F.relu(total)


class FaceExpressionNet(nn.Module):
    """``[B, 3, 112, 112]`` normalised RGB -> ``(embedding [B, 256], logits [B, 7])``."""

    def __init__(self):
        super().__init__()
        widths = (3,) + CHANNELS
        self.blocks = nn.ModuleList([DenseBlock(widths[i], widths[i + 1], first=i == 0) for i in range(len(CHANNELS))])
        self.fc = nn.Linear(EMBEDDING_DIM, len(EXPRESSIONS))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for block in self.blocks:
            x = block(x)  # [B, 32, 56, 56] ... [B, 256, 7, 7]
        embedding = F.avg_pool2d(x, 7, 2).flatten(1)  # [B, 256]
        return embedding, self.fc(embedding)


def tfjs_to_state_dict(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TFJS names and HWIO layouts -> :class:`FaceExpressionNet` parameter names and OIHW layouts."""
    state: dict[str, np.ndarray] = {}
    for block in range(len(CHANNELS)):
        prefix, target = f"dense{block}", f"blocks.{block}"
        if block == 0:
            state[f"{target}.conv0.weight"] = tensors[f"{prefix}/conv0/filters"].transpose(3, 2, 0, 1)
            state[f"{target}.conv0.bias"] = tensors[f"{prefix}/conv0/bias"]
        for conv in range(1 if block == 0 else 0, 4):
            name = f"{target}.conv0" if conv == 0 else f"{target}.convs.{conv - 1}"
            state[f"{name}.depthwise.weight"] = tensors[f"{prefix}/conv{conv}/depthwise_filter"].transpose(2, 3, 0, 1)
            state[f"{name}.pointwise.weight"] = tensors[f"{prefix}/conv{conv}/pointwise_filter"].transpose(3, 2, 0, 1)
            state[f"{name}.pointwise.bias"] = tensors[f"{prefix}/conv{conv}/bias"]
    state["fc.weight"] = tensors["fc/weights"].T
    state["fc.bias"] = tensors["fc/bias"]
    return {name: np.ascontiguousarray(value, np.float32) for name, value in state.items()}


def faceapi_files() -> tuple[Path, Path]:
    """``(manifest, bin)`` of the expression net in the cache, SHA-256 checked (fetched with npm on first use)."""
    ensure_asset(FACEAPI_ASSET)
    return asset_path(FACEAPI_ASSET, MANIFEST_MEMBER), asset_path(FACEAPI_ASSET, BIN_MEMBER)


def faceapi_weights_path() -> Path:
    """The converted safetensors weights, converting on first use."""
    manifest, _ = faceapi_files()
    target = manifest.parent / f"face_expression-v{CONVERSION_VERSION}.safetensors"
    if not target.exists():
        from safetensors.numpy import save_file

        with atomic_path(target) as part:
            source = f"npm {FACEAPI_ASSET.package}@{FACEAPI_VERSION} model/face_expression_model"
            save_file(tfjs_to_state_dict(read_tfjs_weights(manifest)), str(part), metadata={"source": source})
    return target


class FaceApiExpressionEncoder(FaceEmotionEncoder):
    """face-api.js expression net; embedding = 256-d pooled features + 7 expression logits."""

    id = "faceapi-expression"
    version = f"face-api-{FACEAPI_VERSION}.v{CONVERSION_VERSION}"
    input_size = INPUT_SIZE
    labels = EXPRESSIONS
    dim = EMBEDDING_DIM + len(EXPRESSIONS)

    def __init__(self, device: str = "cpu", weights: str | Path | None = None):
        from safetensors.torch import load_file

        self.device = torch.device(device)
        model = FaceExpressionNet()
        model.load_state_dict(load_file(str(weights or faceapi_weights_path())))
        self.model = model.eval().to(self.device)

    @staticmethod
    def preprocess(crops: np.ndarray) -> torch.Tensor:
        """uint8 RGB ``[N, 112, 112, 3]`` -> ``[N, 3, 112, 112]``: ``(x - mean RGB) / 255``."""
        rgb = torch.from_numpy(np.ascontiguousarray(crops)).float()
        return ((rgb - torch.tensor(MEAN_RGB)) / 255.0).permute(0, 3, 1, 2).contiguous()

    @torch.inference_mode()
    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(crops) == 0:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, len(self.labels)), np.float32)
        embedding, logits = self.model(self.preprocess(crops).to(self.device))
        return torch.cat([embedding, logits], dim=-1).cpu().numpy(), torch.softmax(logits, dim=-1).cpu().numpy()
