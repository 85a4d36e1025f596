"""SynthAV v3 photo faces: real public-domain photographs, one identity each, animated by a warp the face mesh reads."""

from __future__ import annotations

import numpy as np
import pytest

from emoboost.data.synthav import PHOTO_RECORD, SynthConfig, generate
from emoboost.data.synthav_photo import PHOTOS, displacements, photo_face, warp
from emoboost.data.synthav_v2 import EXPRESSION, mouth_box
from emoboost.data.synthav_v3 import (
    draw_scene,
    identity_of,
    make_real,
    partner,
    photo_assignment,
    scene_seed,
    timbre_of,
)
from emoboost.encoders import face_geometry as fg
from emoboost.errors import ConfigError
from emoboost.media.faces import FaceDetector


def _expression(name: str) -> np.ndarray:
    return np.array(EXPRESSION[name], np.float32)


def test_photos_go_to_the_first_women_one_person_per_identity():
    config = SynthConfig(identities=12, seed=0, photo_faces=True)
    assigned = photo_assignment(config)
    assert sorted(assigned.values()) == sorted(PHOTOS)  # every photograph used once: never one person twice
    for name in assigned:
        assert timbre_of(int(name[2:]), config.seed)[2] == "women"
    assert photo_assignment(SynthConfig(identities=12, seed=0)) == {}
    assert identity_of(0, SynthConfig(identities=12)).photo == ""
    assert photo_assignment(SynthConfig(identities=2, seed=0, photo_faces=True)) == {}  # no woman among 2


def test_the_warp_moves_the_landmarks_each_expression_names():
    face = photo_face("eileen-collins")
    neutral = displacements(face, _expression("neutral"), _expression("neutral"), 0.0)
    assert np.abs(neutral).max() < 1e-9  # the neutral expression is the photograph itself
    surprised = displacements(face, _expression("surprised"), _expression("surprised"), 0.0)
    assert surprised[list(fg.BROW_MID), 1].max() < -3  # brows up (y down) by pixels
    angry = displacements(face, _expression("angry"), _expression("angry"), 0.0)
    assert angry[list(fg.BROW_INNER), 1].min() > 3  # inner brows down
    happy = displacements(face, _expression("happy"), _expression("happy"), 0.0)
    sad = displacements(face, _expression("sad"), _expression("sad"), 0.0)
    corners = list(fg.MOUTH_CORNER)
    assert (happy[corners, 1] < -2).all() and (sad[corners, 1] > 2).all()  # corners up when happy, down when sad
    assert np.abs(neutral[list(fg.EYE_OUTER)]).max() < 1e-9  # eye corners never move (the face frame's unit)


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_the_face_mesh_reads_the_animation_on_each_photograph(name):
    """What the pipeline's own face-geometry encoder sees on the warped photograph: the mouth opens with the
    voice, the lip corners rise from sad to happy, the mouth widens from surprised to happy."""
    face = photo_face(name)
    crops = [
        warp(face, _expression(emotion), _expression(emotion), opening)
        for emotion, opening in (("neutral", 0.0), ("neutral", 0.8), ("happy", 0.0), ("sad", 0.0), ("surprised", 0.0))
    ]
    landmarks, presence = fg.FaceMesh()(np.stack([np.asarray(crop) for crop in crops]))
    assert (presence > 0.9).all()
    _, lower = fg.measures(fg.face_frame(landmarks))
    closed, opened, happy, sad, surprised = lower
    assert opened[0] > closed[0] + 0.08  # inner-lip distance, eye-distance units
    assert happy[2:4].mean() > sad[2:4].mean() + 0.015
    assert happy[1] > surprised[1] + 0.05


def test_mtcnn_finds_every_photo_face_in_a_real_clip():
    config = SynthConfig(identities=8, seconds=2.0, seed=0, photo_faces=True)
    detector = FaceDetector()
    for name in photo_assignment(config):
        identity = identity_of(int(name[2:]), config)
        base = scene_seed(config, identity, 0)
        scene = draw_scene(identity, np.random.default_rng(base), config.seconds)
        frames = make_real(identity, scene, base).frames[::2]
        found = [len(f.boxes) > 0 and f.probs.max() > 0.9 for f in detector.detect(frames)]
        assert np.mean(found) >= 0.95, (identity.photo, np.mean(found))


def test_a_lip_sync_redraws_the_photographs_mouth():
    """The mouth box a lip-sync pastes (synthav_v2.mouth_box) holds the photograph's mouth as drawn."""
    config = SynthConfig(identities=8, seed=0, photo_faces=True)
    name = next(iter(photo_assignment(config)))
    identity = identity_of(int(name[2:]), config)
    face = photo_face(identity.photo)
    canvas, centre = (344, 264), (172.0, 138.0)
    unit = canvas[1] * 0.32
    box = mouth_box(identity, centre, unit)
    scale = 2 * unit * identity.head_h / (192 / 1.5)
    mouth = (face.landmarks[fg.LIP_INNER_UPPER] + face.landmarks[fg.LIP_INNER_LOWER]) / 2
    drawn_y = centre[1] + (mouth[1] - 96) * scale
    assert box[1] < drawn_y < box[3] and box[0] < centre[0] + (mouth[0] - 96) * scale < box[2]
    assert identity_of(partner(int(name[2:]), config.identities), config).photo  # partners: the two photographs


def test_a_set_is_never_mixed_with_and_without_photo_faces(tmp_path):
    plain = SynthConfig(identities=4, clips_per_identity=1, seconds=1.2, seed=0)
    generate(tmp_path / "plain", plain, categories=("real",))
    with pytest.raises(ConfigError, match="without photo faces"):
        generate(tmp_path / "plain", SynthConfig(**{**plain.__dict__, "photo_faces": True}), categories=("real",))
    photos = SynthConfig(**{**plain.__dict__, "photo_faces": True})
    rows = generate(tmp_path / "photos", photos, categories=("real",))
    assert (tmp_path / "photos" / PHOTO_RECORD).is_file() and len(rows) == 4
    with pytest.raises(ConfigError, match="with photo faces"):
        generate(tmp_path / "photos", plain, categories=("real",))
    with pytest.raises(ConfigError, match="v3 only"):
        generate(tmp_path / "v2", SynthConfig(**{**plain.__dict__, "photo_faces": True, "version": 2}))
