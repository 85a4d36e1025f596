"""Speech synthesis with espeak-ng, at the package's 16 kHz (for SynthAV, demos and tests)."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from emoboost.errors import EmoboostError
from emoboost.media.decode import SAMPLE_RATE


def espeak(text: str, voice: str = "en", pitch: int = 50, speed: int = 160, amplitude: int = 100, word_gap: int = 0) -> np.ndarray:
    """float32 mono speech at 16 kHz. ``pitch`` 0-99, ``speed`` words per minute, ``amplitude`` 0-200."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise EmoboostError("espeak-ng is not installed (Debian/Ubuntu: apt-get install espeak-ng)")
    command = [binary, "--stdout", "-v", voice, "-p", str(pitch), "-s", str(speed), "-a", str(amplitude), "-g", str(word_gap), text]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        raise EmoboostError(f"espeak-ng failed for voice {voice!r}: {result.stderr.decode(errors='replace').strip()}")
    with wave.open(io.BytesIO(result.stdout)) as handle:
        rate = handle.getframerate()
        samples = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768
    if rate != SAMPLE_RATE:
        from scipy.signal import resample_poly

        divisor = int(np.gcd(rate, SAMPLE_RATE))
        samples = resample_poly(samples, SAMPLE_RATE // divisor, rate // divisor).astype(np.float32)
    return samples
