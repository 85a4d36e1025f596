"""Face-voice affect consistency, learnt from real clips only: how implausible are a clip's face and voice together?

A real talking face is its own supervision: its face and its voice belong together, and any
other pairing (another person's voice, the same person's other recording, the same recording
shifted by a second or more, the same words re-voiced with another emotion) does not. The model
never sees a fake.

Inputs per 5 Hz token (:func:`affect_tokens`), chosen to carry affect rather than artefacts:

- **face**: the visual emotion embedding (face geometry + expression encoder, the store's
  ``visual``), the expression probabilities, and the share of the token's frames with a face
  (so a missing face is an input, not a gap);
- **voice**: the speech emotion stream (eGeMAPS: voiced pitch in semitones, loudness, voicing,
  spectral balance), the share of frames with speech (Silero VAD) and the level (dBFS / 80). Speech
  activity is a *feature*, not a mask, so a moving face over a silent voice can be compared.

Per modality, a fitted normaliser, a token MLP and a temporal convolution (``kernel`` tokens of
context) give token embeddings; a window's embedding is their mean, L2-normalised. Training
(``emoboost.training.consistency``) uses a symmetric InfoNCE over every other window of the batch
plus a window-level consistency head on ``[f, v, f * v, |f - v|]``. A window's inconsistency is
the negative head logit; a clip's score is the mean over windows (``max`` for partial fakes).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emoboost.config import require
from emoboost.features.store import FeatureRecord
from emoboost.media.timebase import TOKEN_FRAMES
from emoboost.models.tokens import token_means, window_starts

LEVEL_FLOOR_DB = -80.0


@dataclasses.dataclass(frozen=True)
class ConsistencyConfig:
    hidden: int = 64
    embed_dim: int = 32
    kernel: int = 5  # tokens of temporal context per token embedding (1 s at 5 Hz)
    window_tokens: int = 10  # 2 s windows ...
    hop_tokens: int = 5  # ... every second
    min_shift_tokens: int = 5  # a shift is a negative from 1 s on (affect is slow; shorter shifts are not)
    temperature: float = 0.1
    dropout: float = 0.1
    token_frames: int = TOKEN_FRAMES

    def validate(self) -> None:
        require(self.hidden >= 1 and self.embed_dim >= 1, "consistency: hidden and embed_dim must be >= 1")
        require(self.kernel >= 1 and self.kernel % 2 == 1, "consistency.kernel must be an odd number >= 1")
        require(1 <= self.hop_tokens <= self.window_tokens, "consistency: 1 <= hop_tokens <= window_tokens")
        require(self.min_shift_tokens >= 1, "consistency.min_shift_tokens must be >= 1")
        require(self.temperature > 0 and 0 <= self.dropout < 1, "consistency: temperature > 0, 0 <= dropout < 1")


@dataclasses.dataclass(frozen=True)
class AffectTokens:
    """Face and voice token features of one clip (N tokens each)."""

    face: np.ndarray  # [N, Df]
    voice: np.ndarray  # [N, Dv]

    def __len__(self) -> int:
        return min(len(self.face), len(self.voice))

    def with_voice(self, other: AffectTokens, shift: int = 0) -> AffectTokens:
        """This face with ``other``'s voice (rotated by ``shift`` tokens), cut to the shorter of the two."""
        n = min(len(self.face), len(other.voice))
        voice = np.roll(other.voice[:n], shift, axis=0) if shift else other.voice[:n]
        return AffectTokens(self.face[:n], voice)


def affect_tokens(record: FeatureRecord, token_frames: int = TOKEN_FRAMES, start: int = 0) -> AffectTokens:
    """The consistency model's inputs from a feature record (see the module docstring), from grid frame
    ``start`` on (a silence-trimmed clip; at least one token is kept)."""
    start = max(0, min(int(start), record.n_frames - token_frames))
    face_mask = record.face_mask[start:]
    face_parts = [record.visual[start:]]
    if "expressions" in record.arrays:
        face_parts.append(record.expressions[start:])
    face, face_count = token_means(np.concatenate(face_parts, axis=1), face_mask, token_frames)
    speaking = record.audio_mask[start:]
    voice, speech_count = token_means(record.speech[start:], speaking, token_frames)
    ones = np.ones(len(face_mask), bool)
    face_share = token_means(face_mask[:, None].astype(np.float32), ones, token_frames)[0]
    speech_share = token_means(speaking[:, None].astype(np.float32), ones, token_frames)[0]
    level = (
        np.maximum(record.audio_rms_db[start:], LEVEL_FLOOR_DB)[:, None] / -LEVEL_FLOOR_DB
        if "audio_rms_db" in record.arrays
        else np.zeros((len(face_mask), 1), np.float32)
    )
    level_tokens = token_means(level.astype(np.float32), ones, token_frames)[0]
    del face_count, speech_count
    return AffectTokens(
        np.concatenate([face, face_share], axis=1).astype(np.float32),
        np.concatenate([voice, speech_share, level_tokens], axis=1).astype(np.float32),
    )


def affect_dims(visual_dim: int, expression_classes: int, speech_dim: int) -> tuple[int, int]:
    """``(face_dim, voice_dim)`` of :func:`affect_tokens` for records of encoders of these sizes."""
    return visual_dim + expression_classes + 1, speech_dim + 2


class _Stream(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, dim: int, config: ConsistencyConfig):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.token = nn.Sequential(nn.Linear(dim, config.hidden), nn.GELU(), nn.Dropout(config.dropout))
        self.context = nn.Conv1d(config.hidden, config.hidden, config.kernel, padding=config.kernel // 2)
        self.out = nn.Linear(config.hidden, config.embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, L, D] -> [B, L, E]
        h = self.token((x - self.mean) / self.std)
        h = h + F.gelu(self.context(h.transpose(1, 2)).transpose(1, 2))
        return self.out(h)


class ConsistencyModel(nn.Module):
    """Token and window embeddings of face and voice, and the window's consistency logit."""

    def __init__(self, config: ConsistencyConfig, face_dim: int, voice_dim: int):
        super().__init__()
        config.validate()
        self.config = config
        self.face_dim, self.voice_dim = face_dim, voice_dim
        self.face = _Stream(face_dim, config)
        self.voice = _Stream(voice_dim, config)
        e = config.embed_dim
        self.head = nn.Sequential(nn.Linear(4 * e, config.hidden), nn.GELU(), nn.Linear(config.hidden, 1))

    def fit_normalisers(self, face: np.ndarray, voice: np.ndarray) -> None:
        """Per-feature mean and standard deviation of training tokens ``[N, D]``."""
        streams: tuple[tuple[_Stream, np.ndarray], ...] = ((self.face, face), (self.voice, voice))
        for stream, values in streams:
            stream.mean.copy_(torch.from_numpy(values.mean(axis=0)).float())
            stream.std.copy_(torch.from_numpy(values.std(axis=0) + 1e-3).float())

    def embed(self, face: torch.Tensor, voice: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Window embeddings ``[B, E]`` (unit length) of face ``[B, L, Df]`` and voice ``[B, L, Dv]`` windows."""
        return F.normalize(self.face(face).mean(dim=1), dim=-1), F.normalize(self.voice(voice).mean(dim=1), dim=-1)

    def consistency(self, f: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``[B]`` logits: high when the face window and the voice window belong together."""
        return self.head(torch.cat([f, v, f * v, (f - v).abs()], dim=-1)).squeeze(-1)

    def forward(self, face: torch.Tensor, voice: torch.Tensor) -> torch.Tensor:
        return self.consistency(*self.embed(face, voice))


def windows(tokens: AffectTokens, config: ConsistencyConfig) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``(face [W, L, Df], voice [W, L, Dv], starts)``: windows of a clip, the last one padded by repeating the edge."""
    n, length = len(tokens), config.window_tokens
    face, voice = tokens.face[:n], tokens.voice[:n]
    if n < length:  # a clip shorter than a window: its edge tokens repeated
        face = np.pad(face, ((0, length - n), (0, 0)), mode="edge")
        voice = np.pad(voice, ((0, length - n), (0, 0)), mode="edge")
    starts = window_starts(max(n, length), length, config.hop_tokens)
    return (
        np.stack([face[s : s + length] for s in starts]),
        np.stack([voice[s : s + length] for s in starts]),
        starts,
    )


@torch.no_grad()
def window_inconsistency(model: ConsistencyModel, tokens: AffectTokens) -> tuple[np.ndarray, list[int]]:
    """Per-window inconsistency (the negative consistency logit) and each window's start token."""
    model.eval()
    face, voice, starts = windows(tokens, model.config)
    logits = model(torch.from_numpy(face), torch.from_numpy(voice))
    return (-logits).numpy().astype(np.float64), starts


def clip_inconsistency(model: ConsistencyModel, tokens: AffectTokens) -> dict[str, float]:
    """A clip's score: ``mean`` over windows (the clip logit), ``max`` (the most inconsistent window)."""
    scores, _ = window_inconsistency(model, tokens)
    return {"mean": float(scores.mean()), "max": float(scores.max())}
