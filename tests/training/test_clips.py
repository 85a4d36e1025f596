"""The clip loader reads what the records hold, cut by the one span rule; checks encoders, counts missing features."""

import dataclasses

import numpy as np
import pytest
import torch
from fakeavceleb_shape import ENCODERS, random_record

from emoboost.data.manifest import ManifestRow
from emoboost.encoders.face_geometry import geometry_columns
from emoboost.features.store import FeatureStore
from emoboost.features.version import key_prefix
from emoboost.media.timebase import MEL_PER_FRAME
from emoboost.models.emoforensics import EmoForensicsConfig
from emoboost.models.tokens import tokenize_record
from emoboost.training.clips import open_clips, span_tokens
from emoboost.training.emoforensics import LabelledClip, _training_batches
from emoboost.training.loop import TrainConfig

KEY = key_prefix() + "k" * 16


def _store(tmp_path, n=12, seed=0, encoders=None, skip=()):
    rng = np.random.default_rng(seed)
    store, root, rows, records = FeatureStore(tmp_path / "store"), tmp_path / "data", [], {}
    for i in range(n):
        path = f"RealVideo-RealAudio/African/men/id{i:05d}/{i:05d}.mp4"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(f"clip {i}".encode())
        label = i % 2
        rows.append(
            ManifestRow(
                path,
                label,
                "FVFA" if label else "RVRA",
                "FVFA-FS" if label else "real",
                "",
                f"id{i:05d}",
                (f"id{i:05d}",),
                split=("train", "val")[i % 4 == 3],
            )
        )
        if i in skip:
            continue
        record = random_record(
            rng, store.content_hash(root / path), float(rng.uniform(3, 15)), encoders if i == n - 1 else None
        )
        if i == 1:  # a clip without a face: no crops at all
            arrays = {**record.arrays, "face_crops": record.face_crops[:0], "crop_frames": record.crop_frames[:0]}
            record = type(record)(arrays, record.meta)
        store.put(record, KEY)
        records[path] = record
    return store, root, rows, records


def test_lazy_batches_equal_eager_batches(tmp_path):
    store, root, rows, records = _store(tmp_path)
    config = EmoForensicsConfig(window_tokens=20, hop_tokens=10)
    eager = [
        LabelledClip(r.path, tokenize_record(records[r.path], 5), r.label, r.video_fake, r.audio_fake) for r in rows
    ]
    loader = open_clips(rows, store, root, 5)
    lazy = [loader.emo(c) for c in loader.clips]
    train = TrainConfig(batch_size=5, windows_per_video=3)
    for epoch in (1, 2):
        pairs = zip(
            _training_batches(eager, config, train)(epoch, np.random.default_rng(epoch)),
            _training_batches(lazy, config, train)(epoch, np.random.default_rng(epoch)),
            strict=False,
        )
        count = 0
        for (arrays_e, labels_e), (arrays_l, labels_l) in pairs:
            assert all(torch.equal(a, b) for a, b in zip(arrays_e, arrays_l, strict=False)) and torch.equal(
                labels_e, labels_l
            )
            count += 1
        assert count == -(-len(rows) * 3 // 5)


def test_lazy_inputs_equal_the_records_cut_by_the_span_rule_also_trimmed(tmp_path):
    store, root, rows, records = _store(tmp_path)
    loader = open_clips(rows, store, root, 5, silence_db=-45.0)
    assert any(c.trim_start > 0 for c in loader.clips)
    for clip in loader.clips:
        record = records[clip.row.path]
        for trimmed in (False, True):
            start = clip.trim_start if trimmed else 0
            crops = record.face_crops[record.crop_frames >= start]
            logmel = record.logmel[start * MEL_PER_FRAME :]
            lazy_low = loader.lowlevel(clip, trimmed)
            assert len(lazy_low.crops) == len(crops)
            assert np.array_equal(np.asarray(lazy_low.crops), crops) and np.array_equal(lazy_low.logmel, logmel)
            if len(crops) > 2:
                assert np.array_equal(lazy_low.crops[1], crops[1]) and np.array_equal(lazy_low.crops[-1], crops[-1])
                assert np.array_equal(lazy_low.crops[1:3], crops[1:3])
            version = record.speech_encoder_version if record.speech_encoder == "egemaps" else ""
            geometry = geometry_columns(record.visual_encoder, record.meta.get("visual_groups"))
            expected = span_tokens(
                record.visual, record.speech, record.face_mask, record.audio_mask, start, 5, version, geometry
            )
            lazy_tokens = loader.emo(clip, trimmed).tokens
            assert all(
                np.array_equal(getattr(lazy_tokens, f), getattr(expected, f))
                for f in ("visual", "speech", "visual_mask", "speech_mask")
            )


def test_missing_features_are_counted_per_split_and_category(tmp_path):
    store, root, rows, _ = _store(tmp_path, skip=(0, 1, 3))
    loader = open_clips(rows, store, root, 5)
    assert len(loader.clips) == len(rows) - 3
    assert loader.missing_counts() == {"train": {"FVFA-FS": 1, "real": 1}, "val": {"FVFA-FS": 1}}
    assert loader.encoders == {
        "visual": "face-geometry+fer-minixception",
        "visual_version": "1",
        "speech": "egemaps",
        "speech_version": "1",
    }


def test_clips_from_other_encoders_are_refused(tmp_path):
    from emoboost.errors import StoreError

    store, root, rows, _ = _store(tmp_path, encoders={**ENCODERS, "speech_encoder_version": "2"})
    with pytest.raises(StoreError, match="other encoders"):
        open_clips(rows, store, root, 5)


def test_the_vad_trim_rule_cuts_at_the_first_speech_frame_where_the_level_rule_keeps_noise(tmp_path):
    """A clip whose sound rises above silence_db (room noise, a breath) 10 frames before the VAD hears speech: the
    level rule trims the silence only, the VAD rule the noise too, and its trimmed clip's lead-in features are 0."""
    from emoboost.errors import ConfigError
    from emoboost.features.store import FeatureRecord

    store, root, rows, records = _store(tmp_path, n=4)
    path = rows[0].path
    record = records[path]
    levels, heard = record.audio_rms_db.copy(), np.zeros(record.n_frames, bool)
    levels[:5], levels[5:] = -70.0, -30.0  # silent for 5 frames, then noise, then speech
    heard[15:] = True
    arrays = {**record.arrays, "audio_rms_db": levels, "audio_mask": heard}
    store.put(FeatureRecord(arrays, record.meta), KEY)  # replaces the row's record (same content hash and key)
    by_rule = {}
    for rule in ("level", "vad"):
        loader = open_clips(rows[:1], store, root, 5, silence_db=-45.0, trim_rule=rule)
        by_rule[rule] = loader.clips[0]
    assert by_rule["level"].trim_start == 5 and by_rule["vad"].trim_start == 15
    assert by_rule["vad"].lead_in == by_rule["level"].lead_in == (5, 15)  # what a shortcut reads, as recorded
    from emoboost.training.clips import load_fold

    fold = load_fold([dataclasses.replace(rows[0], split="test")], store, root, 5, -45.0, "vad")
    (clip,) = fold.splits["test"]
    assert clip.shortcut_features(trimmed=True)[:2] == (0.0, 0.0)  # nothing left before the speech
    assert clip.shortcut_features(trimmed=False)[:2] == (5 / 25, 15 / 25)
    with pytest.raises(ConfigError, match="trim rule 'onset'"):
        open_clips(rows[:1], store, root, 5, silence_db=-45.0, trim_rule="onset")


def test_the_trim_rule_enters_a_folds_fingerprint_only_away_from_its_default():
    import dataclasses as dc

    from emoboost.benchmark.config import BenchmarkConfig, fingerprint_settings
    from emoboost.errors import ConfigError

    config = BenchmarkConfig()
    assert "trim_rule" not in fingerprint_settings(config)  # fold results stored before the rule existed stay valid
    assert fingerprint_settings(dc.replace(config, trim_rule="vad"))["trim_rule"] == "vad"
    with pytest.raises(ConfigError, match="trim_rule must be one of level, vad"):
        dc.replace(config, trim_rule="onset").validate()
