"""SynthAV v2: a generated audio-visual benchmark run as a factorial controlled experiment.

What the generator builds in (read this before reading any SynthAV number):

- **Identities**: each has a drawn face (head shape, skin, hair, eye spacing, ...) and a voice
  (an espeak-ng voice variant, base pitch and tempo).
- **Emotion**: a scenario is a script of phrases, each with one of five emotions (neutral,
  happy, sad, angry, surprised). The emotion drives the face (brows, eyes, mouth curvature;
  0.3 s transitions) and the voice (:data:`VOICE_STYLE`: pitch level and contour, pitch range,
  tempo, level, spectral tilt, breathiness, harshness). The mouth opening follows the speech
  envelope. Emotions are *drawn and synthesised*: the face and voice encoders can read them
  (``emoboost probe``), but they are caricatures of acted emotion, not human behaviour.
- **The same room under every clip**: a room tone (pink noise + mains hum, level drawn per
  scenario) is mixed into the final audio of the real clip and of each of its fakes, so the
  level in speech pauses does not tell real from fake; camera jitter, lighting, sensor noise
  and H.264 at a random CRF are shared the same way.
- **Manipulations that behave like the real methods**:
  RVFA (voice clone): the same words, time-locked to the original phrases, in another voice
  variant with prosody flattened to ``CLONE_PROSODY`` of the style; the video is untouched.
  FVRA-WL (lip-sync of a real recording): the person's own voice speaking *other* words,
  time-locked to the scenario's phrases; only the mouth region is redrawn to follow it, the
  rest of the face keeps moving with the video.
  FVFA-FS / FVFA-GAN (face swap + lip-sync): the partner's inner face (geometry, colour-
  corrected skin) keeps the *driving video's* expressions; the mouth follows the cloned voice.
  FVFA-WL: lip-sync of the video to a cloned voice.
- **Two factors, crossed in every fake category** and written to the manifest:
  ``emotion_mismatch`` 0 = the fake voice carries the video's emotion per phrase, 1 = another
  emotion in every phrase; ``artifact`` none (seamless paste, no colour residual, no vocoder),
  weak, strong (resampling / blur / colour shift of the pasted region, Griffin-Lim vocoding
  and a low-pass of the fake voice). Cells are assigned in rotation, so any six consecutive
  scenarios cover every cell of every category.

What it cannot support: claims about real faces, real voices, real emotion or any real
deepfake method. SynthAV tests whether a detector *can* use a cue when the cue is there by
construction; cells with ``emotion_mismatch`` 0 and ``artifact`` none are, by design, fakes no
detector should find from emotion or low-level traces. SynthAV numbers are never FakeAVCeleb results.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from emoboost.data.fakeavceleb import CATEGORY_OF, TYPE_FOLDERS
from emoboost.data.manifest import ARTIFACT_LEVELS, CATEGORIES, REAL, ManifestRow, format_track
from emoboost.data.synthav_draw import PAD, SIZE, Identity, degrade, draw_face, paste, render
from emoboost.data.tts import VoiceStyle, speak_styled
from emoboost.media.decode import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from emoboost.media.write import write_video

EMOTIONS = ("neutral", "happy", "sad", "angry", "surprised")
# expression: brow raise, inner-brow lowering, eye openness, mouth curvature (+ smile), mouth width, roundness
EXPRESSION = {
    "neutral": (0.0, 0.0, 1.0, 0.0, 1.0, 0.0),
    "happy": (0.1, -0.1, 0.75, 1.0, 1.2, 0.0),
    "sad": (0.25, -0.7, 0.75, -0.9, 0.9, 0.0),
    "angry": (-0.35, 1.0, 0.9, -0.35, 0.9, 0.0),
    "surprised": (0.9, 0.0, 1.45, 0.0, 0.7, 1.0),
}
# voice per emotion (relative to the speaker's neutral voice); validated by `emoboost probe` (README)
VOICE_STYLE = {
    "neutral": VoiceStyle(0, 0, -40, 1.0, 0, 0),
    "happy": VoiceStyle(35, 25, 100, 1.1, 3, 2),
    "sad": VoiceStyle(-20, -35, -80, 0.72, -9, -5, breath=0.6),
    "angry": VoiceStyle(-5, -20, -20, 1.25, 10, 6, drive=0.9),
    "surprised": VoiceStyle(80, 130, 60, 0.9, 0, 0, breath=0.25),
}
SPEECH_LEVEL = 0.3  # linear gain of the synthesised voice before mixing (headroom for +10 dB styles)
CLONE_PROSODY = 0.5  # a cloned voice keeps this share of the emotional prosody
VOICES = ("en+m1", "en+m3", "en+f2", "en+f4", "en+klatt", "en+iven", "en+linda", "en+max")
WORDS = (
    "today we walked along the river and talked about the weather the garden the market the station "
    "my brother called again about the house the money the car the letter the meeting tomorrow morning "
    "nobody told me that the train was late and the office was closed for the holiday"
).split()
TYPE_FOLDER = {kind: folder for folder, kind in TYPE_FOLDERS.items()}  # FakeAVCeleb's own layout (fakeavceleb.py)
CATEGORY_TYPE_METHOD = {category: type_method for type_method, category in CATEGORY_OF.items()}
ARTIFACT_STRENGTH = {"none": (0.0, 0.0), "weak": (0.15, 0.45), "strong": (0.6, 1.0)}  # drawn uniformly per clip
ROOM_TONE_DB = (-60.0, -50.0)  # room tone level (dBFS RMS), drawn per scenario
HUM_HZ = (50.0, 60.0)
TRANSITION_S = 0.3
MIN_CONTRAST = 100.0  # RGB distance between a face's skin and its background
PAUSE_S = (0.05, 0.25)


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    identities: int = 8
    clips_per_identity: int = 2  # base scenarios per identity; each gives 1 real + 5 fakes
    seconds: float = 4.0
    seed: int = 0
    version: int = 3  # the generator (2 or 3; see emoboost.data.synthav); the same version and seed give the same set
    photo_faces: bool = False  # v3: the first women of the set get real photographs (emoboost.data.synthav_photo)


def _rgb(values: Iterable[float]) -> tuple[int, int, int]:
    red, green, blue = (int(v) for v in values)
    return red, green, blue


def make_identity(index: int, seed: int) -> Identity:
    rng = np.random.default_rng([seed, 1, index])
    tone = rng.uniform(0.5, 1.0)  # darker drawn faces lack the contrast MTCNN needs (no shading)
    skin = _rgb(np.array([235, 195, 165]) * tone + rng.integers(-10, 10, 3))
    voice = VOICES[index % len(VOICES)]
    return Identity(
        name=f"id{index:05d}",
        skin=skin,
        hair=_rgb(rng.integers(10, 140, 3)),
        background=_contrasting(rng.integers(60, 200, 3), np.array(skin)),
        **face_geometry(rng),
        photo="",
        voice=voice,
        pitch=int(rng.integers(25, 70)),
        speed=int(rng.integers(140, 180)),
        gender="women" if "+f" in voice or "linda" in voice else "men",
    )


def face_geometry(rng: np.random.Generator) -> dict[str, float]:
    """Head shape, eye spacing and size, nose length, mouth height (drawn in this order)."""
    return {
        "head_w": float(rng.uniform(0.78, 0.95)),
        "head_h": float(rng.uniform(1.0, 1.15)),
        "eye_gap": float(rng.uniform(0.30, 0.40)),
        "eye_size": float(rng.uniform(0.08, 0.12)),
        "nose": float(rng.uniform(0.15, 0.25)),
        "mouth_y": float(rng.uniform(0.38, 0.46)),
    }


def _contrasting(background: np.ndarray, skin: np.ndarray) -> tuple[int, int, int]:
    """The background, or its colour turned away from the skin's when the two are closer than ``MIN_CONTRAST``.

    MTCNN misses drawn faces on backgrounds of their own hue (measured: a pink background
    under a tan face gave no face in any keyframe of a clip).
    """
    for candidate in (background, background[::-1], 255 - background):
        if np.linalg.norm(candidate.astype(float) - skin) >= MIN_CONTRAST:
            return _rgb(candidate)
    return _rgb(255 - background)


@dataclasses.dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    emotion: str
    samples: int  # speech + the pause after it
    pause: int  # samples of digital silence at the end


@dataclasses.dataclass(frozen=True)
class Performance:
    """A script spoken by one voice: per-frame emotion weights, audio, mouth opening."""

    phrases: tuple[Phrase, ...]  # the last one may run past the clip's end (the audio is cut there)
    weights: np.ndarray  # [T, 5] emotion weights per frame (rows sum to 1)
    audio: np.ndarray  # [T * 640] float32, without room tone
    mouth_open: np.ndarray  # [T] in [0, 1], from the speech envelope

    def track(self) -> str:
        """The emotion track for the manifest (``label@start_s;...``)."""
        starts = np.cumsum([0] + [p.samples for p in self.phrases[:-1]])
        return format_track(
            [(s / SAMPLE_RATE, p.emotion) for s, p in zip(starts, self.phrases, strict=False) if s < len(self.audio)]
        )


def script(rng: np.random.Generator, seconds: float, speed: int) -> list[tuple[tuple[str, ...], str, int]]:
    """Phrases (words, emotion, pause samples) enough to fill ``seconds`` at about ``speed`` wpm."""
    phrases, total, previous = [], 0.0, None
    while total < seconds:
        emotion = str(rng.choice([e for e in EMOTIONS if e != previous]))
        words = tuple(str(w) for w in rng.choice(WORDS, size=int(rng.integers(3, 7))))
        pause = int(rng.uniform(*PAUSE_S) * SAMPLE_RATE)
        phrases.append((words, emotion, pause))
        previous = emotion
        total += len(words) * 60 / speed / VOICE_STYLE[emotion].rate + pause / SAMPLE_RATE
    return phrases


def _fit(speech: np.ndarray, samples: int) -> np.ndarray:
    return np.pad(speech, (0, max(0, samples - len(speech))))[:samples]


def speak(
    lines: list[tuple[tuple[str, ...], str, int]], voice: str, pitch: int, speed: int, seconds: float,
    prosody: float | Sequence[float] = 1.0, lengths: list[int] | None = None,
) -> Performance:  # fmt: skip
    """Speak ``lines``; with ``lengths`` each phrase is time-locked to that many samples.

    ``prosody`` scales every phrase's emotional style (one value) or each phrase's (one per line).

    A phrase more than 3 % off its length is re-spoken at a fitted tempo, then padded or cut.
    """
    n_frames = int(round(seconds * FPS))
    pieces: list[np.ndarray] = []
    phrases: list[Phrase] = []
    for index, (words, emotion, pause) in enumerate(lines):
        style = VOICE_STYLE[emotion].scaled(prosody if isinstance(prosody, float | int) else prosody[index])
        speech = speak_styled(list(words), voice, pitch, speed, style) * SPEECH_LEVEL
        if lengths is not None:
            target = lengths[index] - pause
            if abs(len(speech) / max(target, 1) - 1) > 0.03:
                fitted = dataclasses.replace(style, rate=style.rate * len(speech) / max(target, 1))
                speech = speak_styled(list(words), voice, pitch, speed, fitted) * SPEECH_LEVEL
            speech = _fit(speech, target)
        pieces += [speech, np.zeros(pause, np.float32)]
        phrases.append(Phrase(words, emotion, len(speech) + pause, pause))
    missing = n_frames * SAMPLES_PER_FRAME - sum(p.samples for p in phrases)
    if missing > 0:  # the script ran short: the last phrase's pause (and emotion) lasts to the end
        final = phrases[-1]
        phrases[-1] = dataclasses.replace(final, samples=final.samples + missing, pause=final.pause + missing)
    audio = _fit(np.concatenate(pieces), n_frames * SAMPLES_PER_FRAME).astype(np.float32)
    weights = np.zeros((n_frames, len(EMOTIONS)), np.float32)
    start = 0
    for phrase in phrases:
        first, last = start // SAMPLES_PER_FRAME, min(n_frames, (start + phrase.samples) // SAMPLES_PER_FRAME + 1)
        weights[first:last] = 0
        weights[first:last, EMOTIONS.index(phrase.emotion)] = 1
        start += phrase.samples
    weights = _smooth(weights, int(TRANSITION_S * FPS))
    envelope = np.sqrt((audio.reshape(n_frames, SAMPLES_PER_FRAME) ** 2).mean(axis=1))
    mouth = np.clip(envelope / (np.percentile(envelope, 95) + 1e-6), 0, 1)
    return Performance(tuple(phrases), weights, audio, _smooth(mouth[:, None], 2)[:, 0])


def perform(identity: Identity, rng: np.random.Generator, seconds: float) -> Performance:
    """A new script in ``identity``'s own voice, full prosody."""
    return speak(script(rng, seconds, identity.speed), identity.voice, identity.pitch, identity.speed, seconds)


def other_emotions(phrases: tuple[Phrase, ...], rng: np.random.Generator) -> list[str]:
    """Another emotion for every phrase (the mismatch condition)."""
    return [str(rng.choice([e for e in EMOTIONS if e != p.emotion])) for p in phrases]


def respeak(
    real: Performance, voice: str, pitch: int, speed: int, seconds: float, prosody: float | Sequence[float],
    emotions: list[str], words: list[tuple[str, ...]] | None = None,
) -> Performance:  # fmt: skip
    """The real performance's phrases (or other ``words``) with ``emotions``, time-locked to the real phrases."""
    lines = [((words[i] if words else p.words), emotions[i], p.pause) for i, p in enumerate(real.phrases)]
    return speak(lines, voice, pitch, speed, seconds, prosody, lengths=[p.samples for p in real.phrases])


def _smooth(series: np.ndarray, width: int) -> np.ndarray:
    """Moving average along time (axis 0), renormalised rows for weight matrices."""
    if width <= 1:
        return series
    kernel = np.ones(width) / width
    padded = np.pad(series, ((width // 2, width - 1 - width // 2), (0, 0)), mode="edge")
    out = np.stack([np.convolve(padded[:, j], kernel, mode="valid") for j in range(series.shape[1])], axis=1)
    if series.shape[1] > 1:
        out /= out.sum(axis=1, keepdims=True)
    return out.astype(np.float32)


def expression_of(weights: np.ndarray) -> np.ndarray:
    """Emotion weights [T, 5] -> expression parameters [T, 6]."""
    return weights @ np.array([EXPRESSION[e] for e in EMOTIONS], np.float32)


def room_tone(n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Pink noise plus a weak mains hum at a level drawn from ``ROOM_TONE_DB``.

    The room every clip of a scenario shares, real or fake.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    frequency = np.fft.rfftfreq(n_samples, 1 / SAMPLE_RATE)
    noise = np.fft.irfft(spectrum / np.sqrt(np.maximum(frequency, 20.0)), n=n_samples)
    hum_hz = float(rng.choice(HUM_HZ))
    t = np.arange(n_samples) / SAMPLE_RATE
    noise = noise / np.std(noise) + 0.3 * np.sin(2 * np.pi * hum_hz * t + rng.uniform(0, 2 * np.pi))
    level = 10 ** (rng.uniform(*ROOM_TONE_DB) / 20)
    return (noise * level / np.sqrt(np.mean(noise**2))).astype(np.float32)


def vocode(audio: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Vocoder artefact of strength in (0, 1]: Griffin-Lim phase and a low-pass, both stronger as it grows.

    Strength 0 returns the audio untouched (artifact ``none``).
    """
    import librosa

    if strength <= 0:
        return audio
    n_iter = int(round(48 - 44 * strength))
    magnitude = np.abs(librosa.stft(audio, n_fft=512, hop_length=128))
    rebuilt = librosa.griffinlim(
        magnitude, n_iter=n_iter, hop_length=128, n_fft=512, length=len(audio), random_state=int(rng.integers(1 << 31))
    )
    spectrum = np.fft.rfft(rebuilt)
    spectrum[np.fft.rfftfreq(len(rebuilt), 1 / SAMPLE_RATE) > 7600 - 3000 * strength] = 0
    out = np.fft.irfft(spectrum, n=len(rebuilt)).astype(np.float32)
    return out * (np.abs(audio).max() / (np.abs(out).max() + 1e-9))


def _seed(*parts: object) -> list[int]:
    return [int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little")]


@dataclasses.dataclass(frozen=True)
class Cell:
    """The factorial cell of a fake clip."""

    emotion_mismatch: int  # 0 / 1
    artifact: str  # none / weak / strong


def cell_of(scenario: int, category: str) -> Cell:
    """Cells rotate with the scenario number, offset per category.

    Any six consecutive scenarios cover all six cells in every category.
    """
    index = (scenario + CATEGORIES.index(category)) % (2 * len(ARTIFACT_LEVELS))
    return Cell(index % 2, ARTIFACT_LEVELS[index // 2])


@dataclasses.dataclass(frozen=True)
class Clip:
    frames: np.ndarray  # [T, H, W, 3] uint8
    audio: np.ndarray  # [T * 640] float32, room tone included
    strength: float  # artefact strength in [0, 1]
    cell: Cell | None  # None for the real clip


def _voices(
    category: str,
    identity: Identity,
    other: Identity,
    real: Performance,
    cell: Cell,
    rng: np.random.Generator,
    seconds: float,
) -> Performance:
    """The voice a fake carries: a clone of the same words, or (FVRA-WL) the person's own voice with other words."""
    emotions = other_emotions(real.phrases, rng) if cell.emotion_mismatch else [p.emotion for p in real.phrases]
    if category == "FVRA-WL":
        words = [tuple(str(w) for w in rng.choice(WORDS, size=len(p.words))) for p in real.phrases]
        return respeak(real, identity.voice, identity.pitch, identity.speed, seconds, 1.0, emotions, words)
    return respeak(real, other.voice, identity.pitch, identity.speed, seconds, CLONE_PROSODY, emotions)


def make_clip(
    category: str,
    identity: Identity,
    other: Identity,
    base_seed: list[int],
    scenario: int,
    config: SynthConfig,
    real: Performance | None = None,
) -> Clip:
    """One clip of ``category`` for a scenario (``real`` is its real performance; computed when not given)."""
    real = real or perform(identity, np.random.default_rng(base_seed), config.seconds)
    camera = np.random.default_rng(
        _seed(base_seed, "camera")
    )  # the same camera and room for the real clip and its fakes
    tone = room_tone(len(real.audio), np.random.default_rng(_seed(base_seed, "room")))
    expression = expression_of(real.weights)
    if category == REAL:
        return Clip(render(identity, expression, expression, real.mouth_open, camera), real.audio + tone, 0.0, None)
    rng = np.random.default_rng(_seed(base_seed, category))
    cell = cell_of(scenario, category)
    strength = float(rng.uniform(*ARTIFACT_STRENGTH[cell.artifact]))
    voice = _voices(category, identity, other, real, cell, rng, config.seconds)
    audio = (voice.audio if category == "FVRA-WL" else vocode(voice.audio, strength, rng)) + tone
    if category == "RVFA":
        return Clip(render(identity, expression, expression, real.mouth_open, camera), audio, strength, cell)
    unit = (SIZE[1] + 2 * PAD) * 0.32
    shift = rng.normal(0, 18 * strength, 3)
    if category in ("FVRA-WL", "FVFA-WL"):  # wav2lip: only the mouth region is redrawn, following the new voice

        def lipsync(t: int, image: Image.Image, centre: tuple[float, float]) -> Image.Image:
            synthetic = draw_face(
                identity, expression[t], expression[t], float(voice.mouth_open[t]), centre, image.size
            )
            synthetic = degrade(synthetic, 1 + 2.5 * strength, 1.5 * strength, shift)
            return paste(image, synthetic, mouth_box(identity, centre, unit), 6 * (1 - strength) + 0.5)

        return Clip(render(identity, expression, expression, voice.mouth_open, camera, lipsync), audio, strength, cell)
    # face swaps: the partner's inner face, colour-corrected to the target's skin, keeps the driving video's expressions
    swapped = swapped_face(identity, other, strength)
    gan = category == "FVFA-GAN"

    def swap(t: int, image: Image.Image, centre: tuple[float, float]) -> Image.Image:
        face = draw_face(swapped, expression[t], expression[t], float(voice.mouth_open[t]), centre, image.size)
        face = degrade(face, 1 + 2 * strength, 1.2 * strength, shift * 0.3) if gan else degrade(face, 1.0, 0.0, shift)
        cx, cy = centre
        box = (cx - unit * 0.75, cy - unit * 0.62, cx + unit * 0.75, cy + unit * 0.85)
        return paste(image, face, box, 1.0 + (5.0 if gan else 2.5) * (1 - strength))

    return Clip(render(identity, expression, expression, voice.mouth_open, camera, swap), audio, strength, cell)


def mouth_box(identity: Identity, centre: tuple[float, float], unit: float) -> tuple[float, float, float, float]:
    """The ellipse a lip-sync redraws: the mouth region of ``identity``'s face at ``centre``."""
    cx, my = centre[0], centre[1] + unit * identity.head_h * identity.mouth_y
    return (cx - unit * 0.42, my - unit * 0.25, cx + unit * 0.42, my + unit * 0.38)


def swapped_face(identity: Identity, other: Identity, strength: float) -> Identity:
    """``other``'s inner face on ``identity``'s head, its skin colour-corrected to within 0.35 x strength."""
    residual = 0.35 * strength
    skin = _rgb(round((1 - residual) * a + residual * b) for a, b in zip(identity.skin, other.skin, strict=True))
    return dataclasses.replace(other, background=identity.background, hair=identity.hair, skin=skin)


def partner(index: int, count: int) -> int:
    """Identities come in pairs (0-1, 2-3, ...; an odd last one joins the pair before it as a trio).

    Face and voice sources of an identity's fakes are its partner(s), as in a swap between two
    people, so the identity graph splits into small groups a protocol can keep together.
    """
    if count < 2:
        return index
    group_start = min(index - index % 2, count - 3 if count % 2 else count - 2)
    group = list(range(group_start, min(count, group_start + (3 if count % 2 and group_start == count - 3 else 2))))
    return group[(group.index(index) + 1) % len(group)]


def identity_clips(
    out: Path,
    config: SynthConfig,
    i: int,
    categories: tuple[str, ...],
    on_clip: Callable[[ManifestRow], None] | None = None,
) -> list[ManifestRow]:
    """Every scenario and category of identity ``i`` in SynthAV v2 (clips already on disk are kept)."""
    identity = make_identity(i, config.seed)
    other = make_identity(partner(i, config.identities), config.seed)
    rows: list[ManifestRow] = []
    for k in range(config.clips_per_identity):
        base_seed, scenario = _seed(config.seed, identity.name, k), i * config.clips_per_identity + k
        real = perform(identity, np.random.default_rng(base_seed), config.seconds)
        for category in categories:
            kind, method = CATEGORY_TYPE_METHOD[category]
            second = "" if category == REAL else f"_{other.name}"
            relative = f"{TYPE_FOLDER[kind]}/{identity.gender}/{identity.name}/{k:05d}{second}_{method}.mp4"
            ids = tuple(sorted({identity.name, other.name})) if category != REAL else (identity.name,)
            cell = None if category == REAL else cell_of(scenario, category)
            row = ManifestRow(
                relative, int(category != REAL), kind, category, method, identity.name, ids, "synthetic",
                identity.gender, emotion=real.track(),
                emotion_mismatch="" if cell is None else str(cell.emotion_mismatch),
                artifact="" if cell is None else cell.artifact,
            )  # fmt: skip
            target = out / relative
            if not target.exists():
                clip = make_clip(category, identity, other, base_seed, scenario, config, real)
                write_clip(target, clip, _seed(base_seed, category, "crf"))
            rows.append(row)
            if on_clip is not None:
                on_clip(row)
    return rows


def write_clip(target: Path, clip: Clip, crf_seed: list[int]) -> None:
    """Encode ``clip`` to ``target`` (atomically) as H.264 at a CRF drawn from ``crf_seed`` in 18-30, AAC audio."""
    crf = int(np.random.default_rng(crf_seed).integers(18, 31))
    video_args = ("-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p")
    write_video(target, clip.frames, FPS, clip.audio, SAMPLE_RATE, video_args=video_args)
