"""SynthAV drawing: a parametric face (identity geometry + expression), the camera, and compositing.

:func:`draw_face` draws one frame from an identity, an upper-face and a lower-face expression
and a mouth opening; :func:`render` adds head motion, camera jitter, lighting and sensor noise
after an optional compositing step (how the fakes are made); :func:`paste` and
:func:`degrade` are the compositing tools whose strength sets the low-level artefact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from emoboost.media.decode import FPS

SIZE = (320, 240)  # frame width, height
PAD = 12  # extra canvas for camera jitter


@dataclasses.dataclass(frozen=True)
class Identity:
    """A drawn person: face geometry and colours, and the espeak-ng voice that speaks for them."""

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
    shading: float = 0.0  # SynthAV v3: depth of the face's shading (0 flat, as v2 draws it)
    photo: str = ""  # SynthAV v3 with photo faces: the real photograph the face is (emoboost.data.synthav_photo)


def draw_face(
    identity: Identity,
    upper: np.ndarray,
    lower: np.ndarray,
    mouth_open: float,
    centre: tuple[float, float],
    canvas: tuple[int, int],
) -> Image.Image:
    """One frame: ``upper`` expression drives brows and eyes, ``lower`` the mouth shape."""
    cx, cy = centre
    unit = canvas[1] * 0.32
    w, h = unit * identity.head_w, unit * identity.head_h
    shade = tuple(int(c * 0.82) for c in identity.skin)

    def body(draw: ImageDraw.ImageDraw) -> None:
        shirt = tuple(255 - c for c in identity.hair)
        draw.ellipse([cx - w * 2.2, cy + h * 1.05, cx + w * 2.2, cy + h * 3.2], fill=shirt)  # shoulders
        draw.rectangle([cx - w * 0.45, cy + h * 0.6, cx + w * 0.45, cy + h * 1.35], fill=shade)  # neck

    if identity.photo:  # a real photograph, warped to the expression (its face box as tall as the drawn face)
        from emoboost.data.synthav_photo import draw_photo_face, photo_face

        face = photo_face(identity.photo)
        return draw_photo_face(face, identity.background, body, upper, lower, mouth_open, centre, canvas, 2 * h)
    image = Image.new("RGB", canvas, identity.background)
    draw = ImageDraw.Draw(image)
    body(draw)
    draw.ellipse([cx - w * 1.05, cy - h * 1.12, cx + w * 1.05, cy + h * 0.35], fill=identity.hair)
    for side in (-1, 1):  # ears
        draw.ellipse(
            [cx + side * w * 0.93 - w * 0.13, cy - h * 0.28, cx + side * w * 0.93 + w * 0.13, cy + h * 0.12], fill=shade
        )
    rim = tuple(int(c * (1 - identity.shading)) for c in identity.skin)
    draw.ellipse([cx - w, cy - h, cx + w, cy + h], fill=rim)
    if identity.shading > 0:  # rings lighter towards the centre, which has the skin's colour: a rounded face
        for ring in range(1, 4):
            scale, light = 1 - 0.16 * ring, 1 - identity.shading * (1 - ring / 3)
            tint = tuple(int(c * light) for c in identity.skin)
            draw.ellipse([cx - w * scale, cy - h * scale - h * 0.05 * ring, cx + w * scale, cy + h * scale], fill=tint)
    brow_raise, brow_inner, eye_open = float(upper[0]), float(upper[1]), float(upper[2])
    eye_y = cy - h * 0.18
    for side in (-1, 1):
        ex = cx + side * w * identity.eye_gap * 1.25
        rx, ry = unit * identity.eye_size, unit * identity.eye_size * 0.6 * eye_open
        draw.ellipse([ex - rx, eye_y - ry, ex + rx, eye_y + ry], fill=(250, 250, 250))
        draw.ellipse([ex - rx * 0.45, eye_y - ry * 0.7, ex + rx * 0.45, eye_y + ry * 0.7], fill=(40, 30, 20))
        draw.arc(
            [ex - rx * 1.1, eye_y - ry * 1.3, ex + rx * 1.1, eye_y + ry * 1.3], 200, 340, fill=shade, width=2
        )  # eyelid
        brow_y = eye_y - unit * (0.2 + 0.1 * brow_raise)
        inner = (ex - side * rx * 1.3, brow_y + unit * 0.07 * brow_inner)
        outer = (ex + side * rx * 1.3, brow_y - unit * 0.03 * brow_inner)
        draw.line([inner, outer], fill=tuple(int(c * 0.35) for c in identity.hair), width=max(2, int(unit * 0.05)))
    nose_top, nose_bottom = eye_y + unit * 0.05, eye_y + unit * (0.05 + identity.nose)
    draw.line(
        [(cx, nose_top), (cx - unit * 0.05, nose_bottom), (cx + unit * 0.03, nose_bottom)],
        fill=tuple(int(c * 0.7) for c in identity.skin),
        width=2,
    )
    for side in (-1, 1):  # nostrils
        nx = cx + side * unit * 0.05
        draw.ellipse(
            [nx - unit * 0.025, nose_bottom - unit * 0.015, nx + unit * 0.025, nose_bottom + unit * 0.015],
            fill=tuple(int(c * 0.55) for c in identity.skin),
        )
    curve, width, roundness = float(lower[3]), float(lower[4]), float(lower[5])
    mouth_y = cy + h * identity.mouth_y
    half = unit * 0.28 * width
    opening = unit * (0.03 + 0.22 * mouth_open + 0.12 * roundness)
    xs = np.linspace(-1, 1, 17)
    centreline = mouth_y - curve * unit * 0.09 * xs**2 + curve * unit * 0.03
    upper_lip = [(cx + x * half, y - opening * 0.35 * (1 - x**2)) for x, y in zip(xs, centreline, strict=False)]
    lower_lip = [(cx + x * half, y + opening * (1 - x**2)) for x, y in zip(xs, centreline, strict=False)]
    draw.polygon(upper_lip + lower_lip[::-1], fill=(120, 30, 40), outline=(90, 20, 30))
    return image


def render(
    identity: Identity,
    upper: np.ndarray,
    lower: np.ndarray,
    mouth_open: np.ndarray,
    rng: np.random.Generator,
    composite: Callable[[int, Image.Image, tuple[float, float]], Image.Image] | None = None,
    head: np.ndarray | None = None,
) -> np.ndarray:
    """All frames ``[T, H, W, 3]``: face, optional compositing (the fake), then camera effects.

    ``head`` ([T, 2] pixels, optional) moves the head on top of its slow sway (SynthAV v3's nods
    and turns, drawn independently of speech).
    """
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
        centre = (
            canvas[0] / 2 + 8 * np.sin(t / FPS * 0.9 + phase[1]),
            canvas[1] / 2 + 6 + 4 * np.sin(t / FPS * 0.7 + phase[2]),
        )
        if head is not None:
            centre = (centre[0] + float(head[t, 0]), centre[1] + float(head[t, 1]))
        image = draw_face(identity, upper[t], lower[t], float(mouth_open[t]), centre, canvas)
        if composite is not None:
            image = composite(t, image, centre)
        x0, y0 = int(PAD + jitter[t, 0]), int(PAD + jitter[t, 1])
        frame = np.asarray(image, np.float32)[y0 : y0 + height, x0 : x0 + width] * light[t]
        frame += noise * rng.standard_normal(frame.shape, dtype=np.float32)
        frames[t] = np.clip(frame, 0, 255).astype(np.uint8)
    return frames


def paste(base: Image.Image, patch: Image.Image, box: tuple[float, float, float, float], feather: float) -> Image.Image:
    """Paste ``patch`` onto ``base`` inside an ellipse ``box``, edge softened by ``feather`` pixels."""
    mask = Image.new("L", base.size, 0)
    ImageDraw.Draw(mask).ellipse(box, fill=255)
    if feather > 0.5:
        mask = mask.filter(ImageFilter.GaussianBlur(feather))
    return Image.composite(patch, base, mask)


def degrade(image: Image.Image, factor: float, blur: float, shift: np.ndarray) -> Image.Image:
    """Low-level artefacts of a re-synthesised region: resampling, smoothing, colour shift."""
    if factor > 1.05:
        small = image.resize(
            (max(8, int(image.width / factor)), max(8, int(image.height / factor))), Image.Resampling.BILINEAR
        )
        image = small.resize(image.size, Image.Resampling.NEAREST if factor > 2.5 else Image.Resampling.BILINEAR)
    if blur > 0.2:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    array = np.asarray(image, np.float32) + shift
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
