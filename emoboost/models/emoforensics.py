"""EmoForensics: a transformer over face and voice emotion tokens that scores their inconsistency.

Inputs per window: visual tokens ``[B, L, Dv]``, speech tokens ``[B, L, Da]`` and their masks
``[B, L]`` (see :mod:`emoboost.models.tokens`). Per modality: a fitted input normaliser, a
linear projection to ``d_model``, a learned modality embedding, a sinusoidal time embedding
and a CLS token. Then

- **intra-modal**: ``intra_layers`` transformer layers per modality, separately (face over
  time, voice over time);
- **inter-modal**: ``inter_layers`` blocks of bidirectional cross-attention (face tokens
  attend to voice tokens and the reverse) followed by joint self-attention over both;
- heads: the window's fake logit (from both CLS tokens), a fake logit per token (the
  timeline), a face-manipulated and a voice-manipulated logit (from each CLS token), and an
  alignment space where ``1 - cos(face, voice)`` per token is the "emotion mismatch".

Masked tokens get no attention (key padding masks); each CLS token is never masked, so no
attention row is ever empty. Ablations are configs: ``modalities: [visual]`` or ``[speech]``,
``intra_layers: 0`` (inter only), ``inter_layers: 0`` (intra only).
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from emoboost.config import require
from emoboost.media.timebase import TOKEN_FRAMES


@dataclasses.dataclass(frozen=True)
class EmoForensicsConfig:
    d_model: int = 256
    heads: int = 4
    intra_layers: int = 2
    inter_layers: int = 2
    feedforward: int = 512
    dropout: float = 0.1
    alignment_dim: int = 64
    modalities: tuple[str, ...] = ("visual", "speech")
    token_frames: int = TOKEN_FRAMES  # grid frames per token (5: 5 Hz tokens)
    window_tokens: int = 40  # 8 s
    hop_tokens: int = 20  # 4 s
    aggregation: str = "mean"  # window logits -> video logit: mean, max or attention

    def validate(self) -> None:
        require(self.d_model % self.heads == 0, "model.d_model must be divisible by model.heads")
        require(self.intra_layers >= 0 and self.inter_layers >= 0, "model layer counts must be >= 0")
        require(
            set(self.modalities) <= {"visual", "speech"} and len(self.modalities) >= 1,
            "model.modalities: visual and/or speech",
        )
        require(self.inter_layers == 0 or len(self.modalities) == 2, "model.inter_layers needs both modalities")
        require(self.intra_layers + self.inter_layers >= 1, "model needs at least one transformer layer")
        require(
            self.token_frames >= 1 and self.window_tokens >= 1 and 1 <= self.hop_tokens <= self.window_tokens,
            "invalid token/window sizes",
        )
        require(self.aggregation in ("mean", "max", "attention"), "model.aggregation: mean, max or attention")
        require(0 <= self.dropout < 1, "model.dropout must be in [0, 1)")


def sinusoidal(length: int, dim: int) -> torch.Tensor:
    """Sinusoidal time embedding ``[length, dim]``."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    scale = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10_000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * scale)
    table[:, 1::2] = torch.cos(position * scale[: dim // 2])
    return table


def _encoder(config: EmoForensicsConfig, layers: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        config.d_model, config.heads, config.feedforward, config.dropout, batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class CrossModalBlock(nn.Module):
    """Bidirectional cross-attention (face <- voice, voice <- face), then joint self-attention over both."""

    def __init__(self, config: EmoForensicsConfig):
        super().__init__()
        d = config.d_model
        self.face_from_voice = nn.MultiheadAttention(d, config.heads, dropout=config.dropout, batch_first=True)
        self.voice_from_face = nn.MultiheadAttention(d, config.heads, dropout=config.dropout, batch_first=True)
        self.norm_face, self.norm_voice = nn.LayerNorm(d), nn.LayerNorm(d)
        self.joint = _encoder(config, 1)

    def forward(
        self,
        face: torch.Tensor,
        voice: torch.Tensor,
        face_pad: torch.Tensor,
        voice_pad: torch.Tensor,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        q_face, q_voice = self.norm_face(face), self.norm_voice(voice)
        from_voice, voice_weights = self.face_from_voice(
            q_face, q_voice, q_voice, key_padding_mask=voice_pad, need_weights=need_weights
        )
        from_face, face_weights = self.voice_from_face(
            q_voice, q_face, q_face, key_padding_mask=face_pad, need_weights=need_weights
        )
        face, voice = face + from_voice, voice + from_face
        joint = self.joint(
            torch.cat([face, voice], dim=1), src_key_padding_mask=torch.cat([face_pad, voice_pad], dim=1)
        )
        return joint[:, : face.shape[1]], joint[:, face.shape[1] :], face_weights


class EmoForensics(nn.Module):
    """See the module docstring. ``forward`` returns a dict of tensors."""

    time_embedding: torch.Tensor  # buffer

    def __init__(self, config: EmoForensicsConfig, visual_dim: int, speech_dim: int):
        super().__init__()
        config.validate()
        self.config, self.visual_dim, self.speech_dim = config, visual_dim, speech_dim
        d = config.d_model
        dims = {"visual": visual_dim, "speech": speech_dim}
        self.modalities = tuple(m for m in ("visual", "speech") if m in config.modalities)
        for name in self.modalities:
            self.register_buffer(f"{name}_mean", torch.zeros(dims[name]))
            self.register_buffer(f"{name}_std", torch.ones(dims[name]))
        self.project = nn.ModuleDict({m: nn.Linear(dims[m], d) for m in self.modalities})
        self.modality_embedding = nn.ParameterDict({m: nn.Parameter(torch.randn(d) * 0.02) for m in self.modalities})
        self.cls = nn.ParameterDict({m: nn.Parameter(torch.randn(1, 1, d) * 0.02) for m in self.modalities})
        self.register_buffer("time_embedding", sinusoidal(config.window_tokens + 1, d), persistent=False)
        self.intra = (
            nn.ModuleDict({m: _encoder(config, config.intra_layers) for m in self.modalities})
            if config.intra_layers
            else None
        )
        self.inter = nn.ModuleList([CrossModalBlock(config) for _ in range(config.inter_layers)])
        self.norm = nn.ModuleDict({m: nn.LayerNorm(d) for m in self.modalities})
        width = d * len(self.modalities)
        self.video_head = nn.Sequential(nn.Linear(width, d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(d, 1))
        self.token_head = nn.Linear(width, 1)
        self.modality_head = nn.ModuleDict({m: nn.Linear(d, 1) for m in self.modalities})
        self.align = (
            nn.ModuleDict({m: nn.Linear(d, config.alignment_dim) for m in self.modalities})
            if len(self.modalities) == 2
            else None
        )

    @torch.no_grad()
    def fit_normaliser(self, visual: torch.Tensor | None, speech: torch.Tensor | None) -> None:
        """Set the input normalisers from training tokens ``[M, D]`` (visual: face tokens only)."""
        for name, values in (("visual", visual), ("speech", speech)):
            if name in self.modalities and values is not None and len(values):
                getattr(self, f"{name}_mean").copy_(values.mean(dim=0))
                getattr(self, f"{name}_std").copy_(values.std(dim=0).clamp_min(1e-3))

    def _embed(self, name: str, tokens: torch.Tensor) -> torch.Tensor:
        normed = (tokens - getattr(self, f"{name}_mean")) / getattr(self, f"{name}_std")
        x = self.project[name](normed) + self.modality_embedding[name]  # [B, L, d]
        x = x + self.time_embedding[1 : x.shape[1] + 1]
        cls = self.cls[name].expand(len(x), -1, -1) + self.time_embedding[0]
        return torch.cat([cls, x], dim=1)  # [B, 1 + L, d]

    def forward(
        self,
        visual: torch.Tensor,
        speech: torch.Tensor,
        visual_mask: torch.Tensor,
        speech_mask: torch.Tensor,
        need_weights: bool = False,
    ) -> dict[str, torch.Tensor]:
        inputs = {"visual": (visual, visual_mask), "speech": (speech, speech_mask)}
        states, pads = {}, {}
        for name in self.modalities:
            tokens, mask = inputs[name]
            always = torch.zeros(len(tokens), 1, dtype=torch.bool, device=tokens.device)
            pads[name] = torch.cat([always, ~mask.bool()], dim=1)  # True = ignore; CLS never ignored
            states[name] = self._embed(name, tokens)
            if self.intra is not None:
                states[name] = self.intra[name](states[name], src_key_padding_mask=pads[name])
        out: dict[str, torch.Tensor] = {}
        if self.align is not None:
            face_space = F.normalize(self.align["visual"](states["visual"][:, 1:]), dim=-1)
            voice_space = F.normalize(self.align["speech"](states["speech"][:, 1:]), dim=-1)
            out["face_alignment"], out["voice_alignment"] = face_space, voice_space  # [B, L, A]
            out["mismatch"] = 1 - (face_space * voice_space).sum(-1)  # [B, L]
        for block in self.inter:
            states["visual"], states["speech"], weights = block(
                states["visual"], states["speech"], pads["visual"], pads["speech"], need_weights
            )
            if need_weights:
                out["voice_to_face_attention"] = weights  # [B, 1 + L, 1 + L]
        states = {name: self.norm[name](state) for name, state in states.items()}
        cls = torch.cat([states[m][:, 0] for m in self.modalities], dim=-1)  # [B, d * M]
        tokens = torch.cat([states[m][:, 1:] for m in self.modalities], dim=-1)  # [B, L, d * M]
        out["logit"] = self.video_head(cls).squeeze(-1)  # [B]
        out["token_logits"] = self.token_head(tokens).squeeze(-1)  # [B, L]
        for name in self.modalities:
            out[f"{name}_logit"] = self.modality_head[name](states[name][:, 0]).squeeze(-1)  # [B]
        return out


def aggregate(window_logits: torch.Tensor, mode: str) -> torch.Tensor:
    """Window logits ``[W]`` -> one video logit (mean, max, or softmax-weighted 'attention' pooling)."""
    if mode == "mean":
        return window_logits.mean()
    if mode == "max":
        return window_logits.max()
    if mode == "attention":
        return (torch.softmax(window_logits, dim=0) * window_logits).sum()
    raise ValueError(f"unknown aggregation {mode!r}")
