"""EmoForensics inference: a clip's token sequence -> :class:`ClipScores` (beside the network, apart from training).

A clip is cut into the model's windows (``window_tokens`` long, ``hop_tokens`` apart; see
:func:`emoboost.models.tokens.windows`), the windows go through the network in batches of
:data:`PREDICT_WINDOWS` (bounded memory on long clips), window logits are aggregated into the
clip's logit as the config says, and per-token outputs of overlapping windows are averaged.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Protocol, overload

import numpy as np
import torch

from emoboost.models.emoforensics import EmoForensics, aggregate
from emoboost.models.tokens import ClipTokens, windows

PREDICT_WINDOWS = 64  # windows per forward pass at inference


@overload
def sigmoid(x: float) -> float: ...
@overload
def sigmoid(x: np.ndarray) -> np.ndarray: ...
def sigmoid(x: float | np.ndarray) -> float | np.ndarray:
    """The logistic function, clipped to +-60 so that it never overflows (the one sigmoid of emoboost)."""
    if isinstance(x, np.ndarray):
        return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, float(x)))))


@dataclasses.dataclass(frozen=True, eq=False)
class ClipScores:
    """EmoForensics' outputs for one clip (logits: positive means fake)."""

    logit: float  # the clip: window logits aggregated (config.aggregation)
    window_logits: np.ndarray  # [W] one per window
    window_starts: np.ndarray  # [W] first token of each window
    token_logits: np.ndarray  # [N] per token, overlapping windows averaged
    mismatch: np.ndarray | None  # [N] face-voice emotion distance per token (NaN without a face or speech); None
    # without the inter-modal branch
    visual_logit: float | None  # the face head, aggregated like the clip logit; None when the model has no visual input
    speech_logit: float | None  # the voice head; None when the model has no speech input


class HasTokens(Protocol):
    @property
    def tokens(self) -> ClipTokens: ...


@torch.no_grad()
def predict_clip(model: EmoForensics, tokens: ClipTokens) -> ClipScores:
    """Scores of one clip: clip and window logits, per-token logits / mismatch, per-modality logits."""
    config = model.config
    batch = windows(tokens, config.window_tokens, config.hop_tokens)
    device = next(model.parameters()).device
    parts: dict[str, list[torch.Tensor]] = {}
    arrays = (batch.visual, batch.speech, batch.visual_mask, batch.speech_mask)
    for begin in range(0, len(batch.starts), PREDICT_WINDOWS):
        chunk = (torch.from_numpy(a[begin : begin + PREDICT_WINDOWS]).to(device) for a in arrays)
        for name, value in model(*chunk).items():
            parts.setdefault(name, []).append(value.cpu())
    out = {name: torch.cat(values) for name, values in parts.items()}
    token_logits = _token_means(out["token_logits"], batch.starts, config.window_tokens, len(tokens))
    mismatch = None
    if "mismatch" in out:  # only where both a face and speech are there to compare (NaN elsewhere)
        mismatch = _token_means(out["mismatch"], batch.starts, config.window_tokens, len(tokens))
        mismatch = np.where(tokens.visual_mask & tokens.speech_mask, mismatch, np.nan)

    def head(name: str) -> float | None:
        return float(aggregate(out[f"{name}_logit"], config.aggregation)) if name in model.modalities else None

    return ClipScores(
        logit=float(aggregate(out["logit"], config.aggregation)),
        window_logits=out["logit"].numpy(),
        window_starts=batch.starts,
        token_logits=token_logits,
        mismatch=mismatch,
        visual_logit=head("visual"),
        speech_logit=head("speech"),
    )


def _token_means(values: torch.Tensor, starts: np.ndarray, window_tokens: int, n: int) -> np.ndarray:
    """Per-token mean of ``values`` [W, window_tokens] over the windows covering each token. ``[n]``."""
    total, count = np.zeros(n), np.zeros(n)
    for w, start in enumerate(starts):
        stop = min(start + window_tokens, n)
        total[start:stop] += values[w, : stop - start].numpy()
        count[start:stop] += 1
    return total / count


def predict_logits(model: EmoForensics, clips: Sequence[HasTokens]) -> np.ndarray:
    """The clip logit of each clip. ``[len(clips)]``."""
    return np.array([predict_clip(model, clip.tokens).logit for clip in clips])
