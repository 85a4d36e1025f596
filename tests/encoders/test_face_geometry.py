"""face-geometry: MediaPipe face mesh on real photos and on SynthAV's drawn faces (weights from the cache)."""

import factory
import numpy as np
import pytest
from PIL import Image

from emoboost.data import synthav_v2 as synthav
from emoboost.encoders import build_visual_encoder
from emoboost.encoders.assets import is_cached
from emoboost.encoders.face_geometry import (
    CROP_MARGIN,
    INPUT_SIZE,
    LOWER_NAMES,
    MEDIAPIPE_ASSET,
    UPPER_NAMES,
    FaceGeometryEncoder,
)  # fmt: skip
from emoboost.media.faces import FaceDetector, crop_faces

pytestmark = pytest.mark.skipif(
    not is_cached(MEDIAPIPE_ASSET),
    reason="face_landmark.tflite not in the user cache: run `emoboost fetch-weights` (scripts/setup.sh does)",
)
UPPER, LOWER = FaceGeometryEncoder.groups["upper"], FaceGeometryEncoder.groups["lower"]


def column(name: str) -> int:
    """Column of a measure's level in the embedding."""
    if name in UPPER_NAMES:
        return UPPER[0] + UPPER_NAMES.index(name)
    return LOWER[0] + LOWER_NAMES.index(name)


@pytest.fixture(scope="module")
def encoder():
    return FaceGeometryEncoder()


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


def crop(detector, image: np.ndarray, margin: float = CROP_MARGIN, angle: float = 0.0) -> np.ndarray:
    if angle:
        image = np.array(Image.fromarray(image).rotate(angle, resample=Image.Resampling.BILINEAR))
    found = detector.detect(image[None])[0]
    assert len(found.boxes), "MTCNN found no face"
    return crop_faces(image[None], found.boxes[:1], found.landmarks[:1], [INPUT_SIZE], margin)[INPUT_SIZE]


def test_landmarks_found_on_real_photos_not_on_noise(encoder, detector):
    photos = np.concatenate([crop(detector, factory.astronaut()), crop(detector, factory.grace_hopper())])
    _, presence = encoder.mesh(photos)
    assert (presence > 0.9).all(), presence
    noise = np.random.default_rng(0).integers(0, 256, (2, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    assert (encoder.mesh(noise)[1] < 0.1).all()
    embedding, probabilities = encoder.encode(photos)
    assert embedding.shape == (2, encoder.dim) and probabilities.shape == (2, 0) and np.isfinite(embedding).all()
    smiling, serious = embedding
    # the astronaut smiles with parted lips; Grace Hopper's mouth is closed and level
    assert smiling[column("mouth_open")] > serious[column("mouth_open")] + 0.05
    assert smiling[column("mouth_width")] > serious[column("mouth_width")]


def test_measures_do_not_depend_on_head_roll_or_crop_scale(encoder, detector):
    photo = factory.astronaut()
    base = encoder.encode(crop(detector, photo))[0]
    variants = [
        crop(detector, photo, angle=12.0),
        crop(detector, photo, angle=-12.0),
        crop(detector, photo, margin=0.35),
        crop(detector, photo, margin=0.7),
    ]
    spread = np.abs(encoder.encode(np.concatenate(variants))[0] - base)
    levels = list(range(UPPER[0], UPPER[0] + len(UPPER_NAMES))) + list(range(LOWER[0], LOWER[0] + len(LOWER_NAMES)))
    assert spread[:, levels].max() < 0.05, spread[:, levels].max(axis=0)


def test_drawn_faces_upper_face_follows_emotion_not_the_mouth(encoder, detector):
    """SynthAV's drawn faces: brows rise with surprise, fall with anger; opening the mouth moves the mouth."""
    brow, inner, mouth_effect, mouth_open = [], [], [], []
    for index in range(1, 4):
        identity = synthav.make_identity(index, 0)
        faces = {}
        for emotion in ("angry", "surprised", "neutral"):
            for opening in (0.0, 0.8):
                expression = np.array(synthav.EXPRESSION[emotion], np.float32)
                image = np.asarray(synthav.draw_face(identity, expression, expression, opening, (160, 120), (320, 240)))
                faces[emotion, opening] = encoder.encode(crop(detector, image))[0][0]
        brow.append(faces["surprised", 0.0][column("brow_raise_left")] - faces["angry", 0.0][column("brow_raise_left")])
        inner.append(
            faces["surprised", 0.0][column("inner_brow_left")] - faces["angry", 0.0][column("inner_brow_left")]
        )
        mouth_effect.append(
            abs(faces["neutral", 0.8][column("brow_raise_left")] - faces["neutral", 0.0][column("brow_raise_left")])
        )
        mouth_open.append(faces["neutral", 0.8][column("mouth_open")] - faces["neutral", 0.0][column("mouth_open")])
    assert min(brow) > 0.01 and min(inner) > 0.01 and np.mean(brow) > 0.03, (brow, inner)
    assert min(mouth_open) > 0.05, mouth_open
    assert np.mean(mouth_effect) < 0.5 * np.mean(brow), (mouth_effect, brow)


def test_clip_normalisation_removes_the_resting_face(encoder):
    rng = np.random.default_rng(0)
    levels = rng.normal(0.3, 0.05, (20, encoder.dim)).astype(np.float32)
    mask = np.ones(20, bool)
    mask[[3, 7]] = False
    out = encoder.finish_clip(levels, mask)
    for start, stop in encoder.groups.values():
        half = (stop - start) // 2
        np.testing.assert_array_equal(out[:, start : start + half], levels[:, start : start + half])  # levels kept
        deviations = out[:, start + half : stop]
        np.testing.assert_allclose(np.median(deviations[mask], axis=0), 0, atol=1e-6)
        assert (deviations[~mask] == 0).all()
    assert len(encoder.names) == encoder.dim


def test_combined_with_fer_concatenates_streams_with_named_groups(encoder, detector):
    combined = build_visual_encoder("face-geometry+fer-minixception")
    fer = build_visual_encoder("fer-minixception")
    assert combined.id == "face-geometry+fer-minixception" and combined.dim == encoder.dim + fer.dim
    assert combined.labels == fer.labels
    assert combined.groups["face-geometry/upper"] == UPPER and combined.groups["fer-minixception/embedding"] == (
        encoder.dim,
        combined.dim,
    )
    assert combined.views == ((INPUT_SIZE, CROP_MARGIN), (fer.input_size, None))
    photo = factory.astronaut()
    found = detector.detect(photo[None])[0]
    views = tuple(
        crop_faces(photo[None], found.boxes[:1], found.landmarks[:1], [size], margin or 0.25)[size]
        for size, margin in combined.views
    )
    embedding, probabilities = combined.encode_views(views)
    np.testing.assert_allclose(embedding[:, : encoder.dim], encoder.encode(views[0])[0], atol=1e-6)
    np.testing.assert_allclose(embedding[:, encoder.dim :], fer.encode(views[1])[0], atol=1e-5)
    np.testing.assert_allclose(probabilities, fer.encode(views[1])[1], atol=1e-6)
