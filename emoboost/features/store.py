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
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from emoboost.cache import atomic_path, sha256_file, write_json_atomic
from emoboost.features import version
from emoboost.errors import StoreError

STORE_FORMAT = 1


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
        metadata = {name: json.dumps(value, sort_keys=True) for name, value in self.meta.items()}
        with atomic_path(path) as part:
            save_file(arrays, str(part), metadata=metadata)

    @classmethod
    def load(cls, path: str | Path) -> FeatureRecord:
        """Read a record written by :meth:`save` (no pickle involved)."""
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="numpy") as handle:
                meta = {name: json.loads(value) for name, value in (handle.metadata() or {}).items()}
                arrays = {name: handle.get_tensor(name) for name in handle.keys()}
        except (OSError, ValueError, SafetensorError) as exc:
            raise StoreError(f"{path}: unreadable feature record ({exc})") from exc
        return cls(arrays, meta)


class FeatureStore:
    """A directory of :class:`FeatureRecord` s; see the module docstring for the layout."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        marker = self.root / "store.json"
        if marker.exists():
            info = json.loads(marker.read_text())
            if info.get("format") != STORE_FORMAT:
                raise StoreError(f"{self.root}: feature store format {info.get('format')} is not supported (expected {STORE_FORMAT})")

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
        entry = self.root / "hashes" / f"{hashlib.sha1(str(video_path).encode()).hexdigest()}.json"
        if entry.exists():
            try:
                cached = json.loads(entry.read_text())
                if cached["size"] == stat.st_size and cached["mtime_ns"] == stat.st_mtime_ns:
                    return str(cached["sha256"])
            except (ValueError, KeyError):
                pass
        digest = sha256_file(video_path)
        self._ensure()
        write_json_atomic(entry, {"path": str(video_path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest})
        return digest

    def has(self, sha256: str, key: str) -> bool:
        return self.record_path(sha256, key).exists()

    def put(self, record: FeatureRecord, key: str) -> Path:
        """Store ``record`` under its content hash and ``key`` (atomic)."""
        self._ensure()
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

    def __iter__(self) -> Iterator[Path]:
        """Paths of all records, sorted."""
        yield from sorted((self.root / "records").glob("*/*.safetensors"))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"FeatureStore({os.fspath(self.root)!r})"
