"""``face-geometry``: facial action geometry from MediaPipe's face mesh, upper and lower face apart.

MediaPipe's ``face_landmark.tflite`` (Apache-2.0, inside the ``mediapipe`` 0.10.21 wheel; taken
from the wheel, never installed: see :mod:`emoboost.encoders.assets`) maps a 192x192 RGB face
crop (scaled to [0, 1]) to 468 3-D landmarks in crop pixels plus a face-presence logit. It runs
through ai-edge-litert on the tracked, eye-aligned crops, a batch per call, on the CPU whatever
``runtime.device`` says (one thread; it costs about 2 ms a crop on one core).

Each frame's landmarks are put in a face-centred frame (pose normalisation): origin between the
outer eye corners, x along the eyes, y from chin to nose bridge (orthogonalised), z their cross
product, unit = the outer-eye-corner distance (so a measure is the same for a near, far, turned
or tilted head, up to what the 2.5-D landmarks allow). In that frame, named measures of the
facial actions that carry emotion (positive y is up):

- ``upper`` (speech does not move them): brow height over the eye (AU1/2), inner-brow height
  (AU1 up, AU4 down), the gap between the inner brows (AU4 furrow), eye aperture relative to eye
  width (AU5 / AU7), lower-lid-to-cheek distance (AU6 cheek raise shortens it);
- ``lower`` (articulation lives here): mouth opening (inner lips), mouth width (AU20 / AU12),
  lip-corner height against the mouth centre (AU12 pull up / AU15 depression), upper lip to
  nose (AU10), jaw drop.

Identity normalisation: per clip, each measure's median over the frames with a face is taken
as that person's resting value; the embedding keeps both the level (pose-normalised, comparable
across clips) and the deviation from the clip median (the expression, whatever the face's
build). Columns: ``upper`` = upper levels then upper deviations, ``lower`` likewise
(``FaceGeometryEncoder.groups``), so a model or a probe can read the upper face alone.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import numpy as np

from emoboost.encoders.assets import PackagedAsset, asset_path, ensure_asset
from emoboost.encoders.visual import FaceEmotionEncoder

MEDIAPIPE_VERSION = "0.10.21"
LANDMARK_MEMBER = "mediapipe/modules/face_landmark/face_landmark.tflite"
LANDMARK_SHA256 = "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"
MEDIAPIPE_ASSET = PackagedAsset(
    registry="pypi",
    package="mediapipe",
    version=MEDIAPIPE_VERSION,
    members={LANDMARK_MEMBER: LANDMARK_SHA256},
    env="EMOBOOST_MEDIAPIPE_WHEEL",
    licence="Apache-2.0",
    credit="MediaPipe face mesh `face_landmark.tflite` (Google)",
    pip_args=(
        "--platform",
        "manylinux_2_28_x86_64",
        "--python-version",
        "3.11",
    ),  # one wheel, the same bytes everywhere
)
INPUT_SIZE = 192
CROP_MARGIN = 0.5  # MediaPipe's landmark ROI is the detection box scaled 1.5x
N_LANDMARKS = 468
FEATURE_VERSION = 1  # bump when a measure or the normalisation changes

# MediaPipe face-mesh indices ("right" = the subject's right, image left)
EYE_OUTER = (33, 263)
EYE_INNER = (133, 362)
UPPER_LID = (159, 386)
LOWER_LID = (145, 374)
BROW_MID = (105, 334)
BROW_INNER = (107, 336)
CHEEK = (50, 280)
MOUTH_CORNER = (61, 291)
LIP_INNER_UPPER, LIP_INNER_LOWER = 13, 14
LIP_OUTER_UPPER = 0
SUBNASALE, NOSE_BRIDGE, NOSE_TIP, CHIN = 2, 168, 1, 152

UPPER_NAMES = (
    "brow_raise_right", "brow_raise_left", "inner_brow_right", "inner_brow_left", "brow_gap",
    "eye_aperture_right", "eye_aperture_left", "lid_cheek_right", "lid_cheek_left",
)  # fmt: skip
LOWER_NAMES = ("mouth_open", "mouth_width", "lip_corner_right", "lip_corner_left", "lip_to_nose", "jaw_drop")


def landmark_model_path() -> Path:
    """The SHA-256-checked ``face_landmark.tflite`` in the user cache (fetched on first use)."""
    ensure_asset(MEDIAPIPE_ASSET)
    return asset_path(MEDIAPIPE_ASSET, LANDMARK_MEMBER)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence the TFLite runtime's C++ log line ("Created TensorFlow Lite XNNPACK delegate") on fd 2."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class FaceMesh:
    """468 landmarks per 192x192 RGB crop through ai-edge-litert, a batch per call."""

    def __init__(self, model_path: str | Path | None = None, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        with _quiet_stderr():
            self.interpreter = Interpreter(model_path=str(model_path or landmark_model_path()), num_threads=threads)
        self._input = self.interpreter.get_input_details()[0]["index"]
        outputs = {detail["name"]: detail["index"] for detail in self.interpreter.get_output_details()}
        self._landmarks, self._presence = outputs["conv2d_21"], outputs["conv2d_31"]
        self._batch = 0

    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 ``[N, 192, 192, 3]`` -> ``(landmarks [N, 468, 3] in crop pixels, face presence [N] in [0, 1])``."""
        if len(crops) != self._batch:
            with _quiet_stderr():
                self.interpreter.resize_tensor_input(self._input, [len(crops), INPUT_SIZE, INPUT_SIZE, 3])
                self.interpreter.allocate_tensors()
            self._batch = len(crops)
        self.interpreter.set_tensor(self._input, np.ascontiguousarray(crops, np.float32) / 255.0)
        self.interpreter.invoke()
        landmarks = self.interpreter.get_tensor(self._landmarks).reshape(len(crops), N_LANDMARKS, 3)
        logits = self.interpreter.get_tensor(self._presence).reshape(len(crops)).astype(np.float64)
        return landmarks.copy(), (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def face_frame(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks ``[N, 468, 3]`` (image axes: x right, y down) in the face-centred frame.

    y points up; the unit is the outer-eye-corner distance."""
    right, left = landmarks[:, EYE_OUTER[0]], landmarks[:, EYE_OUTER[1]]
    origin = (right + left) / 2  # [N, 3]
    x_axis = left - right
    scale = np.linalg.norm(x_axis, axis=1, keepdims=True)
    x_axis = x_axis / np.maximum(scale, 1e-6)
    up = landmarks[:, NOSE_BRIDGE] - landmarks[:, CHIN]
    up = up - (up * x_axis).sum(axis=1, keepdims=True) * x_axis
    y_axis = up / np.maximum(np.linalg.norm(up, axis=1, keepdims=True), 1e-6)
    z_axis = np.cross(x_axis, y_axis)
    rotation = np.stack([x_axis, y_axis, z_axis], axis=1)  # [N, 3, 3], rows = axes
    local = np.einsum("nij,nkj->nki", rotation, landmarks - origin[:, None])
    return local / np.maximum(scale, 1e-6)[:, None]


def measures(local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pose-normalised landmarks ``[N, 468, 3]`` -> ``(upper [N, 9], lower [N, 6])`` (see the module docstring)."""
    y = local[..., 1]
    x = local[..., 0]

    def dist(a: int, b: int) -> np.ndarray:
        return np.linalg.norm(local[:, a] - local[:, b], axis=1)

    eye_centre_y = [(y[:, outer] + y[:, inner]) / 2 for outer, inner in zip(EYE_OUTER, EYE_INNER, strict=True)]
    upper = [y[:, BROW_MID[side]] - eye_centre_y[side] for side in (0, 1)]
    upper += [y[:, BROW_INNER[side]] - y[:, EYE_INNER[side]] for side in (0, 1)]
    upper.append(x[:, BROW_INNER[1]] - x[:, BROW_INNER[0]])
    upper += [
        dist(UPPER_LID[side], LOWER_LID[side]) / np.maximum(dist(EYE_OUTER[side], EYE_INNER[side]), 1e-6)
        for side in (0, 1)
    ]
    upper += [y[:, LOWER_LID[side]] - y[:, CHEEK[side]] for side in (0, 1)]
    mouth_centre_y = (y[:, LIP_INNER_UPPER] + y[:, LIP_INNER_LOWER]) / 2
    lower = [dist(LIP_INNER_UPPER, LIP_INNER_LOWER), dist(*MOUTH_CORNER)]
    lower += [y[:, MOUTH_CORNER[side]] - mouth_centre_y for side in (0, 1)]
    lower += [y[:, SUBNASALE] - y[:, LIP_OUTER_UPPER], y[:, NOSE_TIP] - y[:, CHIN]]
    return np.stack(upper, axis=1).astype(np.float32), np.stack(lower, axis=1).astype(np.float32)


GEOMETRY_ID = "face-geometry"


class FaceGeometryEncoder(FaceEmotionEncoder):
    """Upper- and lower-face action measures from the MediaPipe face mesh (no expression classes)."""

    id = GEOMETRY_ID
    version = f"mediapipe-{MEDIAPIPE_VERSION}.face_landmark.v{FEATURE_VERSION}"
    input_size = INPUT_SIZE
    crop_margin = CROP_MARGIN
    labels: tuple[str, ...] = ()
    n_upper, n_lower = len(UPPER_NAMES), len(LOWER_NAMES)
    dim = 2 * (len(UPPER_NAMES) + len(LOWER_NAMES))
    groups = MappingProxyType(
        {"upper": (0, 2 * len(UPPER_NAMES)), "lower": (2 * len(UPPER_NAMES), 2 * (len(UPPER_NAMES) + len(LOWER_NAMES)))}
    )
    names = (
        tuple(UPPER_NAMES)
        + tuple(f"{name}_dev" for name in UPPER_NAMES)
        + tuple(LOWER_NAMES)
        + tuple(f"{name}_dev" for name in LOWER_NAMES)
    )

    def __init__(
        self, device: str = "cpu", model_path: str | Path | None = None, threads: int = 1, frame_stride: int = 1
    ):
        self.mesh = FaceMesh(model_path, threads)
        self.frame_stride = (
            frame_stride  # extraction runs the mesh on every k-th frame with a face (see features.visual_pass)
        )
        if frame_stride != 1:
            self.version = f"{FaceGeometryEncoder.version}.stride{frame_stride}"

    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame levels in the deviation columns' places too; :meth:`finish_clip` turns those into deviations."""
        if len(crops) == 0:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, 0), np.float32)
        landmarks, _ = self.mesh(crops)
        upper, lower = measures(face_frame(landmarks))
        embedding = np.concatenate([upper, upper, lower, lower], axis=1)
        return embedding, np.zeros((len(crops), 0), np.float32)

    def finish_clip(self, embeddings: np.ndarray, face_mask: np.ndarray) -> np.ndarray:
        """Deviation columns = level minus the clip's median over frames with a face (identity normalisation)."""
        return with_deviations(embeddings, face_mask, self.groups.values())


def with_deviations(stream: np.ndarray, face_mask: np.ndarray, groups) -> np.ndarray:
    """``stream`` with the deviation half of each ``(start, stop)`` group (levels, then deviations) recomputed:
    level minus its median over the frames with a face; zero where there is no face."""
    out = stream.copy()
    if not face_mask.any():
        return out
    for start, stop in groups:
        count = (stop - start) // 2
        level = stream[:, start : start + count]
        resting = np.median(level[face_mask], axis=0)
        out[:, start + count : stop] = np.where(face_mask[:, None], level - resting, 0.0)
    return out


def geometry_columns(visual_encoder: str, visual_groups) -> tuple[tuple[int, int], ...]:
    """The ``(start, stop)`` column groups of ``face-geometry`` in a record's visual stream (empty without it).
    ``visual_groups``: the record's ``meta["visual_groups"]`` (names ``upper`` / ``lower`` for the encoder
    alone, ``face-geometry/upper`` ... inside a combination)."""
    groups = dict(visual_groups or {})
    if visual_encoder == GEOMETRY_ID:
        return tuple(tuple(columns) for columns in groups.values())
    return tuple(tuple(columns) for name, columns in groups.items() if name.startswith(f"{GEOMETRY_ID}/"))


def respan(visual: np.ndarray, face_mask: np.ndarray, columns: tuple[tuple[int, int], ...]) -> np.ndarray:
    """A span of a recorded visual stream (e.g. the silence-trimmed clip) with the ``face-geometry`` deviations
    (``columns``: :func:`geometry_columns`) taken from the span's own median, as if the span had been extracted
    alone; the other streams are per frame and stay as they are."""
    return with_deviations(visual, face_mask, columns) if columns else visual
