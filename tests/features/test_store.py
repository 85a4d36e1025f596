"""Feature-store integrity: damaged records, metadata and leftovers never turn into data or tracebacks."""

import json
import os
import time

import numpy as np
import pytest

from emoboost import errors
from emoboost.features import FeatureRecord, FeatureStore
from emoboost.features.extract import extract_many

SHA = "ab" * 32


def small_record(sha256: str = SHA) -> FeatureRecord:
    rng = np.random.default_rng(0)
    arrays = {
        "visual": rng.normal(size=(50, 8)).astype(np.float32),
        "face_mask": np.ones(50, bool),
        "logmel": rng.normal(size=(200, 4)).astype(np.float16),
    }
    return FeatureRecord(arrays, {"sha256": sha256, "n_frames": 50, "fps": 25, "duration_s": 2.0, "labels": ("a", "b")})


def flip(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def header_size(path) -> int:
    return 8 + int.from_bytes(path.read_bytes()[:8], "little")


DAMAGE = {
    "truncated to half": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "emptied": lambda p: p.write_bytes(b""),
    "byte flipped in the arrays": lambda p: flip(p, header_size(p) + 17),
    "last byte flipped": lambda p: flip(p, p.stat().st_size - 1),
    "byte flipped in the header": lambda p: flip(p, header_size(p) - 20),
    "header length flipped": lambda p: flip(p, 0),
}


def test_record_round_trip_is_verified(tmp_path):
    store = FeatureStore(tmp_path)
    path = store.put(small_record(), "k1")
    record = store.get_by_hash(SHA, "k1")
    np.testing.assert_array_equal(record.visual, small_record().visual)
    assert record.meta["labels"] == ["a", "b"] and "content_sha256" not in record.meta
    assert store.has(SHA, "k1") and path.exists()


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_record_is_never_returned(tmp_path, damage):
    store = FeatureStore(tmp_path)
    path = store.put(small_record(), "k1")
    DAMAGE[damage](path)
    with pytest.raises(errors.StoreError, match="damaged feature record") as caught:
        store.get_by_hash(SHA, "k1")
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    intact, cause = store.check(SHA, "k1")
    assert not intact and "damaged feature record" in cause
    assert not path.exists()  # deleted, so that extract writes it again


def test_record_without_checksum_is_refused(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "old.safetensors"
    save_file({"visual": np.zeros((2, 2), np.float32)}, str(path), metadata={"sha256": json.dumps(SHA)})
    with pytest.raises(errors.StoreError, match="without a checksum"):
        FeatureRecord.load(path)


@pytest.mark.parametrize("content", [b'{"form', b"", b"[1, 2]", b'{"format": 9}', b"\xff\xfe{}"])
def test_damaged_store_marker_is_one_line(tmp_path, content):
    FeatureStore(tmp_path).put(small_record(), "k1")
    (tmp_path / "store.json").write_bytes(content)
    with pytest.raises(errors.StoreError) as caught:
        FeatureStore(tmp_path)
    assert "store.json" in str(caught.value) or "format" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "content", [b"[]", b"{", b"\xff\xff", b'{"size": "1", "mtime_ns": 0, "sha256": "x"}', b'{"size": 0}']
)
def test_damaged_hash_cache_entry_is_recomputed(tmp_path, content):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"some bytes")
    store = FeatureStore(tmp_path / "store")
    digest = store.content_hash(video)
    (entry,) = (tmp_path / "store" / "hashes").iterdir()
    entry.write_bytes(content)
    assert store.content_hash(video) == digest
    assert json.loads(entry.read_text())["sha256"] == digest  # rewritten whole


def test_stale_temporary_files_are_ignored_and_cleaned(tmp_path):
    store = FeatureStore(tmp_path)
    path = store.put(small_record(), "k1")
    stale = path.parent / f".{path.stem}.abc123.tmp.safetensors"
    fresh = path.parent / f".{path.stem}.def456.tmp.safetensors"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    assert list(store) == [path]  # a writer's temporary file is not a record
    store = FeatureStore(tmp_path)
    store.put(small_record("cd" * 32), "k1")
    assert not stale.exists() and fresh.exists()  # another writer may still be using a fresh one


@pytest.mark.parametrize("damage", ["truncated to half", "byte flipped in the arrays"])
def test_extract_recomputes_a_damaged_record(extractor, talking_clip, tmp_path, damage):
    store = FeatureStore(tmp_path / "store")
    assert extract_many([talking_clip], store, extractor).line() == "1 done, 0 skipped, 0 failed"
    (path,) = list(store)
    good = FeatureRecord.load(path)
    DAMAGE[damage](path)
    summary = extract_many([talking_clip], store, extractor)
    assert summary.line() == "1 done, 0 skipped, 0 failed (1 damaged record recomputed)"
    assert (
        summary.outcomes[0].message.startswith("recomputed ")
        and "damaged feature record" in summary.outcomes[0].message
    )
    again = FeatureRecord.load(path)  # extraction is deterministic: the same arrays again
    assert all(np.array_equal(again.arrays[name], good.arrays[name], equal_nan=True) for name in good.arrays)
    assert extract_many([talking_clip], store, extractor).line() == "0 done, 1 skipped, 0 failed"


def test_cli_extract_says_it_recomputed_a_damaged_record(talking_clip, tmp_path, capfd):
    from emoboost.cli import run

    store = tmp_path / "store"
    assert run(["extract", str(talking_clip), "--out", str(store)]) == 0
    (record,) = list(FeatureStore(store))
    DAMAGE["byte flipped in the arrays"](record)
    capfd.readouterr()
    assert run(["extract", str(talking_clip), "--out", str(store)]) == 0
    captured = capfd.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning ")]
    assert len(warnings) == 1 and "recomputed" in warnings[0] and "checksum mismatch" in warnings[0]
    assert "1 done, 0 skipped, 0 failed (1 damaged record recomputed)" in captured.out
    assert FeatureStore(store).get(talking_clip).n_frames == 75
