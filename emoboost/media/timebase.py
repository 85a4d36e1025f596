"""The time base of the whole package, declared once and derived from each other.

- Video: a grid of ``FPS`` frames per second; grid frame ``i`` covers ``[i / FPS, (i + 1) / FPS)``.
- Audio: float32 mono at ``SAMPLE_RATE``; grid frame ``i`` owns samples
  ``[i * SAMPLES_PER_FRAME, (i + 1) * SAMPLES_PER_FRAME)``.
- Tokens (the transformer's time step): ``TOKEN_RATE`` per second, ``TOKEN_FRAMES`` grid frames each
  (the default; a model config may choose another whole number of frames).
- Log-mel spectrogram (the acoustic detector's input): ``MEL_WINDOW_S`` windows every ``MEL_HOP_S``,
  ``MEL_PER_FRAME`` mel frames per grid frame.
"""

from __future__ import annotations


def exact_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator``, which must be a whole number (a time base that does not divide is a bug)."""
    quotient, remainder = divmod(numerator, denominator)
    if remainder:
        raise ValueError(f"{numerator} is not a multiple of {denominator}")
    return quotient


FPS = 25  # grid frames per second
SAMPLE_RATE = 16_000  # audio samples per second
SAMPLES_PER_FRAME = exact_div(SAMPLE_RATE, FPS)  # 640
MEL_HOP_S = 0.010  # 10 ms between mel frames
MEL_WINDOW_S = 0.025  # 25 ms analysis window
MEL_HOP = exact_div(SAMPLE_RATE, round(1 / MEL_HOP_S))  # 160 samples
MEL_WINDOW = round(MEL_WINDOW_S * SAMPLE_RATE)  # 400 samples
MEL_PER_FRAME = exact_div(SAMPLES_PER_FRAME, MEL_HOP)  # 4 mel frames per grid frame
TOKEN_RATE = 5  # tokens per second by default: emotion moves slowly
TOKEN_FRAMES = exact_div(FPS, TOKEN_RATE)  # 5 grid frames per token
