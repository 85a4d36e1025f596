"""SynthAV: a generated audio-visual benchmark with FakeAVCeleb's categories, for CI, demos and the quickstart.

Each identity has its own drawn face (head shape, skin, hair, eye spacing, ...) and its own
voice (an espeak-ng voice variant and base pitch). Each base scenario is one **emotion
trajectory** (segments of neutral / happy / sad / angry / surprised with smooth 0.3 s
transitions) that drives both the facial expression (brows, eyes, mouth curvature) and the
voice prosody (pitch, rate, amplitude), with the mouth opening driven by the speech envelope.
Every clip gets camera jitter, slow lighting changes, sensor noise and H.264 at a random CRF.

From each real scenario five fakes are made, as the FakeAVCeleb methods make them:

- RVFA: the voice is replaced by another identity's voice speaking with its own, unrelated
  trajectory, through a Griffin-Lim vocoder (fewer iterations = stronger artefact; the weakest
  third of clips are left clean); the lips still follow the original speech;
- FVRA-WL: the mouth is re-synthesised from the (real) audio with the mouth shape of another
  trajectory and the upper face frozen at neutral, pasted back with a blending boundary;
- FVFA-FS: the inner face of another identity (its geometry; its skin colour-corrected towards
  the target's with a residual mismatch), with that source clip's expressions, is swapped in
  inside an elliptic mask (colour shift at the boundary), over a fake voice;
- FVFA-GAN: as FS, with an upsampling / smoothing artefact family instead of a hard boundary;
- FVFA-WL: the mouth follows a fake voice with its own trajectory (lip-sync), the upper face
  keeps the real trajectory, pasted with a blending boundary.

Artefact strength is drawn per clip from a per-category range that reaches near zero, so no
single low-level cue separates every clip. The output mirrors FakeAVCeleb: type folders,
``idNNNNN`` identities, a second id in fake file names, and a manifest with the same columns.
SynthAV numbers check the pipeline; they are never FakeAVCeleb results.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from emoboost.data.manifest import CATEGORIES, REAL, ManifestRow, write_manifest
from emoboost.data.tts import espeak
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
# prosody: pitch offset (espeak 0-99 scale), rate factor, amplitude factor
PROSODY = {
    "neutral": (0, 1.0, 1.0),
    "happy": (14, 1.1, 1.2),
    "sad": (-14, 0.78, 0.65),
    "angry": (6, 1.18, 1.5),
    "surprised": (24, 1.0, 1.25),
}
VOICES = ("en+m1", "en+m3", "en+f2", "en+f4", "en+klatt", "en+iven", "en+linda", "en+max")
WORDS = (
    "today we walked along the river and talked about the weather the garden the market the station "
    "my brother called again about the house the money the car the letter the meeting tomorrow morning "
    "nobody told me that the train was late and the office was closed for the holiday"
).split()
TYPE_FOLDER = {"RVRA": "RealVideo-RealAudio", "RVFA": "RealVideo-FakeAudio", "FVRA": "FakeVideo-RealAudio", "FVFA": "FakeVideo-FakeAudio"}
CATEGORY_TYPE_METHOD = {
    REAL: ("RVRA", "real"),
    "RVFA": ("RVFA", "rtvc"),
    "FVRA-WL": ("FVRA", "wav2lip"),
    "FVFA-FS": ("FVFA", "faceswap-wav2lip"),
    "FVFA-GAN": ("FVFA", "fsgan-wav2lip"),
    "FVFA-WL": ("FVFA", "wav2lip"),
}
ARTEFACT_RANGE = {"RVFA": (0.0, 1.0), "FVRA-WL": (0.05, 0.9), "FVFA-FS": (0.1, 1.0), "FVFA-GAN": (0.0, 0.8), "FVFA-WL": (0.05, 0.9)}
SIZE = (320, 240)  # frame width, height
PAD = 12  # extra canvas for camera jitter
TRANSITION_S = 0.3


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    identities: int = 8
    clips_per_identity: int = 2  # base scenarios per identity; each gives 1 real + 5 fakes
    seconds: float = 4.0
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class Identity:
    name: str  # idNNNNN
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    background: tuple[int, int, int]
    head_w: float
    head_h: float
    eye_gap: float
    eye_size: float
    nose: float
    mouth_y: float
    voice: str
    pitch: int
    speed: int
    gender: str


def make_identity(index: int, seed: int) -> Identity:
    rng = np.random.default_rng([seed, 1, index])
    tone = rng.uniform(0.5, 1.0)  # darker drawn faces lack the contrast MTCNN needs (no shading)
    skin = tuple(int(v) for v in np.array([235, 195, 165]) * tone + rng.integers(-10, 10, 3))
    voice = VOICES[index % len(VOICES)]
    return Identity(
        name=f"id{index:05d}",
        skin=skin,
        hair=tuple(int(v) for v in rng.integers(10, 140, 3)),
        background=tuple(int(v) for v in rng.integers(60, 200, 3)),
        head_w=float(rng.uniform(0.78, 0.95)),
        head_h=float(rng.uniform(1.0, 1.15)),
        eye_gap=float(rng.uniform(0.30, 0.40)),
        eye_size=float(rng.uniform(0.08, 0.12)),
        nose=float(rng.uniform(0.15, 0.25)),
        mouth_y=float(rng.uniform(0.38, 0.46)),
        voice=voice,
        pitch=int(rng.integers(25, 70)),
        speed=int(rng.integers(140, 180)),
        gender="women" if "+f" in voice or "linda" in voice else "men",
    )


@dataclasses.dataclass(frozen=True)
class Performance:
    """One emotion trajectory spoken by one voice: per-frame emotion weights, audio, mouth opening."""

    weights: np.ndarray  # [T, 5] emotion weights per frame (rows sum to 1)
    audio: np.ndarray  # [T * 640] float32
    mouth_open: np.ndarray  # [T] in [0, 1], from the speech envelope


def perform(identity: Identity, rng: np.random.Generator, seconds: float) -> Performance:
    """Speak random phrases, one emotion per phrase, until ``seconds`` are filled."""
    n_frames = int(round(seconds * FPS))
    pieces, labels = [], []
    total = 0
    previous = None
    while total < n_frames * SAMPLES_PER_FRAME:
        emotion = str(rng.choice([e for e in EMOTIONS if e != previous]))
        previous = emotion
        pitch_offset, rate, amplitude = PROSODY[emotion]
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(3, 7))))
        speech = espeak(
            text,
            voice=identity.voice,
            pitch=int(np.clip(identity.pitch + pitch_offset, 0, 99)),
            speed=int(identity.speed * rate),
            amplitude=int(np.clip(100 * amplitude, 10, 200)),
        )
        pause = np.zeros(int(rng.uniform(0.05, 0.25) * SAMPLE_RATE), np.float32)
        piece = np.concatenate([speech, pause])
        pieces.append(piece)
        labels.append((emotion, len(piece)))
        total += len(piece)
    audio = np.concatenate(pieces)[: n_frames * SAMPLES_PER_FRAME]
    weights = np.zeros((n_frames, len(EMOTIONS)), np.float32)
    start = 0
    for emotion, length in labels:
        first, last = start // SAMPLES_PER_FRAME, min(n_frames, (start + length) // SAMPLES_PER_FRAME + 1)
        weights[first:last] = 0
        weights[first:last, EMOTIONS.index(emotion)] = 1
        start += length
    weights = _smooth(weights, int(TRANSITION_S * FPS))
    envelope = np.sqrt((audio.reshape(n_frames, SAMPLES_PER_FRAME) ** 2).mean(axis=1))
    mouth = np.clip(envelope / (np.percentile(envelope, 95) + 1e-6), 0, 1)
    return Performance(weights, audio.astype(np.float32), _smooth(mouth[:, None], 2)[:, 0])


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


def draw_face(identity: Identity, upper: np.ndarray, lower: np.ndarray, mouth_open: float, centre: tuple[float, float], canvas: tuple[int, int]) -> Image.Image:
    """One frame: ``upper`` expression drives brows and eyes, ``lower`` the mouth shape."""
    image = Image.new("RGB", canvas, identity.background)
    draw = ImageDraw.Draw(image)
    cx, cy = centre
    unit = canvas[1] * 0.32
    w, h = unit * identity.head_w, unit * identity.head_h
    shade = tuple(int(c * 0.82) for c in identity.skin)
    shirt = tuple(255 - c for c in identity.hair)
    draw.ellipse([cx - w * 2.2, cy + h * 1.05, cx + w * 2.2, cy + h * 3.2], fill=shirt)  # shoulders
    draw.rectangle([cx - w * 0.45, cy + h * 0.6, cx + w * 0.45, cy + h * 1.35], fill=shade)  # neck
    draw.ellipse([cx - w * 1.05, cy - h * 1.12, cx + w * 1.05, cy + h * 0.35], fill=identity.hair)
    for side in (-1, 1):  # ears
        draw.ellipse([cx + side * w * 0.93 - w * 0.13, cy - h * 0.28, cx + side * w * 0.93 + w * 0.13, cy + h * 0.12], fill=shade)
    draw.ellipse([cx - w, cy - h, cx + w, cy + h], fill=identity.skin)
    brow_raise, brow_inner, eye_open = float(upper[0]), float(upper[1]), float(upper[2])
    eye_y = cy - h * 0.18
    for side in (-1, 1):
        ex = cx + side * w * identity.eye_gap * 1.25
        rx, ry = unit * identity.eye_size, unit * identity.eye_size * 0.6 * eye_open
        draw.ellipse([ex - rx, eye_y - ry, ex + rx, eye_y + ry], fill=(250, 250, 250))
        draw.ellipse([ex - rx * 0.45, eye_y - ry * 0.7, ex + rx * 0.45, eye_y + ry * 0.7], fill=(40, 30, 20))
        draw.arc([ex - rx * 1.1, eye_y - ry * 1.3, ex + rx * 1.1, eye_y + ry * 1.3], 200, 340, fill=shade, width=2)  # eyelid
        brow_y = eye_y - unit * (0.2 + 0.1 * brow_raise)
        inner = (ex - side * rx * 1.3, brow_y + unit * 0.07 * brow_inner)
        outer = (ex + side * rx * 1.3, brow_y - unit * 0.03 * brow_inner)
        draw.line([inner, outer], fill=tuple(int(c * 0.35) for c in identity.hair), width=max(2, int(unit * 0.05)))
    nose_top, nose_bottom = eye_y + unit * 0.05, eye_y + unit * (0.05 + identity.nose)
    draw.line([(cx, nose_top), (cx - unit * 0.05, nose_bottom), (cx + unit * 0.03, nose_bottom)], fill=tuple(int(c * 0.7) for c in identity.skin), width=2)
    for side in (-1, 1):  # nostrils
        nx = cx + side * unit * 0.05
        draw.ellipse([nx - unit * 0.025, nose_bottom - unit * 0.015, nx + unit * 0.025, nose_bottom + unit * 0.015], fill=tuple(int(c * 0.55) for c in identity.skin))
    curve, width, roundness = float(lower[3]), float(lower[4]), float(lower[5])
    mouth_y = cy + h * identity.mouth_y
    half = unit * 0.28 * width
    opening = unit * (0.03 + 0.22 * mouth_open + 0.12 * roundness)
    xs = np.linspace(-1, 1, 17)
    centreline = mouth_y - curve * unit * 0.09 * xs**2 + curve * unit * 0.03
    upper_lip = [(cx + x * half, y - opening * 0.35 * (1 - x**2)) for x, y in zip(xs, centreline)]
    lower_lip = [(cx + x * half, y + opening * (1 - x**2)) for x, y in zip(xs, centreline)]
    draw.polygon(upper_lip + lower_lip[::-1], fill=(120, 30, 40), outline=(90, 20, 30))
    return image


def render(
    identity: Identity,
    upper: np.ndarray,
    lower: np.ndarray,
    mouth_open: np.ndarray,
    rng: np.random.Generator,
    composite: Callable[[int, Image.Image, tuple[float, float]], Image.Image] | None = None,
) -> np.ndarray:
    """All frames ``[T, H, W, 3]``: face, optional compositing (the fake), then camera effects."""
    width, height = SIZE
    canvas = (width + 2 * PAD, height + 2 * PAD)
    n_frames = len(upper)
    phase = rng.uniform(0, 2 * np.pi, 4)
    jitter = np.cumsum(rng.normal(0, 0.6, (n_frames, 2)), axis=0)
    jitter = np.clip(jitter - jitter.mean(axis=0), -PAD + 1, PAD - 1)
    light = 1 + 0.12 * np.sin(np.arange(n_frames) / FPS * rng.uniform(0.2, 0.8) + phase[0])
    noise = rng.uniform(1.0, 4.0)
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    for t in range(n_frames):
        centre = (canvas[0] / 2 + 8 * np.sin(t / FPS * 0.9 + phase[1]), canvas[1] / 2 + 6 + 4 * np.sin(t / FPS * 0.7 + phase[2]))
        image = draw_face(identity, upper[t], lower[t], float(mouth_open[t]), centre, canvas)
        if composite is not None:
            image = composite(t, image, centre)
        x0, y0 = int(PAD + jitter[t, 0]), int(PAD + jitter[t, 1])
        frame = np.asarray(image, np.float32)[y0 : y0 + height, x0 : x0 + width] * light[t]
        frame += noise * rng.standard_normal(frame.shape, dtype=np.float32)
        frames[t] = np.clip(frame, 0, 255).astype(np.uint8)
    return frames


def _paste(base: Image.Image, patch: Image.Image, box: tuple[float, float, float, float], feather: float) -> Image.Image:
    """Paste ``patch`` onto ``base`` inside an ellipse ``box``, edge softened by ``feather`` pixels."""
    mask = Image.new("L", base.size, 0)
    ImageDraw.Draw(mask).ellipse(box, fill=255)
    if feather > 0.5:
        mask = mask.filter(ImageFilter.GaussianBlur(feather))
    return Image.composite(patch, base, mask)


def _degrade(image: Image.Image, factor: float, blur: float, shift: np.ndarray) -> Image.Image:
    """Low-level artefacts of a re-synthesised region: resampling, smoothing, colour shift."""
    if factor > 1.05:
        small = image.resize((max(8, int(image.width / factor)), max(8, int(image.height / factor))), Image.Resampling.BILINEAR)
        image = small.resize(image.size, Image.Resampling.NEAREST if factor > 2.5 else Image.Resampling.BILINEAR)
    if blur > 0.2:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    array = np.asarray(image, np.float32) + shift
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


CLEAN_VOICE_BELOW = 0.35  # weaker artefacts than this: the cloned voice is left clean (no vocoder trace)


def vocode(audio: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Vocoder-like artefact: Griffin-Lim phase reconstruction (fewer iterations when stronger) and a low-pass.

    Below ``CLEAN_VOICE_BELOW`` the voice is returned untouched, as a good voice clone would be,
    so some fake voices carry no acoustic artefact at all, only a voice and an emotion that do
    not belong to the face.
    """
    import librosa

    if strength < CLEAN_VOICE_BELOW:
        return audio
    strength = (strength - CLEAN_VOICE_BELOW) / (1 - CLEAN_VOICE_BELOW)
    n_iter = int(round(48 - 44 * strength))
    magnitude = np.abs(librosa.stft(audio, n_fft=512, hop_length=128))
    rebuilt = librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=128, n_fft=512, length=len(audio), random_state=int(rng.integers(1 << 31)))
    cutoff = 7600 - 3000 * strength
    spectrum = np.fft.rfft(rebuilt)
    spectrum[np.fft.rfftfreq(len(rebuilt), 1 / SAMPLE_RATE) > cutoff] = 0
    out = np.fft.irfft(spectrum, n=len(rebuilt)).astype(np.float32)
    return out * (np.abs(audio).max() / (np.abs(out).max() + 1e-9))


def _seed(*parts: object) -> list[int]:
    return [int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little")]


def make_clip(
    category: str, identity: Identity, other: Identity, base_seed: list[int], config: SynthConfig, real: Performance | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Frames, audio and artefact strength of one clip of ``category`` for scenario ``base_seed``.

    ``real`` is the scenario's real performance (computed here when not given).
    """
    real = real or perform(identity, np.random.default_rng(base_seed), config.seconds)
    rng = np.random.default_rng(_seed(base_seed, category))
    camera = np.random.default_rng(_seed(base_seed, "camera"))  # the same camera for the real clip and its fakes
    expression = expression_of(real.weights)
    if category == REAL:
        return render(identity, expression, expression, real.mouth_open, camera), real.audio, 0.0
    low, high = ARTEFACT_RANGE[category]
    strength = float(rng.uniform(low, high))
    fake_voice = perform(other, rng, config.seconds) if category in ("RVFA", "FVFA-FS", "FVFA-GAN", "FVFA-WL") else None
    fake_audio = vocode(fake_voice.audio, strength, rng) if fake_voice is not None else real.audio
    if category == "RVFA":
        return render(identity, expression, expression, real.mouth_open, camera), fake_audio, strength
    unit = (SIZE[1] + 2 * PAD) * 0.32
    shift = rng.normal(0, 18 * strength, 3)
    if category in ("FVRA-WL", "FVFA-WL"):
        # wav2lip: the mouth is re-synthesised from the audio it is given
        driver = real if category == "FVRA-WL" else fake_voice
        other_take = perform(identity, rng, config.seconds)
        mouth_shape = expression_of(other_take.weights if category == "FVRA-WL" else fake_voice.weights)
        upper = expression_of(np.tile(np.eye(len(EMOTIONS))[0], (len(expression), 1))) if category == "FVRA-WL" else expression
        feather = 6 * (1 - strength) + 0.5

        def composite(t: int, image: Image.Image, centre: tuple[float, float]) -> Image.Image:
            synthetic = draw_face(identity, upper[t], mouth_shape[t], float(driver.mouth_open[t]), centre, image.size)
            synthetic = _degrade(synthetic, 1 + 2.5 * strength, 1.5 * strength, shift)
            cx, my = centre[0], centre[1] + unit * identity.head_h * identity.mouth_y
            box = (cx - unit * 0.42, my - unit * 0.25, cx + unit * 0.42, my + unit * 0.38)
            return _paste(image, synthetic, box, feather)

        return render(identity, upper, mouth_shape, driver.mouth_open, camera, composite), fake_audio, strength
    # face swaps: the inner face of `other`, with the expressions of another of its clips, over a fake voice
    source = perform(other, rng, config.seconds)
    source_expression = expression_of(source.weights)
    # face-swap pipelines colour-correct the swapped face to the target's skin; a residual mismatch remains
    residual = 0.15 + 0.35 * strength
    skin = tuple(int(round((1 - residual) * a + residual * b)) for a, b in zip(identity.skin, other.skin))
    swapped = dataclasses.replace(other, background=identity.background, hair=identity.hair, skin=skin)
    gan = category == "FVFA-GAN"

    def composite(t: int, image: Image.Image, centre: tuple[float, float]) -> Image.Image:
        face = draw_face(swapped, source_expression[t], source_expression[t], float(fake_voice.mouth_open[t]), centre, image.size)
        if gan:
            face = _degrade(face, 1 + 2 * strength, 1.2 * strength, shift * 0.3)
        else:
            face = _degrade(face, 1.0, 0.0, shift)
        cx, cy = centre
        box = (cx - unit * 0.75, cy - unit * 0.62, cx + unit * 0.75, cy + unit * 0.85)
        return _paste(image, face, box, 1.0 + (5.0 if gan else 2.5) * (1 - strength))

    return render(identity, expression, expression, fake_voice.mouth_open, camera, composite), fake_audio, strength


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


def generate(out: str | Path, config: SynthConfig, on_clip: Callable[[ManifestRow], None] | None = None) -> list[ManifestRow]:
    """Write every clip under ``out`` (skipping clips already there) and ``out/manifest.csv``."""
    out = Path(out)
    identities = [make_identity(i, config.seed) for i in range(config.identities)]
    rows: list[ManifestRow] = []
    for i, identity in enumerate(identities):
        for k in range(config.clips_per_identity):
            base_seed = _seed(config.seed, identity.name, k)
            real = None
            for category in (REAL, *CATEGORIES):
                kind, method = CATEGORY_TYPE_METHOD[category]
                other = identities[partner(i, len(identities))]
                second = "" if category == REAL else f"_{other.name}"
                name = f"{k:05d}{second}_{method}.mp4"
                relative = f"{TYPE_FOLDER[kind]}/{identity.gender}/{identity.name}/{name}"
                ids = tuple(sorted({identity.name, other.name})) if category != REAL else (identity.name,)
                row = ManifestRow(relative, int(category != REAL), kind, category, method, identity.name, ids, "synthetic", identity.gender)
                target = out / relative
                if not target.exists():
                    real = real or perform(identity, np.random.default_rng(base_seed), config.seconds)
                    frames, audio, _ = make_clip(category, identity, other, base_seed, config, real)
                    crf = int(np.random.default_rng(_seed(base_seed, category, "crf")).integers(18, 31))
                    write_video(target, frames, FPS, audio, SAMPLE_RATE, video_args=("-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p"))
                rows.append(row)
                if on_clip is not None:
                    on_clip(row)
    write_manifest(out / "manifest.csv", rows)
    return rows
