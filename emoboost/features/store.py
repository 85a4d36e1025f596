"""The feature store: one cached record per (video content, extraction fingerprint).

Layout of a store directory::

    STORE/
      store.json                               format version
      records/<sha[:2]>/<sha256>.<key>.safetensors
      hashes/<sha1 of absolute path>.json      path -> (size, mtime, sha256) cache

A record is a single safetensors file: named arrays (``visual [T, Dv]``, ``speech [T, Da]``,
``face_mask [T]``, ...) plus string metadata (fps, duration, encoder ids and versions, the
source path). ``key`` is the extraction code's version (``v<N>-``) and a fingerprint of everything
else the features depend on (encoder ids and versions, face and decoding settings), so changing an
encoder or the extraction code never returns stale features: records of another extraction version
are not listed (:meth:`FeatureStore.keys_for`), though they stay on disk.
Records are written atomically (temp file + rename): a record either exists whole or not at
all, which is what makes extraction resumable and safe to run from several workers at once.

Every record carries a SHA-256 of its content (each array's name, dtype, shape and bytes, and
the metadata) in its metadata under ``content_sha256``; :meth:`FeatureRecord.load` recomputes
it, so a record truncated, emptied or with flipped bytes (in the arrays or in the header) is a
:class:`~emoboost.errors.StoreError`, never data. :meth:`FeatureStore.has` verifies the record
it finds and deletes a damaged one, so that ``extract`` computes it again. Temporary files left
by a killed writer (``.*.tmp.*``) are never read as records and are removed once they are older
than ``STALE_TEMP_S``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from emoboost.errors import StoreError
from emoboost.features import version
from emoboost.files import atomic_path, sha256_file, write_json_atomic
from emoboost.text import printable

STORE_FORMAT = 1
CHECKSUM_KEY = "content_sha256"
STALE_TEMP_S = 3600.0  # a temporary file this old belongs to no writer still running
SHA256_HEX = 64

logger = logging.getLogger(__name__)


def content_checksum(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    """SHA-256 over every array (name, dtype, shape, bytes, in name order) and the metadata (canonical JSON)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        digest.update(json.dumps([name, value.dtype.str, list(value.shape)]).encode())
        digest.update(value.reshape(-1).view(np.uint8).data)
    digest.update(json.dumps({k: v for k, v in meta.items() if k != CHECKSUM_KEY}, sort_keys=True).encode())
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class FeatureRecord:
    """Features of one video. Arrays are aligned to the 25 fps grid (T rows)."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    @property
    def visual(self) -> np.ndarray:
        """Visual emotion embeddings ``[T, Dv]`` (rows where ``face_mask`` is False are zeros and mean nothing)."""
        return self.arrays["visual"]

    @property
    def speech(self) -> np.ndarray:
        """Speech emotion embeddings ``[T, Da]``."""
        return self.arrays["speech"]

    @property
    def face_mask(self) -> np.ndarray:
        """``[T]`` bool, True where the main face is present."""
        return self.arrays["face_mask"].astype(bool)

    @property
    def audio_mask(self) -> np.ndarray:
        """``[T]`` bool, True where Silero VAD hears speech (all True in records made before the audio mask)."""
        if "audio_mask" not in self.arrays:
            return np.ones(len(self.arrays["face_mask"]), bool)
        return self.arrays["audio_mask"].astype(bool)

    @property
    def expressions(self) -> np.ndarray:
        """Facial-expression probabilities ``[T, C]`` (labels in ``meta['expression_labels']``)."""
        return self.arrays["expressions"]

    @property
    def boxes(self) -> np.ndarray:
        """Main-face boxes ``[T, 4]`` in decoded-frame pixels (NaN where no face)."""
        return self.arrays["boxes"]

    @property
    def audio_rms_db(self) -> np.ndarray:
        """Audio level per grid frame, dBFS ``[T]``."""
        return self.arrays["audio_rms_db"]

    @property
    def face_crops(self) -> np.ndarray:
        """Aligned RGB face crops for the low-level detector, uint8 ``[K, S, S, 3]`` (a few per second)."""
        return self.arrays["face_crops"]

    @property
    def crop_frames(self) -> np.ndarray:
        """Grid frame of each face crop ``[K]``."""
        return self.arrays["crop_frames"]

    @property
    def logmel(self) -> np.ndarray:
        """Log-mel spectrogram of the audio, ``[F, n_mels]`` at 100 Hz (4 rows per grid frame)."""
        return self.arrays["logmel"]

    @property
    def n_frames(self) -> int:
        return int(self.meta["n_frames"])

    @property
    def fps(self) -> float:
        return float(self.meta["fps"])

    @property
    def duration_s(self) -> float:
        return float(self.meta["duration_s"])

    @property
    def sha256(self) -> str:
        return str(self.meta["sha256"])

    @property
    def visual_encoder(self) -> str:
        return str(self.meta["visual_encoder"])

    @property
    def speech_encoder(self) -> str:
        return str(self.meta["speech_encoder"])

    @property
    def visual_encoder_version(self) -> str:
        return str(self.meta["visual_encoder_version"])

    @property
    def speech_encoder_version(self) -> str:
        return str(self.meta["speech_encoder_version"])

    def save(self, path: str | Path) -> None:
        """Write atomically as safetensors (metadata values JSON-encoded)."""
        from safetensors.numpy import save_file

        arrays = {name: np.ascontiguousarray(value) for name, value in self.arrays.items()}
        meta = {name: value for name, value in self.meta.items() if name != CHECKSUM_KEY}
        meta = json.loads(json.dumps(meta, sort_keys=True))  # what load() will read back (tuples become lists)
        meta[CHECKSUM_KEY] = content_checksum(arrays, meta)
        metadata = {name: json.dumps(value, sort_keys=True) for name, value in meta.items()}
        with atomic_path(path) as part:
            save_file(arrays, str(part), metadata=metadata)

    @classmethod
    def load(cls, path: str | Path) -> FeatureRecord:
        """Read a record written by :meth:`save` (no pickle involved) and verify its checksum.

        Raises :class:`~emoboost.errors.StoreError` for a record that is unreadable or damaged."""
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="numpy") as handle:
                meta = {name: json.loads(value) for name, value in (handle.metadata() or {}).items()}
                arrays = {name: handle.get_tensor(name) for name in handle.keys()}
        except (OSError, ValueError, TypeError, SafetensorError) as exc:
            cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StoreError(f"{path}: damaged feature record (unreadable: {cause})") from exc
        stored = meta.get(CHECKSUM_KEY)
        if not isinstance(stored, str):
            raise StoreError(
                f"{path}: feature record without a checksum (written by an older emoboost); extract it again"
            )
        if stored != content_checksum(arrays, meta):
            raise StoreError(f"{path}: damaged feature record (checksum mismatch: its bytes changed after writing)")
        meta.pop(CHECKSUM_KEY)
        return cls(arrays, meta)


class FeatureStore:
    """A directory of :class:`FeatureRecord` s; see the module docstring for the layout."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._cleaned = False
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{printable(self.root)}: not a feature store (a file, not a folder)")
        marker = self.root / "store.json"
        if marker.exists():
            try:
                info = json.loads(marker.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise StoreError(
                    f'{marker}: damaged store marker ({_first_line(exc)}); expected {{"format": {STORE_FORMAT}}}'
                ) from exc
            found = info.get("format") if isinstance(info, dict) else None
            if found != STORE_FORMAT:
                raise StoreError(
                    f"{self.root}: feature store format {found!r} is not supported (expected {STORE_FORMAT})"
                )

    def _ensure(self) -> None:
        marker = self.root / "store.json"
        if not marker.exists():
            write_json_atomic(marker, {"format": STORE_FORMAT})

    def record_path(self, sha256: str, key: str) -> Path:
        return self.root / "records" / sha256[:2] / f"{sha256}.{key}.safetensors"

    def content_hash(self, video_path: str | Path) -> str:
        """SHA-256 of a file, cached by (absolute path, size, mtime) so it is read once."""
        video_path = Path(video_path).resolve()
        stat = video_path.stat()
        entry = (
            self.root / "hashes" / f"{hashlib.sha1(os.fsencode(video_path)).hexdigest()}.json"
        )  # bytes: any file name
        if entry.exists():
            cached = _read_hash_entry(entry)
            if cached is not None and cached["size"] == stat.st_size and cached["mtime_ns"] == stat.st_mtime_ns:
                return cached["sha256"]
        digest = sha256_file(video_path)
        self._ensure()
        write_json_atomic(
            entry, {"path": printable(video_path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
        )
        return digest

    def check(self, sha256: str, key: str) -> tuple[bool, str]:
        """``(intact, damage)``: whether an intact record exists, and what was wrong with a damaged one.

        A damaged record is deleted (and logged), so that the next ``put`` replaces it."""
        path = self.record_path(sha256, key)
        if not path.exists():
            return False, ""
        try:
            FeatureRecord.load(path)
        except StoreError as exc:
            logger.info("%s; it will be extracted again", exc)
            path.unlink(missing_ok=True)
            return False, str(exc)
        return True, ""

    def has(self, sha256: str, key: str) -> bool:
        """Whether an intact record exists (a damaged one is deleted, see :meth:`check`)."""
        return self.check(sha256, key)[0]

    def put(self, record: FeatureRecord, key: str) -> Path:
        """Store ``record`` under its content hash and ``key`` (atomic)."""
        self._ensure()
        self.clean_temporary()
        path = self.record_path(record.sha256, key)
        record.save(path)
        return path

    def keys_for(self, sha256: str) -> list[str]:
        """Extraction keys of this extraction version for which a record of this content exists."""
        folder = self.root / "records" / sha256[:2]
        keys = (p.name[len(sha256) + 1 : -len(".safetensors")] for p in folder.glob(f"{sha256}.*.safetensors"))
        return sorted(key for key in keys if key.startswith(version.key_prefix()))

    def get(self, video_path: str | Path, key: str | None = None) -> FeatureRecord:
        """The record of ``video_path``. ``key`` selects among several extractions of the same file."""
        video_path = Path(video_path)
        if not video_path.is_file():
            raise StoreError(f"{video_path}: file not found")
        return self.get_by_hash(self.content_hash(video_path), key, label=str(video_path))

    def find(self, video_path: str | Path, key: str | None = None) -> FeatureRecord | None:
        """The record of ``video_path``, or None when the file or its features are missing."""
        try:
            return self.get(video_path, key)
        except StoreError:
            return None

    def get_by_hash(self, sha256: str, key: str | None = None, label: str | None = None) -> FeatureRecord:
        label = label or sha256
        if key is None:
            keys = self.keys_for(sha256)
            if not keys:
                raise StoreError(f"{label}: no features in {self.root} (run `emoboost extract` first)")
            if len(keys) > 1:
                raise StoreError(f"{label}: {len(keys)} extractions in {self.root} ({', '.join(keys)}); pass key=")
            key = keys[0]
        path = self.record_path(sha256, key)
        if not path.exists():
            raise StoreError(f"{label}: no features for extraction {key} in {self.root}")
        return FeatureRecord.load(path)

    def clean_temporary(self, older_than_s: float = STALE_TEMP_S) -> int:
        """Delete temporary files left by killed writers (once per store object); returns how many."""
        if self._cleaned:
            return 0
        self._cleaned = True
        removed, now = 0, time.time()
        for folder in ("records/*", "hashes", "."):
            for part in self.root.glob(f"{folder}/.*.tmp*"):
                try:
                    if now - part.stat().st_mtime > older_than_s:
                        part.unlink()
                        removed += 1
                except OSError:
                    continue
        if removed:
            logger.info("%s: removed %d stale temporary file(s)", self.root, removed)
        return removed

    def __iter__(self) -> Iterator[Path]:
        """Paths of all records, sorted (temporary files of writers are not records)."""
        yield from sorted(p for p in (self.root / "records").glob("*/*.safetensors") if not p.name.startswith("."))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"FeatureStore({os.fspath(self.root)!r})"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_hash_entry(entry: Path) -> dict[str, Any] | None:
    """A hash-cache entry, or None (logged) when it is damaged: the hash is then computed again and rewritten."""
    try:
        cached = json.loads(entry.read_text(encoding="utf-8"))
        valid = (
            isinstance(cached, dict)
            and isinstance(cached.get("size"), int)
            and isinstance(cached.get("mtime_ns"), int)
            and isinstance(cached.get("sha256"), str)
            and len(cached["sha256"]) == SHA256_HEX
            and all(c in "0123456789abcdef" for c in cached["sha256"])
        )
    except (OSError, ValueError) as exc:
        logger.warning("%s: damaged hash-cache entry (%s); hashing the file again", entry, _first_line(exc))
        return None
    if not valid:
        logger.warning("%s: damaged hash-cache entry (unexpected content); hashing the file again", entry)
        return None
    return cached
