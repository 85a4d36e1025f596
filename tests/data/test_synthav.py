"""SynthAV: clips decode, show a detectable face, carry speech, and are labelled by what was done to them."""

import os
import subprocess
import sys

import numpy as np
import pytest

from emoboost.data.manifest import CATEGORIES, read_manifest
from emoboost.data.protocols import check_fold, make_folds
from emoboost.data.synthav import SynthConfig, generate
from emoboost.media.decode import FPS, SAMPLES_PER_FRAME, MediaReader
from emoboost.media.faces import FaceDetector


@pytest.fixture(scope="module")
def synthav(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthav")
    rows = generate(out, SynthConfig(identities=3, clips_per_identity=1, seconds=3.0, seed=7))
    return out, rows


def _load(out, row):
    reader = MediaReader(out / row.path)
    return reader, np.stack(list(reader.iter_frames())), reader.audio


def test_layout_and_manifest_match_fakeavceleb(synthav):
    out, rows = synthav
    assert len(rows) == 3 * 6
    assert read_manifest(out / "manifest.csv") == sorted(rows, key=lambda r: r.path)
    assert {r.category for r in rows} == {"real", *CATEGORIES}
    for row in rows:
        assert row.path.split("/")[0] in {"RealVideo-RealAudio", "RealVideo-FakeAudio", "FakeVideo-RealAudio", "FakeVideo-FakeAudio"}
        assert row.identity in row.ids and (len(row.ids) == 2) == (row.label == 1)
        assert row.ids[0] in row.path or row.ids[1] in row.path


def test_clips_decode_with_faces_and_speech(synthav):
    out, rows = synthav
    detector = FaceDetector()
    rates = []
    for row in rows:
        reader, frames, audio = _load(out, row)
        assert reader.info.n_frames == 3 * FPS
        found = detector.detect(frames[::5])  # the tracker's keyframes
        rates.append(np.mean([len(f.boxes) > 0 and f.probs.max() > 0.9 for f in found]))
        assert rates[-1] >= 0.7, (row.path, rates[-1])
        level = np.sqrt((audio.reshape(-1, SAMPLES_PER_FRAME) ** 2).mean(axis=1))
        assert (level > 0.01).mean() > 0.5, row.path  # speech in most of the clip
    assert np.mean(rates) >= 0.85  # measured: 0.90 on this set, 0.95 over 96 clips of 16 identities


def _pooled(frames: np.ndarray) -> np.ndarray:
    count, height, width, _ = frames.shape
    return frames.astype(np.float32).reshape(count, height // 4, 4, width // 4, 4, 3).mean(axis=(2, 4))


def test_labels_match_what_was_done(synthav):
    """Each fake against its own real clip: video differs iff video_fake, audio differs iff audio_fake."""
    out, rows = synthav
    reals = {r.identity: r for r in rows if r.category == "real"}
    for row in rows:
        if row.category == "real":
            continue
        _, real_frames, real_audio = _load(out, reals[row.identity])
        _, frames, audio = _load(out, row)
        # 4x4-pooled frames: codec noise (each clip has its own CRF) averages out, a changed face does not
        video_change = np.abs(_pooled(frames) - _pooled(real_frames)).reshape(len(frames), -1).max(axis=1).mean()
        audio_change = np.abs(audio - real_audio).mean() / (np.abs(real_audio).mean() + 1e-9)
        assert (video_change > 50) == row.video_fake, (row.path, video_change)
        assert (audio_change > 0.5) == row.audio_fake, (row.path, audio_change)


def test_deterministic_and_resumable(synthav, tmp_path):
    out, rows = synthav
    again = generate(tmp_path, SynthConfig(identities=3, clips_per_identity=1, seconds=3.0, seed=7))
    assert again == rows
    first = rows[0]
    np.testing.assert_array_equal(_load(out, first)[2], _load(tmp_path, first)[2])
    before = (tmp_path / first.path).stat().st_mtime_ns
    generate(tmp_path, SynthConfig(identities=3, clips_per_identity=1, seconds=3.0, seed=7))
    assert (tmp_path / first.path).stat().st_mtime_ns == before  # finished clips are not redone


def test_folds_on_synthav_are_valid(synthav):
    _, rows = synthav
    for fold in make_folds(rows):
        check_fold(fold)


@pytest.mark.slow
def test_cli_synth_writes_clips_manifest_and_folds(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "emoboost.cli", "synth", str(tmp_path / "set"), "--identities", "2", "--clips-per-identity", "1", "--seconds", "2"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert "12 clips" in result.stdout and "FVFA-GAN" in result.stdout
    assert len(read_manifest(tmp_path / "set" / "manifest.csv")) == 12
    assert sorted(p.stem for p in (tmp_path / "set" / "folds").glob("*.csv")) == sorted(CATEGORIES)
