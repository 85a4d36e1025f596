"""Real-photo faces for SynthAV v3: public-domain portraits animated by warping them with the face mesh.

SynthAV's drawn faces have no skin texture and no real face shape. With ``SynthConfig.photo_faces``
the first female identities of a set get, one each, a real face photograph that ships inside a
package emoboost already installs (never downloaded, never one person for two identities):

- ``eileen-collins``: the astronaut Eileen Collins (NASA), scikit-image's ``skimage.data.astronaut()``;
  public domain (its docstring: "No known copyright restrictions, released into the public domain");
- ``grace-hopper``: Grace Hopper (a portrait in US Navy uniform), matplotlib's sample ``grace_hopper.jpg``, under
  matplotlib's licence (PSF-based) for its sample data.

Preparation, once per photo and process: MTCNN (the pipeline's detector) finds the face, the face
is cut eye-aligned at MediaPipe's 1.5x box (the face-geometry encoder's crop) at 192 px, and the
face mesh gives its 468 landmarks there. A frame is that crop warped: SynthAV's expression
parameters (brow raise, inner brow, eye opening, lip-corner curve, mouth width, roundness) and
the voice's mouth opening move groups of landmarks, chosen by where they lie in the face-centred
frame of :func:`emoboost.encoders.face_geometry.face_frame` (brows above the eyes, upper lids,
lip corners), by amounts in eye-distance units scaled like the drawn face's; a Gaussian-weighted
average of those displacements (Nadaraya-Watson: every other landmark and the crop's border held
still, so the field never overshoots what any landmark moved) gives a smooth displacement field.
The jaw drops as a field of its own: everything below the upper lip's inner edge moves down by
the opening, with a sharp seam between the lips (closed lips in a photo are one pixel apart) and
a soft stretch beside them. The crop is resampled through the sum; an open mouth gets a dark
cavity between the inner lips. The warped face is pasted, feathered, over the identity's drawn
shoulders and background.

What it supports: encoders and detectors see real skin, real face shapes and a real person's
proportions moving the way SynthAV's expressions move. What it does not: the motion is a warp of
one still photograph (no teeth, no tongue, no wrinkles forming, no head turns beyond the drawn
sway), there are two people, both women, and their faces are famous photographs; they test the
pipeline, never a claim about real talking faces.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from emoboost.errors import EmoboostError

CROP = 192  # the face-geometry crop size (MediaPipe's input)
FEATHER = 4.0  # px of the pasted face's soft edge
SIGMA = 0.08  # eye-distance units: the reach of one landmark's displacement in the warp
GRID = 48  # the displacement field is computed on GRID x GRID points and interpolated to the crop
FLOOR = 1e-3  # added to the kernel weights' sum: where no control point is near, the field fades to 0


def _astronaut() -> np.ndarray:
    try:
        import skimage.data
    except ImportError as exc:
        raise EmoboostError(
            "the photo face 'eileen-collins' comes with scikit-image: pip install 'emoboost[photos]'"
        ) from exc
    return np.array(skimage.data.astronaut(), np.uint8)  # a writable copy


def _grace_hopper() -> np.ndarray:
    import matplotlib.cbook as cbook

    sample = cbook.get_sample_data("grace_hopper.jpg")
    if isinstance(sample, np.ndarray):  # an array only for .npy samples
        raise EmoboostError("matplotlib's grace_hopper.jpg sample came back as an array")
    with sample as handle:
        return np.asarray(Image.open(io.BytesIO(handle.read())).convert("RGB"), np.uint8)


PHOTOS: dict[str, Callable[[], np.ndarray]] = {"eileen-collins": _astronaut, "grace-hopper": _grace_hopper}


@dataclasses.dataclass(frozen=True)
class PhotoFace:
    """A prepared photo: the aligned crop, its landmarks, and what the warp needs precomputed."""

    name: str
    crop: np.ndarray  # [192, 192, 3] uint8, eye-aligned at the 1.5x box
    landmarks: np.ndarray  # [468, 2] crop pixels
    unit: float  # outer-eye-corner distance in crop pixels
    field: np.ndarray  # [GRID * GRID, K] normalised kernel weights of the control points at the grid points
    controls: int  # K: the 468 landmarks, then the border points
    groups: dict[str, np.ndarray]  # landmark weights per facial action, [468] each


def _face_box(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from emoboost.media.faces import FaceDetector

    found = FaceDetector().detect(photo[None])[0]
    if not len(found.boxes):
        raise EmoboostError("no face found in the photo")
    best = int(np.argmax(found.probs))
    return found.boxes[best : best + 1], found.landmarks[best : best + 1]


def _groups(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Per facial action, a weight in [0, 1] for every landmark, from where it lies in the face frame."""
    from emoboost.encoders import face_geometry as fg

    points = np.concatenate([landmarks, np.zeros((len(landmarks), 1))], axis=1)[None]
    local = fg.face_frame(points)[0]
    x, y = local[:, 0], local[:, 1]
    eye_y = float(np.mean(local[[*fg.EYE_OUTER, *fg.EYE_INNER], 1]))
    lid_y = (local[fg.UPPER_LID[0], 1] + local[fg.UPPER_LID[1], 1]) / 2
    mouth_y = (local[fg.LIP_INNER_UPPER, 1] + local[fg.LIP_INNER_LOWER, 1]) / 2

    def ramp(value: np.ndarray, low: float, high: float) -> np.ndarray:
        return np.clip((value - low) / max(high - low, 1e-6), 0.0, 1.0)

    band = ramp(y, lid_y + 0.08, lid_y + 0.2) * (1 - ramp(y, lid_y + 0.5, lid_y + 0.7))  # above the upper lids
    brows = band * (1 - ramp(np.abs(x), 0.75, 0.9))
    inner = brows * (1 - ramp(np.abs(x), 0.2, 0.4))
    lids = np.zeros(len(x))
    for side in (0, 1):
        lid = local[fg.UPPER_LID[side]]
        near = np.hypot(x - lid[0], (y - lid[1]) * 1.6)
        lids = np.maximum(lids, (1 - ramp(near, 0.1, 0.2)) * (y >= eye_y - 0.01))
    corners = np.zeros((2, len(x)))
    for side in (0, 1):
        corner = local[fg.MOUTH_CORNER[side]]
        corners[side] = 1 - ramp(np.hypot(x - corner[0], y - corner[1]), 0.05, 0.3)
    below = y < mouth_y - 0.01
    lip = below * (1 - ramp(mouth_y - y, 0.1, 0.25)) * (1 - ramp(np.abs(x), 0.35, 0.5))
    return {
        "brows": brows, "inner": inner, "lids": lids, "corner_right": corners[0], "corner_left": corners[1],
        "lip": lip,
    }  # fmt: skip


@functools.cache
def photo_face(name: str) -> PhotoFace:
    """Prepare photo ``name`` (one of :data:`PHOTOS`); cached per process."""
    from emoboost.encoders.face_geometry import CROP_MARGIN, EYE_OUTER, FaceMesh
    from emoboost.media.faces import crop_faces

    if name not in PHOTOS:
        raise EmoboostError(f"no photo face {name!r} (known: {', '.join(PHOTOS)})")
    photo = PHOTOS[name]()
    boxes, points = _face_box(photo)
    crop = crop_faces([photo], boxes, points, [CROP], CROP_MARGIN)[CROP][0]
    mesh, presence = FaceMesh()(crop[None])
    if presence[0] < 0.5:
        raise EmoboostError(f"the face mesh finds no face in photo {name!r} (presence {presence[0]:.2f})")
    landmarks = mesh[0, :, :2].astype(np.float64)
    unit = float(np.linalg.norm(landmarks[EYE_OUTER[1]] - landmarks[EYE_OUTER[0]]))
    edge = np.linspace(0, CROP - 1, 12)
    border = np.concatenate(
        [np.stack([edge, np.zeros_like(edge)], 1), np.stack([edge, np.full_like(edge, CROP - 1)], 1),
         np.stack([np.zeros_like(edge), edge], 1), np.stack([np.full_like(edge, CROP - 1), edge], 1)]
    )  # fmt: skip
    controls = np.concatenate([landmarks, border])
    sigma = SIGMA * unit

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * sigma**2))

    steps = np.linspace(0, CROP - 1, GRID)
    grid = np.stack(np.meshgrid(steps, steps, indexing="xy"), -1).reshape(-1, 2)
    weights = kernel(grid, controls)
    weights /= weights.sum(axis=1, keepdims=True) + FLOOR  # far from every control point the field fades to 0
    return PhotoFace(name, crop, landmarks, unit, weights, len(controls), _groups(landmarks))


def displacements(face: PhotoFace, upper: np.ndarray, lower: np.ndarray, mouth_open: float) -> np.ndarray:
    """[468, 2] crop-pixel displacement of every landmark for one frame's expression (image axes, y down)."""
    from emoboost.encoders import face_geometry as fg

    brow_raise, brow_inner, eye_open = float(upper[0]), float(upper[1]), float(upper[2])
    curve, width, roundness = float(lower[3]), float(lower[4]), float(lower[5])
    u, g, lm = face.unit, face.groups, face.landmarks
    move = np.zeros_like(lm)
    move[:, 1] -= g["brows"] * 0.15 * u * brow_raise  # y down: a raise is negative
    move[:, 1] += g["inner"] * 0.07 * u * brow_inner
    centre_x = (lm[fg.EYE_OUTER[0], 0] + lm[fg.EYE_OUTER[1], 0]) / 2
    move[:, 0] += g["inner"] * np.sign(centre_x - lm[:, 0]) * 0.025 * u * max(brow_inner, 0.0)  # a furrow
    aperture = float(np.mean([np.linalg.norm(lm[fg.UPPER_LID[s]] - lm[fg.LOWER_LID[s]]) for s in (0, 1)]))
    move[:, 1] += g["lids"] * aperture * (0.9 * (1 - eye_open) if eye_open < 1 else -0.5 * (eye_open - 1))
    mouth_centre = (lm[fg.MOUTH_CORNER[0]] + lm[fg.MOUTH_CORNER[1]]) / 2
    half = float(np.linalg.norm(lm[fg.MOUTH_CORNER[1]] - lm[fg.MOUTH_CORNER[0]])) / 2
    for side, sign in (("corner_right", -1.0), ("corner_left", 1.0)):
        w = g[side]
        move[:, 1] -= w * 0.09 * u * curve
        move[:, 0] += w * sign * half * (width - 1.0)
    move[:, 0] += g["lip"] * (mouth_centre[0] - lm[:, 0]) * 0.2 * roundness  # rounded lips narrow
    return move


def opening_of(face: PhotoFace, lower: np.ndarray, mouth_open: float) -> float:
    """How far the jaw drops, crop pixels (the drawn face's opening, in eye-distance units)."""
    return face.unit * (0.22 * mouth_open + 0.1 * float(lower[5]))


def jaw_field(face: PhotoFace, opening: float) -> np.ndarray:
    """[192, 192] downward displacement of the jaw: everything below the upper lip's inner edge drops by
    ``opening``, with a sharp seam between the lips and a soft one beside them; the neck under the chin
    stays."""
    from emoboost.encoders import face_geometry as fg

    lm, u = face.landmarks, face.unit
    ys, xs = np.mgrid[0:CROP, 0:CROP].astype(np.float64)
    centre = (lm[fg.MOUTH_CORNER[0]] + lm[fg.MOUTH_CORNER[1]]) / 2
    half = float(np.linalg.norm(lm[fg.MOUTH_CORNER[1]] - lm[fg.MOUTH_CORNER[0]])) / 2
    seam = float(lm[fg.LIP_INNER_UPPER, 1]) + 0.5
    beside = np.clip((np.abs(xs - centre[0]) - half * 0.8) / (0.3 * u), 0.0, 1.0)
    width = 0.7 + beside * 0.3 * u  # px: a lip seam inside the mouth, a stretch of skin beside it
    below = 1.0 / (1.0 + np.exp(-(ys - seam) / width))
    across = 1.0 - np.clip((np.abs(xs - centre[0]) - 0.55 * u) / (0.4 * u), 0.0, 1.0)
    chin = float(lm[fg.CHIN, 1])
    under = 1.0 - np.clip((ys - chin - 0.05 * u) / (0.3 * u), 0.0, 1.0)
    return opening * below * across * under


def warp(face: PhotoFace, upper: np.ndarray, lower: np.ndarray, mouth_open: float) -> Image.Image:
    """The photo crop with one frame's expression, [192, 192] RGB."""
    import torch
    import torch.nn.functional as F

    from emoboost.encoders import face_geometry as fg

    move = displacements(face, upper, lower, mouth_open)
    values = np.concatenate([move, np.zeros((face.controls - len(move), 2))])
    field = (face.field @ values).reshape(GRID, GRID, 2)  # [y, x, (dx, dy)] at the grid points
    dense = F.interpolate(
        torch.from_numpy(field.transpose(2, 0, 1)[None]).float(), size=(CROP, CROP), mode="bilinear", align_corners=True
    )[0].numpy()
    opening = opening_of(face, lower, mouth_open)
    dense[1] += jaw_field(face, opening).astype(np.float32)
    ys, xs = np.mgrid[0:CROP, 0:CROP].astype(np.float32)
    source_x, source_y = xs - dense[0], ys - dense[1]  # backward map: an output pixel reads where its content came from
    grid = np.stack([(source_x + 0.5) / CROP * 2 - 1, (source_y + 0.5) / CROP * 2 - 1], -1)[None]
    image = torch.from_numpy(face.crop.transpose(2, 0, 1)[None].astype(np.float32))
    warped = F.grid_sample(image, torch.from_numpy(grid.astype(np.float32)), mode="bilinear", padding_mode="border",
                           align_corners=False)  # fmt: skip
    picture = Image.fromarray(warped[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy())
    moved = face.landmarks + move
    top, bottom = moved[fg.LIP_INNER_UPPER], moved[fg.LIP_INNER_LOWER] + np.array([0.0, opening])
    if opening > 1.0:  # the mouth opened beyond the photo's own: a dark cavity between the inner lips
        half = 0.36 * float(np.linalg.norm(moved[fg.MOUTH_CORNER[1]] - moved[fg.MOUTH_CORNER[0]]))
        cx = float(top[0] + bottom[0]) / 2
        cavity = Image.new("L", picture.size, 0)
        ImageDraw.Draw(cavity).ellipse([cx - half, top[1] + 0.5, cx + half, bottom[1] - 0.5], fill=255)
        cavity = cavity.filter(ImageFilter.GaussianBlur(1.0))
        picture = Image.composite(Image.new("RGB", picture.size, (70, 25, 30)), picture, cavity)
    return picture


def draw_photo_face(
    face: PhotoFace,
    background: tuple[int, int, int],
    body: Callable[[ImageDraw.ImageDraw], None],
    upper: np.ndarray,
    lower: np.ndarray,
    mouth_open: float,
    centre: tuple[float, float],
    canvas: tuple[int, int],
    face_height: float,
) -> Image.Image:
    """One frame: background, the drawn body (``body`` draws on the canvas), the warped photo face centred at
    ``centre`` with the photo's face box ``face_height`` pixels tall (the drawn face's height)."""
    image = Image.new("RGB", canvas, background)
    body(ImageDraw.Draw(image))
    picture = warp(face, upper, lower, mouth_open)
    scale = face_height / (CROP / 1.5)  # the crop is 1.5x the face box
    size = max(8, int(round(CROP * scale)))
    picture = picture.resize((size, size), Image.Resampling.BILINEAR)
    mask = Image.new("L", (size, size), 0)
    inset = size * 0.1
    ImageDraw.Draw(mask).ellipse([inset, inset * 0.4, size - inset, size - inset * 0.6], fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(FEATHER * scale))
    image.paste(picture, (int(round(centre[0] - size / 2)), int(round(centre[1] - size / 2))), mask)
    return image
