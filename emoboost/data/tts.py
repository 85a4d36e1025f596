"""Speech synthesis with espeak-ng, at the package's 16 kHz (for SynthAV, demos and tests).

:func:`espeak` speaks plain text. :func:`speak_styled` speaks a phrase in a :class:`VoiceStyle`:
espeak-ng's SSML prosody sets the base pitch, a pitch contour across the phrase (one
``<prosody pitch>`` step per word), the pitch range and the tempo; gain and spectral tilt are
applied to the waveform afterwards. ``scale`` < 1 flattens the style towards neutral (what
a voice clone does to prosody).
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import wave

import numpy as np

from emoboost.errors import EmoboostError
from emoboost.media.decode import SAMPLE_RATE


def espeak(
    text: str,
    voice: str = "en",
    pitch: int = 50,
    speed: int = 160,
    amplitude: int = 100,
    word_gap: int = 0,
    ssml: bool = False,
) -> np.ndarray:
    """float32 mono speech at 16 kHz.

    ``pitch`` 0-99, ``speed`` words per minute, ``amplitude`` 0-200; ``ssml``: ``text`` is SSML.
    """
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise EmoboostError("espeak-ng is not installed (Debian/Ubuntu: apt-get install espeak-ng)")
    command = [
        binary,
        "--stdout",
        "-v",
        voice,
        "-p",
        str(pitch),
        "-s",
        str(speed),
        "-a",
        str(amplitude),
        "-g",
        str(word_gap),
    ]
    command += ["-m", text] if ssml else [text]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode < 0:
        raise EspeakCrash(f"espeak-ng crashed (signal {-result.returncode}) for voice {voice!r}")
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


class EspeakCrash(EmoboostError):
    """espeak-ng died on a signal (measured: a segfault on some voices at SSML ``range`` +90 % and a low pitch)."""


@dataclasses.dataclass(frozen=True)
class VoiceStyle:
    """Prosody of one emotion, relative to the speaker's neutral voice."""

    pitch_start: float  # pitch at the first word, percent above the speaker's base
    pitch_end: float  # ... at the last word (the contour is linear in between)
    pitch_range: float  # percent change of the pitch range (-100 flat .. +100 twice as wide)
    rate: float  # tempo factor
    gain_db: float  # level change
    tilt_db_per_octave: float  # spectral tilt above 500 Hz (> 0 brighter, tense voice; < 0 duller)
    breath: float = 0.0  # aspiration noise following the speech envelope, relative to the speech level (breathy voice)
    drive: float = 0.0  # soft saturation (tanh) of the voice, 0 none .. 1 strong (pressed, harsh voice)

    def scaled(self, scale: float) -> VoiceStyle:
        """The style moved towards neutral (``scale`` 0) or kept (``scale`` 1)."""
        return VoiceStyle(
            self.pitch_start * scale, self.pitch_end * scale, self.pitch_range * scale,
            1 + (self.rate - 1) * scale, self.gain_db * scale, self.tilt_db_per_octave * scale,
            self.breath * scale, self.drive * scale,
        )  # fmt: skip


TILT_PIVOT_HZ = 500.0
RANGE_NUDGES = (0, -1, -3, -6, -10, -20, -40)  # SSML range changes (points) tried after an espeak-ng crash


def tilt(audio: np.ndarray, db_per_octave: float) -> np.ndarray:
    """Spectral tilt: gain ``db_per_octave`` per octave above ``TILT_PIVOT_HZ`` (flat below), level kept."""
    if abs(db_per_octave) < 1e-6 or len(audio) == 0:
        return audio
    spectrum = np.fft.rfft(audio)
    frequency = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
    octaves = np.log2(np.maximum(frequency, TILT_PIVOT_HZ) / TILT_PIVOT_HZ)
    out = np.fft.irfft(spectrum * 10 ** (db_per_octave * octaves / 20), n=len(audio))
    return (out * np.sqrt(np.mean(audio**2) / max(np.mean(out**2), 1e-20))).astype(np.float32)


def speak_styled(words: list[str], voice: str, pitch: int, speed: int, style: VoiceStyle) -> np.ndarray:
    """``words`` spoken by ``voice`` (base ``pitch`` 0-99, ``speed`` wpm) in ``style``; float32 16 kHz."""
    steps = np.linspace(style.pitch_start, style.pitch_end, max(len(words), 1))
    body = " ".join(f'<prosody pitch="{step:+.0f}%">{word}</prosody>' for step, word in zip(steps, words, strict=False))
    speed = max(80, round(speed * style.rate))
    for nudge in RANGE_NUDGES:  # espeak-ng segfaults on a few inputs; a smaller range avoids it
        ssml = f'<speak><prosody range="{style.pitch_range + nudge:+.0f}%">{body}</prosody></speak>'
        try:
            speech = espeak(ssml, voice=voice, pitch=pitch, speed=speed, ssml=True)
            break
        except EspeakCrash:
            if nudge == RANGE_NUDGES[-1]:
                raise
    else:  # pragma: no cover - the loop always breaks or raises
        raise AssertionError
    return (voice_quality(tilt(speech, style.tilt_db_per_octave), style) * 10 ** (style.gain_db / 20)).astype(
        np.float32
    )


BREATH_BAND_HZ = (1500.0, 6000.0)
ENVELOPE_S = 0.010


def voice_quality(speech: np.ndarray, style: VoiceStyle) -> np.ndarray:
    """Breathiness (band-passed noise under the speech envelope) and harshness (tanh drive), level kept."""
    out = speech.astype(np.float64)
    level = np.sqrt(np.mean(out**2)) + 1e-12
    if style.drive > 0:
        gain = 1 + 8 * style.drive
        out = np.tanh(out / level * 0.1 * gain)
    if style.breath > 0 and len(out):
        rng = np.random.default_rng(len(out))  # deterministic for a given phrase length
        spectrum = np.fft.rfft(rng.standard_normal(len(out)))
        frequency = np.fft.rfftfreq(len(out), 1 / SAMPLE_RATE)
        spectrum[(frequency < BREATH_BAND_HZ[0]) | (frequency > BREATH_BAND_HZ[1])] = 0
        noise = np.fft.irfft(spectrum, n=len(out))
        width = max(1, int(ENVELOPE_S * SAMPLE_RATE))
        envelope = np.sqrt(np.convolve(out**2, np.ones(width) / width, mode="same"))
        out = out + style.breath * envelope * noise / (np.std(noise) + 1e-12)
    return (out * level / (np.sqrt(np.mean(out**2)) + 1e-12)).astype(np.float32)
