"""From 25 fps feature records to the transformer's inputs: 5 Hz tokens, cut into windows.

A token is the mean of ``token_frames`` consecutive grid frames (5 by default: 5 Hz). The visual
mean is taken over frames **with a face** only; a token with no face frame is masked, never
filled with zeros that would look like a face. Speech tokens likewise over frames with speech
(the Silero VAD audio mask), so pauses are masked, not read as a calm voice. Windows of
``window_tokens`` tokens (40: 8 s) start every ``hop_tokens`` tokens (20: 4 s); the last window
is aligned to the clip's end so every token is covered, and clips shorter than one window give
one padded window.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from emoboost.features.store import FeatureRecord


@dataclasses.dataclass(frozen=True)
class ClipTokens:
    """Token sequences of one clip (N tokens)."""

    visual: np.ndarray  # [N, Dv]
    speech: np.ndarray  # [N, Da]
    visual_mask: np.ndarray  # [N] bool, True where the token has at least one face frame
    speech_mask: np.ndarray  # [N] bool, True where the token has at least one frame with speech

    def __len__(self) -> int:
        return len(self.visual)


def token_means(values: np.ndarray, weights: np.ndarray, token_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means of ``[T, D]`` frame values over tokens of ``token_frames`` frames.

    Returns ``(means [N, D], weight sums [N])`` with ``N = ceil(T / token_frames)``; a token whose
    weights sum to 0 gets zeros (callers mask it with the weight sums).
    """
    n_frames = len(values)
    n_tokens = -(-n_frames // token_frames)
    pad = n_tokens * token_frames - n_frames
    w = np.pad(weights.astype(np.float32), (0, pad)).reshape(n_tokens, token_frames)
    v = np.pad(values, ((0, pad), (0, 0))).reshape(n_tokens, token_frames, -1)
    total = w.sum(axis=1)
    return ((v * w[..., None]).sum(axis=1) / np.maximum(total, 1e-12)[:, None]).astype(np.float32), total


def tokenize(
    visual: np.ndarray,
    speech: np.ndarray,
    face_mask: np.ndarray,
    token_frames: int,
    audio_mask: np.ndarray | None = None,
) -> ClipTokens:
    """``[T, D]`` frame features -> ``[N, D]`` tokens, ``N = ceil(T / token_frames)``.

    ``audio_mask`` (speech activity per frame; None: every frame) does for the voice what the
    face mask does for the face: a speech token is the mean over its frames with speech, and a
    token without speech is masked.
    """
    visual_tokens, face_count = token_means(visual, face_mask, token_frames)
    speaking = np.ones(len(speech), bool) if audio_mask is None else audio_mask
    speech_tokens, speech_count = token_means(speech, speaking, token_frames)
    return ClipTokens(visual_tokens, speech_tokens, face_count > 0, speech_count > 0)


def tokenize_record(record: FeatureRecord, token_frames: int) -> ClipTokens:
    return tokenize(record.visual, record.speech, record.face_mask, token_frames, record.audio_mask)


def window_starts(n_tokens: int, window_tokens: int, hop_tokens: int) -> list[int]:
    """Start token of every window; the last window ends at the clip's end."""
    if n_tokens <= window_tokens:
        return [0]
    starts = list(range(0, n_tokens - window_tokens + 1, hop_tokens))
    if starts[-1] + window_tokens < n_tokens:
        starts.append(n_tokens - window_tokens)
    return starts


@dataclasses.dataclass(frozen=True)
class WindowBatch:
    """Windows stacked for the model (W windows of L tokens)."""

    visual: np.ndarray  # [W, L, Dv]
    speech: np.ndarray  # [W, L, Da]
    visual_mask: np.ndarray  # [W, L]
    speech_mask: np.ndarray  # [W, L]
    starts: np.ndarray  # [W] first token of each window


def cut_window(
    tokens: ClipTokens, start: int, window_tokens: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One window ``[L, D]`` (zero-padded and masked past the clip's end)."""
    stop = min(start + window_tokens, len(tokens))
    pad = window_tokens - (stop - start)

    def take(array: np.ndarray) -> np.ndarray:
        part = array[start:stop]
        return np.pad(part, ((0, pad),) + ((0, 0),) * (part.ndim - 1))

    return take(tokens.visual), take(tokens.speech), take(tokens.visual_mask), take(tokens.speech_mask)


def windows(tokens: ClipTokens, window_tokens: int, hop_tokens: int) -> WindowBatch:
    """All windows of a clip."""
    starts = window_starts(len(tokens), window_tokens, hop_tokens)
    parts = [cut_window(tokens, start, window_tokens) for start in starts]
    visual, speech, visual_mask, speech_mask = (np.stack(column) for column in zip(*parts, strict=False))
    return WindowBatch(visual, speech, visual_mask, speech_mask, starts=np.asarray(starts))
