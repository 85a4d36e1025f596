"""The silence-trimmed variant never sees the trimmed lead-in in any feature."""

import dataclasses

import bench_records
import numpy as np

from emoboost.data.manifest import ManifestRow
from emoboost.encoders.speech import EgemapsEncoder
from emoboost.features.store import FeatureRecord, FeatureStore
from emoboost.features.version import key_prefix
from emoboost.models.tokens import tokenize
from emoboost.training.clips import FoldClip, load_fold

ENCODER = EgemapsEncoder()


def _loaded(tmp_path, row: ManifestRow, arrays: dict, meta: dict) -> FoldClip:
    """``row``'s clip through the fold loader, its record holding ``arrays`` and ``meta``."""
    store = FeatureStore(tmp_path / "store")
    video = tmp_path / "data" / row.path
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(b"clip")
    store.put(FeatureRecord(arrays, {**meta, "sha256": store.content_hash(video)}), key_prefix() + "g" * 16)
    fold = load_fold([row], store, tmp_path / "data", token_frames=5, silence_db=-45.0)
    ((clip,),) = fold.splits.values()
    return clip


def _egemaps(raw: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """The egemaps embedding as the encoder builds it from descriptors (clip z-scores, deltas, signed log, voicing)."""
    return ENCODER.embed(raw, voiced).astype(np.float32)


def test_trimmed_clip_equals_a_clip_extracted_without_its_lead_in(tmp_path):
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
    row = ManifestRow("real/x.mp4", 0, "RVRA", "real", "real", "x", ("x",), split="train")
    clip = _loaded(tmp_path, row, arrays, record.meta)
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


def test_trimmed_face_geometry_is_normalised_over_the_kept_span_only(tmp_path):
    """face-geometry's deviation columns come from the clip median; the trimmed clip's from the span's median;
    the other visual streams are per frame and only cut."""
    from emoboost.encoders.face_geometry import with_deviations

    rng = np.random.default_rng(1)
    frames, lead_in = bench_records.FRAMES, 10
    groups = {"face-geometry/upper": [0, 6], "face-geometry/lower": [6, 10], "fer-minixception/embedding": [10, 16]}
    levels = rng.normal(size=(frames, 16)).astype(np.float32)
    levels[:lead_in, :10] += 30.0  # a lead-in whose geometry would move the clip median
    face_mask = np.ones(frames, bool)
    face_mask[frames // 2 : frames // 2 + 5] = False
    columns = [tuple(v) for k, v in groups.items() if k.startswith("face-geometry/")]
    base = bench_records.record("real", "1" * 64, rng)
    arrays = {**base.arrays, "visual": with_deviations(levels, face_mask, columns), "face_mask": face_mask}
    arrays["audio_rms_db"] = np.r_[np.full(lead_in, -90.0), np.full(frames - lead_in, -20.0)].astype(np.float32)
    meta = {**base.meta, "visual_encoder": "face-geometry+fer-minixception", "visual_groups": groups}
    record = FeatureRecord(arrays, meta)
    row = ManifestRow("real/x.mp4", 0, "RVRA", "real", "real", "x", ("x",), split="train")
    clip = _loaded(tmp_path, row, arrays, meta)
    assert clip.trimmed_frames == lead_in
    alone = with_deviations(levels[lead_in:], face_mask[lead_in:], columns)  # the span extracted by itself
    expected = tokenize(alone, clip.trimmed.emo.tokens.speech, face_mask[lead_in:], 5).visual
    np.testing.assert_allclose(clip.trimmed.emo.tokens.visual, expected, atol=1e-6)
    assert not np.allclose(  # without the span rule the deviations would keep the lead-in's median
        tokenize(record.visual[lead_in:], clip.trimmed.emo.tokens.speech, face_mask[lead_in:], 5).visual, expected
    )
