"""SynthAV v2 (kept reproducible; v3 has its own tests): clips decode, show a detectable face, carry speech,
are labelled by what was done to them,
cross the two factors in every fake category, and leave no pause-level shortcut."""

import os
import subprocess
import sys

import numpy as np
import pytest

from emoboost.data.manifest import ARTIFACT_LEVELS, CATEGORIES, emotion_track, read_manifest
from emoboost.data.protocols import check_fold, make_folds
from emoboost.data.synthav import generate
from emoboost.data.synthav_v2 import (
    CLONE_PROSODY,
    SynthConfig,
    cell_of,
    make_identity,
    other_emotions,
    perform,
    respeak,
)
from emoboost.media.decode import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME, MediaReader
from emoboost.media.faces import FaceDetector
from emoboost.metrics import auc

V2_SET = SynthConfig(identities=3, clips_per_identity=1, seconds=3.0, seed=7, version=2)


@pytest.fixture(scope="module")
def synthav(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthav")
    rows = generate(out, V2_SET)
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
        assert row.path.split("/")[0] in {
            "RealVideo-RealAudio",
            "RealVideo-FakeAudio",
            "FakeVideo-RealAudio",
            "FakeVideo-FakeAudio",
        }
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
        level_db = 10 * np.log10((audio.reshape(-1, SAMPLES_PER_FRAME) ** 2).mean(axis=1) + 1e-12)
        assert (level_db > np.percentile(level_db, 10) + 10).mean() > 0.4, (
            row.path
        )  # speech over the room tone (quiet sad phrases and word gaps included)
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
        # FVRA-WL lip-syncs the video to another real recording of the same person (other words)
        assert (audio_change > 0.5) == (row.audio_fake or row.category == "FVRA-WL"), (row.path, audio_change)


def _regions(out, row, real):
    """Largest 4x4-pooled change per frame in the brow/eye rows and in the mouth rows, averaged over frames."""
    change = np.abs(_pooled(_load(out, row)[1]) - _pooled(_load(out, real)[1])).max(axis=(2, 3))  # [T, rows]
    return change[:, 15:29].max(axis=1).mean(), change[:, 34:47].max(axis=1).mean()


def test_lipsync_redraws_only_the_mouth_and_face_swap_the_face(synthav):
    out, rows = synthav
    reals = {r.identity: r for r in rows if r.category == "real"}
    for row in rows:
        upper, mouth = _regions(out, row, reals[row.identity]) if row.label else (0, 0)
        if row.category in ("FVRA-WL", "FVFA-WL"):
            assert upper < 35 and mouth > 50, (row.path, upper, mouth)  # measured: upper 9-25, mouth 60-130
        elif row.category in ("FVFA-FS", "FVFA-GAN"):
            assert upper > 100, (row.path, upper)  # another person's eyes and brows


def test_every_fake_category_crosses_both_factors(synthav):
    cells = {(c, cell_of(s, c).emotion_mismatch, cell_of(s, c).artifact) for s in range(6) for c in CATEGORIES}
    assert len(cells) == len(CATEGORIES) * 2 * len(ARTIFACT_LEVELS)
    out, rows = synthav
    for row in read_manifest(out / "manifest.csv"):
        assert emotion_track(row.emotion) and emotion_track(row.emotion)[0][0] == 0.0
        if row.label:
            assert row.emotion_mismatch in ("0", "1") and row.artifact in ARTIFACT_LEVELS
        else:
            assert row.emotion_mismatch == "" and row.artifact == ""


def test_pause_floor_does_not_separate_real_from_fake(synthav):
    """The same room tone under every clip: the quietest frames carry no label (v1: -100 dBFS real vs -72..-95 fake)."""
    out, rows = synthav
    floors = []
    for row in rows:
        audio = _load(out, row)[2]
        level_db = 10 * np.log10((audio.reshape(-1, SAMPLES_PER_FRAME) ** 2).mean(axis=1) + 1e-12)
        floors.append(np.percentile(level_db, 10))
    score = auc(np.array([r.label for r in rows]), np.array(floors))
    assert max(score, 1 - score) <= 0.6, score
    assert max(floors) < -40  # a room, not digital silence and not speech


def test_voice_clone_keeps_words_and_timing_with_flatter_prosody():
    identity, other = make_identity(0, 3), make_identity(1, 3)
    real = perform(identity, np.random.default_rng(5), 6.0)
    assert np.allclose(real.weights.sum(axis=1), 1) and sum(p.samples for p in real.phrases) >= len(real.audio)
    same = [p.emotion for p in real.phrases]
    clone = respeak(real, other.voice, identity.pitch, identity.speed, 6.0, CLONE_PROSODY, same)
    assert [p.words for p in clone.phrases] == [p.words for p in real.phrases]
    assert [p.samples for p in clone.phrases] == [p.samples for p in real.phrases]  # time-locked: the lips still fit
    assert clone.track() == real.track()
    mismatched = other_emotions(real.phrases, np.random.default_rng(0))
    assert all(a != b for a, b in zip(mismatched, same, strict=False))

    def phrase_levels(performance):
        starts = np.cumsum([0] + [p.samples for p in performance.phrases])
        return [
            20 * np.log10(np.sqrt(np.mean(performance.audio[a:b] ** 2)) + 1e-9)
            for a, b in zip(starts, starts[1:], strict=False)
            if b - a > SAMPLE_RATE // 4
        ]

    if len(set(same)) > 1:
        assert np.ptp(phrase_levels(clone)) < np.ptp(phrase_levels(real))  # the emotional level swings are flattened


def test_deterministic_and_resumable(synthav, tmp_path):
    out, rows = synthav
    # drawn in two processes: the same rows in the same order, the same clips
    again = generate(tmp_path, V2_SET, workers=2)
    assert again == rows
    first = rows[0]
    for row in (first, rows[-1]):
        np.testing.assert_array_equal(_load(out, row)[2], _load(tmp_path, row)[2])
        np.testing.assert_array_equal(_load(out, row)[1][::25], _load(tmp_path, row)[1][::25])
    before = (tmp_path / first.path).stat().st_mtime_ns
    generate(tmp_path, V2_SET)
    assert (tmp_path / first.path).stat().st_mtime_ns == before  # finished clips are not redone


def test_folds_on_synthav_are_valid(synthav):
    _, rows = synthav
    for fold in make_folds(rows):
        check_fold(fold)


@pytest.mark.slow
def test_cli_synth_writes_clips_manifest_and_folds(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "emoboost.cli",
            "synth",
            str(tmp_path / "set"),
            "--identities",
            "2",
            "--clips-per-identity",
            "1",
            "--seconds",
            "2",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 1, result.stderr  # two people cannot fill four splits: said per fold
    assert "24 clips" in result.stdout and "FVFA-GAN" in result.stdout  # v3: 1 real + 2 x 5 fakes + 1 emotion-only
    assert result.stderr.count("warning fold ") == 5 and "cannot be benchmarked" in result.stderr
    assert len(read_manifest(tmp_path / "set" / "manifest.csv")) == 24
    assert sorted(p.stem for p in (tmp_path / "set" / "folds").glob("*.csv")) == sorted(CATEGORIES)


def test_cli_synth_refuses_an_unknown_version_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "emoboost.cli", "synth", str(tmp_path / "set"), "--synthav-version", "4"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "SynthAV version 4 does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "set").exists()


def test_cli_synth_real_only_writes_real_clips_and_no_folds(tmp_path):
    from emoboost.cli import run

    out = tmp_path / "real"
    assert run(["synth", str(out), "--identities", "2", "--clips-per-identity", "1", "--seconds", "1",
                "--real-only"]) == 0  # fmt: skip
    rows = read_manifest(out / "manifest.csv")
    assert len(rows) == 2 and {r.category for r in rows} == {"real"} and not (out / "folds").exists()
    assert all((out / r.path).is_file() for r in rows)
    assert run(["synth", str(tmp_path / "x"), "--real-only", "--protocol", "p.yaml"]) != 0
