import os
import subprocess
import sys

import numpy as np
import pytest

import factory
from emoboost import errors
from emoboost.features import FeatureRecord, FeatureStore
from emoboost.features.extract import extract_many, frame_levels_db
from emoboost.media.decode import FPS


def test_record_of_a_talking_clip(extractor, talking_clip, tmp_path):
    record = extractor.extract(talking_clip)
    n_frames = 3 * FPS
    assert record.n_frames == n_frames and record.fps == 25 and record.duration_s == pytest.approx(3.0)
    assert record.visual.shape == (n_frames, 135) and record.speech.shape == (n_frames, 75)
    assert record.face_mask.shape == (n_frames,) and record.face_mask.dtype == bool
    assert record.face_mask.mean() > 0.95
    assert record.expressions.shape == (n_frames, 7)
    # the astronaut smiles in every frame with a face
    happy = record.meta["expression_labels"].index("happy")
    assert record.expressions[record.face_mask, happy].mean() > 0.9
    assert record.visual_encoder == "fer-minixception" and record.speech_encoder == "egemaps"
    assert set(record.meta["timings_s"]) == {"decode", "faces", "crops", "visual", "speech", "lowlevel"}
    # low-level detector inputs: crops every 10th frame with a face, log-mel at 100 Hz
    assert record.face_crops.shape[1:] == (112, 112, 3) and record.face_crops.dtype == np.uint8
    assert set(record.crop_frames.tolist()) == set(np.flatnonzero(record.face_mask)[::1].tolist()) & set(range(0, n_frames, 10))
    assert record.logmel.shape == (n_frames * 4, 64) and np.isfinite(record.logmel.astype(np.float32)).all()
    # masked rows carry no fake face embedding
    assert not record.visual[~record.face_mask].any()


def test_faceless_clip_is_rejected_unless_allowed(extractor, faceless_clip):
    with pytest.raises(errors.NoFaceError, match="no face found in any of 50 frames"):
        extractor.extract(faceless_clip)
    record = extractor.extract(faceless_clip, require_face=False)
    assert not record.face_mask.any() and not record.visual.any()


def test_store_round_trip_and_resume(extractor, talking_clip, faceless_clip, tmp_path, monkeypatch):
    store = FeatureStore(tmp_path / "store")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 100)
    summary = extract_many([talking_clip, faceless_clip, bad, tmp_path / "missing.mp4"], store, extractor)
    assert summary.line() == "1 done, 0 skipped, 3 failed"
    assert [o.status for o in summary.outcomes] == ["done", "failed", "failed", "failed"]
    assert "no face" in summary.outcomes[1].message and "missing.mp4: file not found" in summary.outcomes[3].message

    record = store.get(talking_clip)
    assert record.sha256 == store.content_hash(talking_clip)
    again = extractor.extract(talking_clip)
    np.testing.assert_array_equal(record.visual, again.visual)  # deterministic
    np.testing.assert_array_equal(record.speech, again.speech)
    np.testing.assert_array_equal(record.face_mask, again.face_mask)

    # a second run does not redo the finished file
    monkeypatch.setattr(extractor, "extract", lambda *a, **k: pytest.fail("finished file extracted again"))
    summary = extract_many([talking_clip], store, extractor)
    assert summary.line() == "0 done, 1 skipped, 0 failed"
    assert not [p for p in store.root.rglob("*") if ".tmp" in p.name]


def test_same_content_under_another_name_is_not_extracted_twice(extractor, talking_clip, tmp_path, monkeypatch):
    store = FeatureStore(tmp_path / "store")
    extract_many([talking_clip], store, extractor)
    copy = tmp_path / "renamed copy.mp4"
    copy.write_bytes(talking_clip.read_bytes())
    monkeypatch.setattr(extractor, "extract", lambda *a, **k: pytest.fail("same content extracted again"))
    assert extract_many([copy], store, extractor).line() == "0 done, 1 skipped, 0 failed"
    assert store.get(copy).sha256 == store.get(talking_clip).sha256


def test_crash_while_writing_leaves_nothing(extractor, talking_clip, tmp_path, monkeypatch):
    store = FeatureStore(tmp_path / "store")
    import safetensors.numpy

    def crash(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"half a record")
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.numpy, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        extract_many([talking_clip], store, extractor)
    assert not list(store.root.rglob("*.safetensors")) and not [p for p in store.root.rglob("*") if ".tmp" in p.name]
    with pytest.raises(errors.StoreError, match="run `emoboost extract` first"):
        store.get(talking_clip)


def test_a_new_extraction_version_hides_old_records_without_deleting_them(extractor, talking_clip, tmp_path, monkeypatch):
    from emoboost.features import version

    store = FeatureStore(tmp_path / "store")
    assert extract_many([talking_clip], store, extractor).line() == "1 done, 0 skipped, 0 failed"
    old_key, old_files = extractor.key, list(store)
    assert old_key.startswith(f"v{version.EXTRACTION_VERSION}-") and len(old_files) == 1

    monkeypatch.setattr(version, "EXTRACTION_VERSION", version.EXTRACTION_VERSION + 1)
    assert extractor.key != old_key
    assert store.find(talking_clip) is None  # invisible to readers (train, benchmark, detect) ...
    assert old_files[0].is_file() and list(store) == old_files  # ... but still on disk
    assert extract_many([talking_clip], store, extractor).line() == "1 done, 0 skipped, 0 failed"  # extracted again
    record = store.get(talking_clip)
    assert record.meta["extraction_key"] == extractor.key and record.meta["extraction_version"] == version.EXTRACTION_VERSION
    assert len(store) == 2


def test_store_rejects_unreadable_records(tmp_path):
    path = tmp_path / "r.safetensors"
    path.write_bytes(b"garbage")
    with pytest.raises(errors.StoreError, match="damaged feature record"):
        FeatureRecord.load(path)


def test_frame_levels():
    audio = np.concatenate([np.zeros(640), 0.5 * np.ones(640)]).astype(np.float32)
    levels = frame_levels_db(audio, 2)
    assert levels[0] == -100.0 and levels[1] == pytest.approx(20 * np.log10(0.5), abs=1e-4)


@pytest.mark.slow
def test_cli_extract_from_a_manifest_and_resume(tmp_path, talking_clip):
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "a.mp4").write_bytes(talking_clip.read_bytes())
    factory.talking_clip(clips / "b é.mp4", seconds=2.0, text="Another voice, another clip.")
    (tmp_path / "manifest.csv").write_text("path,label\na.mp4,0\nb é.mp4,1\nmissing.mp4,1\n")
    command = [sys.executable, "-m", "emoboost.cli", "extract", str(tmp_path / "manifest.csv"), "--root", str(clips), "--out", str(tmp_path / "store")]
    first = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert first.returncode == 1
    assert "2 done, 0 skipped, 1 failed" in first.stdout
    assert first.stderr.strip().splitlines() == [f"error {clips / 'missing.mp4'}: file not found"]
    (clips / "missing.mp4").write_bytes(talking_clip.read_bytes()[:-1] + b"\x00")
    second = subprocess.run(command, capture_output=True, text=True)
    assert "1 done, 2 skipped, 0 failed" in second.stdout and second.returncode == 0
    store = FeatureStore(tmp_path / "store")
    assert len(store) == 3
    assert store.get(clips / "b é.mp4").n_frames == 50


def test_faceless_video_is_given_up_early_and_says_how_much_was_scanned(faceless_clip, monkeypatch):
    import dataclasses

    from emoboost.config import ExtractConfig
    from emoboost.features.extract import FeatureExtractor

    config = ExtractConfig()
    config = dataclasses.replace(config, faces=dataclasses.replace(config.faces, give_up_s=1.0))
    extractor = FeatureExtractor(config)
    with pytest.raises(errors.NoFaceError, match=r"no face found in the first 1 s \(25 frames scanned of 2 s"):
        extractor.extract(faceless_clip)
    record = extractor.extract(faceless_clip, require_face=False)
    assert record.meta["face_scanned_s"] == 1.0 and record.n_frames == 50 and not record.face_mask.any()
