"""The real-only consistency detector inside a Detector: saved, loaded, scored per clip and per window, fused,
and absent without changing anything for a detector that has none."""

from __future__ import annotations

import dataclasses

import detector_fixture
import numpy as np
import pytest

from emoboost.detector.detector import Detector
from emoboost.detector.outputs import flat_row
from emoboost.features.store import FeatureRecord
from emoboost.models.consistency import affect_tokens, window_inconsistency
from emoboost.models.lowlevel import AcousticConfig, RGBConfig


def _with_voice_of(record: FeatureRecord, other: FeatureRecord) -> FeatureRecord:
    """``record``'s face with ``other``'s voice streams (what muxing another audio track does to the features)."""
    arrays = dict(record.arrays)
    for name in ("speech", "audio_rms_db", "logmel"):
        arrays[name] = other.arrays[name]
    return dataclasses.replace(record, arrays=arrays)


def _other_record(seed: int) -> FeatureRecord:
    record = detector_fixture.tiny_record()
    rng = np.random.default_rng(seed)
    arrays = dict(record.arrays)
    arrays["speech"] = rng.normal(size=arrays["speech"].shape).astype(np.float32)
    arrays["audio_rms_db"] = rng.uniform(-60, -10, arrays["audio_rms_db"].shape).astype(np.float32)
    return dataclasses.replace(record, arrays=arrays)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Detector:
    return Detector.from_pretrained(detector_fixture.tiny_detector(tmp_path_factory.mktemp("d") / "tiny"))


def test_the_clip_score_is_the_mean_window_score_and_each_segment_carries_its_windows(loaded):
    record = detector_fixture.tiny_record()
    verdict = loaded.predict_record(record)
    assert loaded.consistency is not None and loaded.fusion.inputs[-1] == "consistency"
    windows, starts = window_inconsistency(loaded.consistency, affect_tokens(record))
    assert verdict.scores["consistency"] == pytest.approx(float(windows.mean()), abs=1e-5)
    # the tiny detector's EmoForensics and consistency windows are the same grid (10 tokens every 5)
    assert [s.consistency for s in verdict.segments] == pytest.approx(list(windows), abs=1e-5)
    assert len(starts) == len(verdict.segments)
    assert "consistency" in verdict.provenance["llr_contributions"]
    assert flat_row(verdict.to_dict())["score_consistency"] == verdict.scores["consistency"]


def test_another_voice_moves_the_consistency_score_and_not_the_face_detector(loaded):
    record = detector_fixture.tiny_record()
    own, swapped = loaded.predict_record(record), loaded.predict_record(_with_voice_of(record, _other_record(1)))
    assert swapped.scores["consistency"] != pytest.approx(own.scores["consistency"], abs=1e-4)
    assert swapped.scores["rgb"] == pytest.approx(own.scores["rgb"])


def test_saving_and_loading_keep_the_consistency_scores(loaded, tmp_path):
    record = detector_fixture.tiny_record()
    again = Detector.from_pretrained(loaded.save_pretrained(tmp_path / "again"))
    assert again.predict_record(record).scores == loaded.predict_record(record).scores
    assert (tmp_path / "again" / "consistency.safetensors").is_file()
    assert "trained on real clips only" in (tmp_path / "again" / "README.md").read_text()


def test_a_detector_without_one_is_unchanged(tmp_path):
    detector = Detector.untrained(
        emo_config=detector_fixture.TINY,
        rgb_config=RGBConfig(width=8),
        acoustic_config=AcousticConfig(channels=(8, 8, 8)),
    )
    folder = detector.save_pretrained(tmp_path / "plain")
    assert not (folder / "consistency.safetensors").exists()
    loaded = Detector.from_pretrained(folder)
    verdict = loaded.predict_record(detector_fixture.tiny_record())
    assert loaded.consistency is None and loaded.fusion.inputs == ("emo", "rgb", "acoustic")
    assert "consistency" not in verdict.scores and all(s.consistency is None for s in verdict.segments)
    assert verdict.provenance["consistency_real_band"] is None
    assert flat_row(verdict.to_dict())["score_consistency"] is None
    assert "real clips only" not in (folder / "README.md").read_text()


def test_the_real_band_reaches_the_verdict_timeline_and_case_report(loaded, tmp_path):
    from emoboost.detector.case_report import window_rows
    from emoboost.detector.timeline import panel_names, plot_timeline

    detector = Detector(
        loaded.emo, loaded.rgb, loaded.acoustic, loaded.fusion, loaded.extract_config,
        {**loaded.meta, "training": {"consistency": {"real_band": [-1.5, 0.25]}}}, loaded.consistency,
    )  # fmt: skip
    verdict = detector.predict_record(detector_fixture.tiny_record())
    assert verdict.provenance["consistency_real_band"] == [-1.5, 0.25]
    assert panel_names(verdict)[-1] == "face-voice inconsistency"
    assert plot_timeline(verdict, tmp_path / "t.png").stat().st_size > 1000
    head, _ = window_rows(verdict)
    assert "face-voice inconsistency (real calibration windows: -1.50 to +0.25)" in head
