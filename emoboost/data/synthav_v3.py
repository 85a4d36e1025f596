"""SynthAV v3: a generated test bed in which each cue stands alone.

Built on v2's drawing, speech and room (:mod:`emoboost.data.synthav_v2`); what v3 changes, and
why (the measurements are in the issue that asked for it and in docs/synthav.md):

- **An emotion-only fake** (category ``RVFA-EMO``, outside FakeAVCeleb's five): the real clip's
  video untouched and its voice re-spoken by the same speaker with the same words, the same
  phrase timing and no vocoder, but another emotion in a contiguous run of at least half of the
  phrases (:func:`emotion_revoice`, also the hard negative of a consistency detector). It
  differs from its real clip only in the prosody of the re-voiced phrases.
- **Paired scenarios**: every fake scenario is rendered at both ``emotion_mismatch`` levels with
  everything else shared (artefact strength, paste offsets, words, camera, room), so the
  mismatch effect is a within-scenario contrast (``scenario`` column names the pair).
- **One recipe per category** (the ``generator`` column): each video recipe and each voice
  recipe exists in one category only, so leaving a category out leaves its recipe out.
  Voice clones keep the full prosody of the emotion they carry (v2 flattened it to half, a cue
  the low-level and the emotion detectors both read by construction).
- **Reals that are not perfectly congruent**: the face's affect follows or leads the voice by
  a drawn lag, some phrases have a muted face under an expressive voice or the reverse, and
  blinks and head motion are drawn independently of speech (:data:`INCONGRUENCE`).
- **A distinct voice timbre per identity** (:func:`timbre_of`) and faces drawn with luminance
  contrast to their background and hair, so the face detector finds every identity.

What it supports: whether a detector *can* read a cue (emotion pairing, each artefact recipe)
when the cue is there alone by construction, and how its score moves when only that cue
changes. What it cannot: claims about real faces, real voices, real emotion or any real
deepfake method; SynthAV numbers are never FakeAVCeleb results. The conclusion is not built in
beyond what is listed here: emotions are caricatures (``VOICE_STYLE``, ``EXPRESSION``) that a
detector may or may not learn to compare.
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from emoboost.data.fakeavceleb import CATEGORY_OF
from emoboost.data.manifest import ARTIFACT_LEVELS, CATEGORIES, REAL, ManifestRow
from emoboost.data.synthav_draw import PAD, SIZE, Identity, draw_face, paste, render
from emoboost.data.synthav_v2 import (
    ARTIFACT_STRENGTH,
    EXPRESSION,
    TYPE_FOLDER,
    WORDS,
    Cell,
    Clip,
    Performance,
    SynthConfig,
    _rgb,
    _seed,
    _smooth,
    expression_of,
    face_geometry,
    mouth_box,
    other_emotions,
    partner,
    respeak,
    room_tone,
    script,
    speak,
    swapped_face,
    vocode,
    write_clip,
)
from emoboost.errors import ConfigError
from emoboost.media.decode import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME

VERSION = 3
DEVELOPMENT_SEED = 1009  # probes and tuning only: no shipped benchmark, protocol or quickstart set uses it (tested)
EMOTION_ONLY = "RVFA-EMO"
EMOTION_ONLY_METHOD = "emorevoice"
CATEGORIES_V3 = (*CATEGORIES, EMOTION_ONLY)
CATEGORY_TYPE_METHOD = {category: type_method for type_method, category in CATEGORY_OF.items()} | {
    EMOTION_ONLY: ("RVFA", EMOTION_ONLY_METHOD)
}
# video recipe + voice recipe of every category; each recipe is in one category only
GENERATOR = {
    REAL: ("real", "real"),
    "RVFA": ("real", "clone-griffinlim"),
    "FVRA-WL": ("lipsync-blur", "own-voice-other-words"),
    "FVFA-FS": ("faceswap-blend", "clone-codec"),
    "FVFA-GAN": ("faceswap-gan", "clone-envelope"),
    "FVFA-WL": ("lipsync-jpeg", "clone-noisephase"),
    EMOTION_ONLY: ("real", "emotion-revoice"),
}

# espeak-ng voice timbres: English dialects x variants whose pitch follows SSML prosody (measured: the
# whisper, announcer, croak, david and grandpa variants invert or ignore it; robot variants are not voices)
DIALECTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029")
FEMALE_VARIANTS = (
    "f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "aunty", "belinda", "linda", "steph", "steph2",
    "steph3", "anika", "grandma",
)  # fmt: skip
MALE_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "Alex", "Andy", "AnxiousAndy", "Denis", "Diogo", "Gene", "Gene2",
    "Henrique", "Hugo", "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Mr serious", "Nguyen", "RicishayMax",
    "RicishayMax2", "RicishayMax3", "Storm", "Tweaky", "adam", "antonio", "benjamin", "boris", "caleb", "ed",
    "edward", "edward2", "gustave", "iven", "iven2", "iven3", "iven4", "john", "kaukovalta", "klatt", "klatt2",
    "klatt3", "klatt4", "klatt5", "klatt6", "marcelo", "max", "michel", "miguel", "norbert", "pablo", "paul",
    "pedro", "quincy", "rob", "robert", "sandro", "travis", "victor",
)  # fmt: skip
PITCH_BANDS = ((35, 55), (15, 30), (60, 75))  # espeak-ng base pitch (0-99) per lap over the timbre grid
LUMINANCE_CONTRAST = 70.0  # skin vs background (and 45 vs hair), on 0-255 luma
HAIR_CONTRAST = 45.0
SHADING = 0.3  # lighter face centre (synthav_draw): with it MTCNN finds every drawn face (tests/data)


@dataclasses.dataclass(frozen=True)
class Incongruence:
    """How a real person's face and voice depart from each other (drawn per scenario)."""

    lag_sd_s: float = 0.12  # face affect lag behind the voice: normal(0, sd) seconds ...
    lag_max_s: float = 0.4  # ... clipped to +- this
    muted_face: float = 0.15  # share of phrases with a muted face (gain 0.1-0.4) under a full voice
    muted_voice: float = 0.15  # share with a muted voice (prosody 0.1-0.4) under a full face
    gain: tuple[float, float] = (0.7, 1.0)  # otherwise each stream's expressiveness per phrase
    blink_hz: float = 0.3  # blinks (0.15 s) as a Poisson process, independent of speech
    head_px: float = 6.0  # head motion: a smoothed random walk, clipped to +- this many pixels


INCONGRUENCE = Incongruence()
NEUTRAL = np.array(EXPRESSION["neutral"], np.float32)
BLINK_S = 0.15


def check_size(config: SynthConfig) -> None:
    """Refuse a set with more identities of one gender than there are distinct timbres."""
    per_gender = min(len(FEMALE_VARIANTS), len(MALE_VARIANTS)) * len(DIALECTS) * len(PITCH_BANDS)
    if (config.identities + 1) // 2 > per_gender:
        raise ConfigError(
            f"SynthAV v3 draws at most {2 * per_gender} identities with distinct voice timbres "
            f"({config.identities} asked)"
        )


def _luma(colour: np.ndarray | tuple[int, int, int]) -> float:
    red, green, blue = (float(c) for c in colour)
    return 0.299 * red + 0.587 * green + 0.114 * blue


def _away(colour: np.ndarray, reference: float, contrast: float) -> tuple[int, int, int]:
    """``colour`` with its luma moved at least ``contrast`` away from ``reference`` (hue kept)."""
    luma = max(_luma(colour), 1.0)
    if abs(luma - reference) >= contrast:
        return _rgb(colour)
    target = reference - contrast - 10 if reference - contrast - 10 >= 25 else reference + contrast + 10
    return _rgb(np.clip(colour * target / luma, 0, 255))


def _warm(colour: np.ndarray) -> bool:
    """A saturated red, orange, pink or magenta: hues a face detector merges with skin."""
    import colorsys

    hue, saturation, _ = colorsys.rgb_to_hsv(*(float(c) / 255 for c in colour))
    return saturation > 0.15 and (hue * 360 >= 260 or hue * 360 <= 50)


def _background(colour: np.ndarray, skin_luma: float) -> tuple[int, int, int]:
    """The first rotation of ``colour``'s channels that, moved ``LUMINANCE_CONTRAST`` away from the
    skin's luma, is not warm (measured: MTCNN missed dark drawn faces on pink, orange and purple
    backgrounds)."""
    for order in ((0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1), (0, 2, 1), (1, 0, 2)):
        candidate = _away(colour[list(order)], skin_luma, LUMINANCE_CONTRAST)
        if not _warm(np.array(candidate)):
            return candidate
    return _away(np.full(3, colour.mean()), skin_luma, LUMINANCE_CONTRAST)  # a grey


def timbre_of(index: int, seed: int) -> tuple[str, int, str]:
    """``(espeak voice, base pitch, gender)`` of identity ``index``: distinct for every identity of a set.

    Pairs of identities (0-1, 2-3, ...) alternate men and women, so partners share a gender as in
    FakeAVCeleb's swaps. Within a gender, identities walk a seeded grid of variant x dialect x
    pitch band: the first ``len(variants)`` of a gender each get their own variant; later laps
    reuse a variant with another dialect and another pitch band.
    """
    pair = index // 2
    women = pair % 2 == 1
    variants = FEMALE_VARIANTS if women else MALE_VARIANTS
    k = 2 * (pair // 2) + index % 2  # rank of this identity within its gender
    rng = np.random.default_rng([seed, 3, 0, int(women)])
    order = rng.permutation(len(variants))
    dialect_start = rng.integers(0, len(DIALECTS), len(variants))
    lap, slot = divmod(k, len(variants))
    variant = variants[order[slot]]
    dialect = DIALECTS[(dialect_start[slot] + lap) % len(DIALECTS)]
    low, high = PITCH_BANDS[(lap // len(DIALECTS) + lap) % len(PITCH_BANDS)]
    pitch = int(np.random.default_rng([seed, 3, 1, index]).integers(low, high + 1))
    return f"{dialect}+{variant}", pitch, "women" if women else "men"


def make_identity(index: int, seed: int) -> Identity:
    """A v3 identity: v2's face geometry, skin tones 0.45-1.0, luma contrast to background and hair."""
    rng = np.random.default_rng([seed, 3, 2, index])
    tone = rng.uniform(0.45, 1.0)
    skin = _rgb(np.clip(np.array([235, 195, 165]) * tone * rng.uniform(0.95, 1.05, 3), 0, 255))  # hue kept
    skin_luma = _luma(skin)
    voice, pitch, gender = timbre_of(index, seed)
    return Identity(
        name=f"id{index:05d}",
        skin=skin,
        hair=_away(rng.integers(10, 160, 3).astype(float), skin_luma, HAIR_CONTRAST),
        background=_background(rng.integers(40, 220, 3).astype(float), skin_luma),
        **face_geometry(rng),
        photo="",
        voice=voice,
        pitch=pitch,
        speed=int(rng.integers(140, 180)),
        gender=gender,
        shading=SHADING,
    )


@dataclasses.dataclass(frozen=True)
class Scene:
    """A real scenario: the voice, and the face that goes with it the way a person's does."""

    voice: Performance  # the real voice (per-phrase prosody scaled by ``voice_gain``)
    face: np.ndarray  # [T, 6] expression parameters of the face
    head: np.ndarray  # [T, 2] head motion in pixels
    lag: int  # frames the face's affect follows the voice (negative: leads)
    face_gain: tuple[float, ...]
    voice_gain: tuple[float, ...]

    def face_weights(self) -> np.ndarray:
        """[T, 5] the face's emotion weights (the voice's, lagged), for tests and docs."""
        return _lagged(self.voice.weights, self.lag)


def _lagged(series: np.ndarray, lag: int) -> np.ndarray:
    """``series`` delayed by ``lag`` frames along axis 0 (advanced when negative), edges held."""
    if lag == 0:
        return series
    index = np.clip(np.arange(len(series)) - lag, 0, len(series) - 1)
    return series[index]


def _gains(rng: np.random.Generator, phrases: int, spec: Incongruence) -> tuple[list[float], list[float]]:
    face: list[float] = []
    voice: list[float] = []
    for _ in range(phrases):
        draw = rng.uniform()
        full_face, full_voice = (float(g) for g in rng.uniform(*spec.gain, 2))
        muted = float(rng.uniform(0.1, 0.4))
        face.append(muted if draw < spec.muted_face else full_face)
        voice.append(muted if spec.muted_face <= draw < spec.muted_face + spec.muted_voice else full_voice)
    return face, voice


def _frame_of_phrase(performance: Performance, n_frames: int) -> np.ndarray:
    starts = np.cumsum([0] + [p.samples for p in performance.phrases])
    centres = (np.arange(n_frames) + 0.5) * SAMPLES_PER_FRAME
    return np.clip(np.searchsorted(starts, centres, side="right") - 1, 0, len(performance.phrases) - 1)


def blinks(rng: np.random.Generator, n_frames: int, rate_hz: float) -> np.ndarray:
    """[T] eye-openness factor: 1, dipping to 0 for ``BLINK_S`` at Poisson times."""
    openness = np.ones(n_frames, np.float32)
    width = max(2, int(round(BLINK_S * FPS)))
    profile = 1 - np.abs(np.linspace(-1, 1, width))
    for start in (int(s) for s in np.flatnonzero(rng.uniform(size=n_frames) < rate_hz / FPS)):
        stop = min(n_frames, start + width)
        openness[start:stop] = np.minimum(openness[start:stop], 1 - profile[: stop - start])
    return openness


def draw_scene(
    identity: Identity, rng: np.random.Generator, seconds: float, spec: Incongruence = INCONGRUENCE
) -> Scene:
    """A real scenario of ``identity``: script, voice, and a face with drawn natural incongruence."""
    lines = script(rng, seconds, identity.speed)
    face_gain, voice_gain = _gains(rng, len(lines), spec)
    voice = speak(lines, identity.voice, identity.pitch, identity.speed, seconds, prosody=voice_gain)
    n_frames = len(voice.weights)
    lag = int(round(np.clip(rng.normal(0, spec.lag_sd_s), -spec.lag_max_s, spec.lag_max_s) * FPS))
    gain = _smooth(np.array(face_gain, np.float32)[_frame_of_phrase(voice, n_frames)][:, None], 8)[:, 0]
    face = NEUTRAL + gain[:, None] * (expression_of(voice.weights) - NEUTRAL)
    face = _lagged(face, lag).copy()
    face[:, 2] *= blinks(rng, n_frames, spec.blink_hz)
    walk = _smooth(np.cumsum(rng.normal(0, 0.6, (n_frames, 2)), axis=0), 6)
    head = np.clip(walk - walk.mean(axis=0), -spec.head_px, spec.head_px)
    return Scene(voice, face.astype(np.float32), head.astype(np.float32), lag, tuple(face_gain), tuple(voice_gain))


def _spoken(voice: Performance) -> int:
    """Phrases that start inside the clip."""
    starts = np.cumsum([0] + [p.samples for p in voice.phrases[:-1]])
    return int(np.sum(starts < len(voice.audio)))


def revoiced_emotions(voice: Performance, rng: np.random.Generator) -> list[str]:
    """Per phrase: its own emotion, or another in a contiguous run of at least half of the spoken phrases."""
    spoken = _spoken(voice)
    length = int(rng.integers(math.ceil(spoken / 2), spoken + 1))
    start = int(rng.integers(0, spoken - length + 1))
    others = other_emotions(voice.phrases, rng)
    return [others[i] if start <= i < start + length else p.emotion for i, p in enumerate(voice.phrases)]


def emotion_revoice(identity: Identity, scene: Scene, rng: np.random.Generator, seconds: float) -> Performance:
    """The emotion-only manipulation: the same speaker, words and phrase timing, another emotion in part.

    Phrases outside the re-voiced run are re-spoken with their own style and come out sample for
    sample the same as the real voice; re-voiced phrases are time-locked to the real phrase's length.
    """
    emotions = revoiced_emotions(scene.voice, rng)
    return respeak(
        scene.voice, identity.voice, identity.pitch, identity.speed, seconds, list(scene.voice_gain), emotions
    )


# --- voice recipes: one per category ------------------------------------------------------------


def _stft(audio: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.stft(audio, n_fft=512, hop_length=128)


def _istft(spectrum: np.ndarray, like: np.ndarray) -> np.ndarray:
    import librosa

    out = librosa.istft(spectrum, hop_length=128, n_fft=512, length=len(like)).astype(np.float32)
    return out * (np.abs(like).max() / (np.abs(out).max() + 1e-9))


def codec(audio: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A narrow-band, coarsely quantised voice (a low-bit-rate codec's trace); strength 0 = untouched."""
    del rng
    if strength <= 0:
        return audio
    spectrum = np.fft.rfft(audio)
    spectrum[np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE) > 7600 - 4000 * strength] = 0
    narrow = np.fft.irfft(spectrum, n=len(audio))
    peak = np.abs(narrow).max() + 1e-9
    mu, levels = 255.0, 2 ** int(round(14 - 8 * strength))
    companded = np.sign(narrow / peak) * np.log1p(mu * np.abs(narrow / peak)) / np.log1p(mu)
    quantised = np.round(companded * levels / 2) / (levels / 2)
    return (np.sign(quantised) * np.expm1(np.abs(quantised) * np.log1p(mu)) / mu * peak).astype(np.float32)


def envelope(audio: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Spectral magnitudes smoothed across frequency (harmonics smeared, a neural vocoder's trace)."""
    del rng
    if strength <= 0:
        return audio
    spectrum = _stft(audio)
    width = 1 + 2 * int(round(6 * strength))
    kernel = np.ones(width) / width
    magnitude = np.abs(spectrum)
    smoothed = np.apply_along_axis(lambda column: np.convolve(column, kernel, mode="same"), 0, magnitude)
    mixed = (1 - 0.5 * strength) * magnitude + 0.5 * strength * smoothed
    return _istft(mixed * np.exp(1j * np.angle(spectrum)), audio)


def noise_phase(audio: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """STFT phase jittered by up to ``strength`` x pi (a phase-vocoder's buzzy, breathy trace)."""
    if strength <= 0:
        return audio
    spectrum = _stft(audio)
    jitter = rng.uniform(-np.pi, np.pi, spectrum.shape) * strength * 0.6
    return _istft(np.abs(spectrum) * np.exp(1j * (np.angle(spectrum) + jitter)), audio)


VOICE_RECIPE: dict[str, Callable[[np.ndarray, float, np.random.Generator], np.ndarray]] = {
    "RVFA": vocode,
    "FVFA-FS": codec,
    "FVFA-GAN": envelope,
    "FVFA-WL": noise_phase,
}


# --- video recipes: one per category ------------------------------------------------------------


def _blurred(image: Image.Image, strength: float, shift: np.ndarray) -> Image.Image:
    factor = 1 + 2.5 * strength
    if factor > 1.05:
        small = image.resize((max(8, int(image.width / factor)), max(8, int(image.height / factor))))
        image = small.resize(image.size, Image.Resampling.BILINEAR)
    if strength > 0.1:
        image = image.filter(ImageFilter.GaussianBlur(1.5 * strength))
    return Image.fromarray(np.clip(np.asarray(image, np.float32) + shift, 0, 255).astype(np.uint8))


def _jpeg(image: Image.Image, strength: float, shift: np.ndarray) -> Image.Image:
    if strength <= 0:
        return image
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=int(round(90 - 75 * strength)))
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    image = image.filter(ImageFilter.UnsharpMask(radius=2, percent=int(200 * strength), threshold=0))
    return Image.fromarray(np.clip(np.asarray(image, np.float32) + shift * 0.5, 0, 255).astype(np.uint8))


def _gan(image: Image.Image, strength: float, shift: np.ndarray) -> Image.Image:
    if strength <= 0:
        return image
    factor = 1 + 2 * strength
    small = image.resize((max(8, int(image.width / factor)), max(8, int(image.height / factor))))
    array = np.asarray(small.resize(image.size, Image.Resampling.NEAREST), np.float32)
    rows, cols = np.indices(array.shape[:2])
    checker = np.where((rows // 2 + cols // 2) % 2 == 0, 1.0, -1.0)[..., None]
    return Image.fromarray(np.clip(array + 8 * strength * checker + shift * 0.3, 0, 255).astype(np.uint8))


def artifact_of(scenario: int, category: str) -> str:
    """The artefact level rotates with the scenario (offset per category); the emotion-only fake has none."""
    if category == EMOTION_ONLY:
        return "none"
    return ARTIFACT_LEVELS[(scenario + CATEGORIES.index(category)) % len(ARTIFACT_LEVELS)]


def fake_voice(
    category: str, identity: Identity, other: Identity, scene: Scene, mismatch: int, base_seed: list[int],
    seconds: float,
) -> Performance:  # fmt: skip
    """The voice a fake carries at a mismatch level: everything but the emotions is shared by the pair."""
    voice, gains = scene.voice, list(scene.voice_gain)
    if category == EMOTION_ONLY:
        return emotion_revoice(identity, scene, np.random.default_rng(_seed(base_seed, category, "revoice")), seconds)
    emotions = (
        other_emotions(voice.phrases, np.random.default_rng(_seed(base_seed, category, "mismatch")))
        if mismatch
        else [p.emotion for p in voice.phrases]
    )
    if category == "FVRA-WL":  # the person's own voice speaking other words
        rng = np.random.default_rng(_seed(base_seed, category, "words"))
        words = [tuple(str(w) for w in rng.choice(WORDS, size=len(p.words))) for p in voice.phrases]
        return respeak(voice, identity.voice, identity.pitch, identity.speed, seconds, gains, emotions, words)
    return respeak(voice, other.voice, identity.pitch, identity.speed, seconds, gains, emotions)  # a clone


def make_fake(
    category: str, identity: Identity, other: Identity, scene: Scene, mismatch: int, base_seed: list[int],
    scenario: int, seconds: float,
) -> Clip:  # fmt: skip
    """One fake of a scenario; the two mismatch levels of a category share every draw but the emotions."""
    camera = np.random.default_rng(_seed(base_seed, "camera"))
    tone = room_tone(len(scene.voice.audio), np.random.default_rng(_seed(base_seed, "room")))
    artifact = artifact_of(scenario, category)
    rng = np.random.default_rng(_seed(base_seed, category))
    strength = float(rng.uniform(*ARTIFACT_STRENGTH[artifact]))
    shift = rng.normal(0, 18 * strength, 3)
    voice_rng = np.random.default_rng(_seed(base_seed, category, "recipe"))
    voice = fake_voice(category, identity, other, scene, mismatch, base_seed, seconds)
    recipe = VOICE_RECIPE.get(category)
    audio = (recipe(voice.audio, strength, voice_rng) if recipe else voice.audio) + tone
    cell = Cell(1 if category == EMOTION_ONLY else mismatch, artifact)
    face = scene.face
    if category in ("RVFA", EMOTION_ONLY):
        frames = render(identity, face, face, scene.voice.mouth_open, camera, head=scene.head)
        return Clip(frames, audio, strength, cell)
    unit = (SIZE[1] + 2 * PAD) * 0.32
    if category in ("FVRA-WL", "FVFA-WL"):  # only the mouth region is redrawn, following the new voice
        degrade = _blurred if category == "FVRA-WL" else _jpeg

        def lipsync(t: int, image: Image.Image, centre: tuple[float, float]) -> Image.Image:
            synthetic = draw_face(identity, face[t], face[t], float(voice.mouth_open[t]), centre, image.size)
            synthetic = degrade(synthetic, strength, shift)
            return paste(image, synthetic, mouth_box(identity, centre, unit), 6 * (1 - strength) + 0.5)

        frames = render(identity, face, face, voice.mouth_open, camera, lipsync, head=scene.head)
        return Clip(frames, audio, strength, cell)
    # face swaps: the partner's inner face keeps the driving video's expressions; the mouth follows the voice
    swapped = swapped_face(identity, other, strength)
    gan = category == "FVFA-GAN"

    def swap(t: int, image: Image.Image, centre: tuple[float, float]) -> Image.Image:
        patch = draw_face(swapped, face[t], face[t], float(voice.mouth_open[t]), centre, image.size)
        if gan:
            patch = _gan(patch, strength, shift)
        else:
            patch = Image.fromarray(np.clip(np.asarray(patch, np.float32) + shift, 0, 255).astype(np.uint8))
        cx, cy = centre
        box = (cx - unit * 0.75, cy - unit * 0.62, cx + unit * 0.75, cy + unit * 0.85)
        return paste(image, patch, box, 1.0 + (5.0 if gan else 2.5) * (1 - strength))

    frames = render(identity, face, face, voice.mouth_open, camera, swap, head=scene.head)
    return Clip(frames, audio, strength, cell)


def make_real(identity: Identity, scene: Scene, base_seed: list[int]) -> Clip:
    camera = np.random.default_rng(_seed(base_seed, "camera"))
    tone = room_tone(len(scene.voice.audio), np.random.default_rng(_seed(base_seed, "room")))
    frames = render(identity, scene.face, scene.face, scene.voice.mouth_open, camera, head=scene.head)
    return Clip(frames, scene.voice.audio + tone, 0.0, None)


def scene_seed(config: SynthConfig, identity: Identity, k: int) -> list[int]:
    return _seed(config.seed, VERSION, identity.name, k)


def photo_assignment(config: SynthConfig) -> dict[str, str]:
    """Identity name -> photograph with ``config.photo_faces``: the first women of the set (index order), one
    photograph each and never one person for two identities; empty without it."""
    from emoboost.data.synthav_photo import PHOTOS

    assigned: dict[str, str] = {}
    photos = list(PHOTOS) if config.photo_faces else []
    for index in range(config.identities):
        if len(assigned) == len(photos):
            break
        if timbre_of(index, config.seed)[2] == "women":  # both photographs are of women, so are their voices
            assigned[f"id{index:05d}"] = photos[len(assigned)]
    return assigned


def identity_of(index: int, config: SynthConfig) -> Identity:
    """Identity ``index`` of the set, with its photograph when :func:`photo_assignment` gives it one."""
    identity = make_identity(index, config.seed)
    photo = photo_assignment(config).get(identity.name)
    if not photo:
        return identity
    from emoboost.data.synthav_photo import CROP, photo_face
    from emoboost.encoders.face_geometry import LIP_INNER_LOWER, LIP_INNER_UPPER

    landmarks = photo_face(photo).landmarks
    mouth = float(landmarks[LIP_INNER_UPPER, 1] + landmarks[LIP_INNER_LOWER, 1]) / 2
    # the photograph's face box is drawn as tall as the drawn face (2 head_h units), centred where it is: a
    # lip-sync's mouth box (synthav_v2.mouth_box) then lands on the photograph's mouth
    return dataclasses.replace(identity, photo=photo, mouth_y=(mouth - CROP / 2) / (CROP / 3))


def identity_clips(
    out: Path,
    config: SynthConfig,
    i: int,
    categories: tuple[str, ...],
    on_clip: Callable[[ManifestRow], None] | None = None,
) -> list[ManifestRow]:
    """Every scenario of identity ``i``: its real clip, each fake category at both mismatch levels, the
    emotion-only fake (clips already on disk are kept)."""
    identity = identity_of(i, config)
    other = identity_of(partner(i, config.identities), config)
    rows: list[ManifestRow] = []
    for k in range(config.clips_per_identity):
        base_seed, scenario = scene_seed(config, identity, k), i * config.clips_per_identity + k
        scene = draw_scene(identity, np.random.default_rng(base_seed), config.seconds)
        scenario_name = f"{identity.name}/{k:05d}"
        for category in categories:
            kind, method = CATEGORY_TYPE_METHOD[category]
            levels: tuple[int | None, ...] = (None,) if category in (REAL, EMOTION_ONLY) else (0, 1)
            for mismatch in levels:
                swap = category not in (REAL, EMOTION_ONLY)
                second = f"_{other.name}" if swap else ""
                suffix = "" if mismatch is None else f"_m{mismatch}"
                relative = f"{TYPE_FOLDER[kind]}/{identity.gender}/{identity.name}/{k:05d}{second}_{method}{suffix}.mp4"
                row = ManifestRow(
                    relative, int(category != REAL), kind, category, method, identity.name,
                    tuple(sorted({identity.name, other.name})) if swap else (identity.name,), "synthetic",
                    identity.gender, emotion=scene.voice.track(),
                    emotion_mismatch="" if category == REAL else str(1 if mismatch is None else mismatch),
                    artifact="" if category == REAL else artifact_of(scenario, category),
                    generator="" if category == REAL else "+".join(GENERATOR[category]), scenario=scenario_name,
                )  # fmt: skip
                target = out / relative
                if not target.exists():
                    if category == REAL:
                        clip = make_real(identity, scene, base_seed)
                    else:
                        clip = make_fake(
                            category, identity, other, scene, mismatch or 0, base_seed, scenario, config.seconds
                        )
                    write_clip(target, clip, _seed(base_seed, category, mismatch, "crf"))
                rows.append(row)
                if on_clip is not None:
                    on_clip(row)
    return rows
