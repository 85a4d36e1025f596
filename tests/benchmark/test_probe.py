"""emoboost probe: identity-held-out linear probes read emotion only where the features carry it."""

import json

import numpy as np
import pytest

from emoboost.benchmark.probe import ProbeConfig, frame_labels, run_probe, token_labels
from emoboost.cli import run
from emoboost.data.manifest import ManifestRow, format_track, read_manifest, write_manifest
from emoboost.errors import ConfigError
from emoboost.features.store import FeatureRecord, FeatureStore
from emoboost.features.version import key_prefix

EMOTIONS = ("angry", "happy", "neutral", "sad")
FPS = 25


def _store(tmp_path, clips_per_identity=8, identities=6, track=False, leak=False):
    """Clips whose ``visual`` encodes the emotion (plus an identity offset), ``speech`` only noise.

    ``leak``: every identity acts a single emotion, and ``speech`` encodes the identity only.
    ``geometry`` column 0 is a mouth-opening signal that ``visual`` also carries.
    """
    rng = np.random.default_rng(0)
    store = FeatureStore(tmp_path / "store")
    rows, n_frames = [], 50
    centres = rng.normal(0, 1, (len(EMOTIONS), 16))
    for i in range(identities):
        offset, code = rng.normal(0, 0.5, 16), rng.normal(0, 3, 8)
        for k in range(clips_per_identity):
            path = f"clips/id{i}_{k}.mp4"
            (tmp_path / "clips").mkdir(exist_ok=True)
            (tmp_path / path).write_bytes(f"{i}-{k}".encode())
            emotions = (
                [EMOTIONS[i % len(EMOTIONS)]] if leak else list(rng.choice(EMOTIONS, 2 if track else 1, replace=False))
            )
            segments = [(0.0, emotions[0])] + ([(1.0, emotions[1])] if track else [])
            labels = frame_labels(segments, n_frames, FPS)
            mouth = rng.uniform(0, 1, n_frames).astype(np.float32)
            visual = (
                np.stack([centres[EMOTIONS.index(e)] for e in labels]) + offset + rng.normal(0, 0.8, (n_frames, 16))
            )
            visual[:, 0] += 4 * mouth
            speech = (code if leak else 0) + rng.normal(0, 1, (n_frames, 8))
            arrays = {
                "visual": visual.astype(np.float32),
                "speech": np.broadcast_to(speech, (n_frames, 8)).astype(np.float32),
                "face_mask": np.ones(n_frames, np.uint8), "geometry": np.stack([mouth, mouth * 0], axis=1),
            }  # fmt: skip
            sha = store.content_hash(tmp_path / path)
            store.put(FeatureRecord(arrays, {"n_frames": n_frames, "fps": FPS, "sha256": sha}), key_prefix() + "test")
            emotion = format_track(segments) if track else emotions[0]
            rows.append(ManifestRow(path, 0, "RVRA", "real", "real", f"id{i}", (f"id{i}",), emotion=emotion))
    write_manifest(tmp_path / "manifest.csv", rows)
    return store, rows


def test_probe_reads_emotion_where_it_is_and_not_where_it_is_not(tmp_path):
    store, rows = _store(tmp_path)
    report = run_probe(rows, store, tmp_path, ProbeConfig(mouth="geometry:0"))
    visual, speech = report.results["visual"], report.results["speech"]
    assert report.unit == "clip" and report.clips == 48 and report.identities == 6
    assert visual.accuracy > 0.9 and visual.chance == 0.25
    assert speech.accuracy < visual.majority + 0.2  # noise stays near the baselines
    assert report.results["visual@token"].accuracy > 0.7  # token means are noisier, still readable
    assert report.results["visual@token"].mouth_r2 > 0.3 and report.results["speech@token"].mouth_r2 < 0.1
    assert report.agreement is not None and report.kappa < 0.2  # a blind voice probe does not agree beyond chance


def test_identity_is_held_out(tmp_path):
    """An identity code predicts emotion perfectly when each actor plays one emotion, unless identities are held out."""
    store, rows = _store(tmp_path, leak=True, identities=8, clips_per_identity=4)
    report = run_probe(rows, store, tmp_path, ProbeConfig(streams=("speech",)))
    assert report.results["speech"].accuracy <= 0.35


def test_tracks_label_tokens_and_drop_the_mixed_ones(tmp_path):
    assert list(token_labels(frame_labels([(0.0, "sad"), (0.4, "happy")], 25, FPS), 5, 0.8)) == [
        "sad",
        "sad",
        "happy",
        "happy",
        "happy",
    ]
    assert list(token_labels(frame_labels([(0.0, "sad"), (0.1, "happy")], 10, FPS), 5, 0.8)) == ["", "happy"]
    store, rows = _store(tmp_path, track=True)
    report = run_probe(rows, store, tmp_path)
    assert report.unit == "token" and "visual@token" not in report.results
    assert report.results["visual"].samples == 48 * 10 and report.results["visual"].accuracy > 0.7


def test_manifest_without_emotions_is_a_clear_error(tmp_path):
    store, rows = _store(tmp_path, identities=2, clips_per_identity=1)
    plain = [ManifestRow(r.path, 0, "RVRA", "real", "real", r.identity, r.ids) for r in rows]
    with pytest.raises(ConfigError, match="emotion"):
        run_probe(plain, store, tmp_path)


def test_cli_prints_table_and_json_last(tmp_path, capsys):
    _store(tmp_path)
    assert read_manifest(tmp_path / "manifest.csv")[0].emotion in EMOTIONS
    code = run(
        ["probe", str(tmp_path / "manifest.csv"), "--store", str(tmp_path / "store"), "--out", str(tmp_path / "out")]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and lines[0].startswith("| stream")
    summary = json.loads(lines[-1])
    assert {"visual", "speech", "agreement", "clips", "identities"} <= set(summary)
    assert set(summary["visual"]) >= {"accuracy", "chance", "majority"} and summary["clips"] == 48
    assert json.loads((tmp_path / "out" / "probe.json").read_text()) == summary
