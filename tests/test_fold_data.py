"""The silence-trimmed variant never sees the trimmed lead-in in any feature."""

import dataclasses

import bench_records
import numpy as np

from emoboost.data.manifest import ManifestRow
from emoboost.encoders.speech import EgemapsEncoder
from emoboost.features.store import FeatureRecord
from emoboost.fold_data import fold_clip
from emoboost.models.tokens import tokenize

ENCODER = EgemapsEncoder()


def _egemaps(raw: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """The egemaps embedding as the encoder builds it from descriptors (clip z-scores, deltas, signed log, voicing)."""
    return ENCODER.embed(raw, voiced).astype(np.float32)


def test_trimmed_clip_equals_a_clip_extracted_without_its_lead_in():
    rng = np.random.default_rng(0)
    frames, lead_in = bench_records.FRAMES, 10
    raw = rng.normal(size=(frames, 25)) * 3 + 5
    raw[:lead_in] = rng.normal(size=(lead_in, 25)) * 40 - 100  # a lead-in unlike the rest, in every descriptor
    voiced = (rng.random(frames) > 0.3).astype(np.float32)
    base = bench_records.record("real", "0" * 64, rng)
    arrays = {**base.arrays, "speech": _egemaps(raw, voiced)}
    arrays["audio_rms_db"] = np.r_[np.full(lead_in, -90.0), np.full(frames - lead_in, -20.0)].astype(np.float32)
    record = FeatureRecord(
        arrays, {**base.meta, "speech_encoder": "egemaps", "speech_encoder_version": ENCODER.version}
    )
    row = ManifestRow("real/x.mp4", 0, "RVRA", "real", "real", "x", ("x",))
    clip = fold_clip(row, record, token_frames=5, silence_db=-45.0)
    assert clip.trimmed_frames == lead_in
    alone = tokenize(
        arrays["visual"][lead_in:], _egemaps(raw[lead_in:], voiced[lead_in:]), record.face_mask[lead_in:], 5
    )
    trimmed = clip.trimmed.emo.tokens
    np.testing.assert_allclose(trimmed.speech, alone.speech, atol=1e-4)
    np.testing.assert_array_equal(trimmed.visual, alone.visual)
    assert len(clip.trimmed.lowlevel.logmel) == (frames - lead_in) * 4
    assert record.crop_frames[record.crop_frames >= lead_in].size == len(clip.trimmed.lowlevel.crops)
    # the untrimmed clip's speech tokens differ: its z-scores were taken over the lead-in too
    assert not np.allclose(clip.original.emo.tokens.speech[lead_in // 5 :], alone.speech, atol=1e-2)
    assert dataclasses.asdict(clip.original.row) == dataclasses.asdict(row)
