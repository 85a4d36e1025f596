"""The manifest: one CSV row per video, the same columns for FakeAVCeleb and SynthAV.

Columns: ``path`` (relative to the dataset root), ``label`` (0 real, 1 fake), ``type``
(RVRA / RVFA / FVRA / FVFA), ``category`` (real, RVFA, FVRA-WL, FVFA-FS, FVFA-GAN, FVFA-WL, or
the raw method where it fits none), ``method``, ``identity`` (folder id), ``ids`` (every
identity token of the clip, ``;``-joined), ``race``, ``gender``, ``video_fake``,
``audio_fake``. Fold files add ``split`` (train / val / calib / test).

Optional columns, written only when some row has them and read back when present:
``emotion`` (the clip's acted emotion: one label such as ``angry``, or a track of
``label@start_s`` segments joined by ``;`` such as ``neutral@0.00;happy@1.32``),
``emotion_mismatch`` (``0`` / ``1``: the face's and the voice's emotion trajectories differ)
and ``artifact`` (``none`` / ``weak`` / ``strong`` low-level traces), the two factors of SynthAV;
``generator`` (how a fake was made: SynthAV v3 writes ``<video recipe>+<voice recipe>``) and
``scenario`` (the recording a clip derives from: a real clip and its fakes share it, so the two
mismatch levels of a category are a paired contrast); ``fake_segments`` (where a partly fake clip is
fake, as the dataset states it: ``start:end`` in seconds, ``;``-joined, in the dataset's order, e.g.
``0.48:0.86;4.4:4.64``; empty when the dataset gives none: a real clip, or a dataset such as FakeAVCeleb
that labels whole clips), and ``video_fake_segments`` / ``audio_fake_segments`` (the same, per modality,
where the dataset gives them: AV-Deepfake1M). Times are written as the shortest decimal that reads back
as the same float (:func:`format_segments`), so a segment read from a dataset's metadata and written
here round-trips exactly.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from emoboost.errors import ConfigError
from emoboost.files import atomic_path
from emoboost.media.inputs import leaves_root
from emoboost.text import printable

COLUMNS = (
    "path",
    "label",
    "type",
    "category",
    "method",
    "identity",
    "ids",
    "race",
    "gender",
    "video_fake",
    "audio_fake",
)
CATEGORIES = ("RVFA", "FVRA-WL", "FVFA-FS", "FVFA-GAN", "FVFA-WL")  # the five cross-manipulation categories
VISUAL_CATEGORIES = CATEGORIES[1:]  # those with a fake video: the AVG-FV average
REAL = "real"
SEGMENT_COLUMNS = ("fake_segments", "video_fake_segments", "audio_fake_segments")
OPTIONAL_COLUMNS = ("emotion", "emotion_mismatch", "artifact", "generator", "scenario", *SEGMENT_COLUMNS)
ARTIFACT_LEVELS = ("none", "weak", "strong")
TYPES = {"RVRA": (False, False), "RVFA": (False, True), "FVRA": (True, False), "FVFA": (True, True)}


@dataclasses.dataclass(frozen=True)
class ManifestRow:
    path: str
    label: int
    type: str
    category: str
    method: str
    identity: str
    ids: tuple[str, ...]
    race: str = ""
    gender: str = ""
    split: str = ""
    emotion: str = ""
    emotion_mismatch: str = ""  # "", "0" or "1"
    artifact: str = ""  # "" or one of ARTIFACT_LEVELS
    generator: str = ""  # how the fake was made (SynthAV: "<video recipe>+<voice recipe>")
    scenario: str = ""  # the recording a clip derives from: clips sharing it are a paired contrast
    fake_segments: str = ""  # "start:end;..." seconds where the clip is fake (format_segments); "" when none given
    video_fake_segments: str = ""  # the same for the picture alone, where the dataset says so
    audio_fake_segments: str = ""  # the same for the sound alone, where the dataset says so

    @property
    def video_fake(self) -> bool:
        return TYPES[self.type][0]

    @property
    def audio_fake(self) -> bool:
        return TYPES[self.type][1]

    def to_csv(self) -> dict[str, str]:
        row = {
            "path": self.path,
            "label": str(self.label),
            "type": self.type,
            "category": self.category,
            "method": self.method,
            "identity": self.identity,
            "ids": ";".join(self.ids),
            "race": self.race,
            "gender": self.gender,
            "video_fake": str(int(self.video_fake)),
            "audio_fake": str(int(self.audio_fake)),
        }
        for column in OPTIONAL_COLUMNS:
            row[column] = getattr(self, column)
        if self.split:
            row["split"] = self.split
        return row


def write_manifest(path: str | Path, rows: Iterable[ManifestRow]) -> Path:
    """Write rows (sorted by path; with a ``split`` column when they have one) atomically."""
    rows = sorted(rows, key=lambda r: (r.split, r.path))
    optional = [c for c in OPTIONAL_COLUMNS if any(getattr(r, c) for r in rows)]
    columns = list(COLUMNS) + optional + (["split"] if any(r.split for r in rows) else [])
    # surrogateescape: a file name that is not UTF-8 (bytes the OS allows) is written back byte for byte, as
    # read_manifest reads it
    with atomic_path(path) as part, open(part, "w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row.to_csv())
    return Path(path)


def read_manifest(path: str | Path) -> list[ManifestRow]:
    """Read a manifest or fold CSV written by :func:`write_manifest`."""
    path = Path(path)
    try:
        handle = open(path, newline="", encoding="utf-8", errors="surrogateescape")  # file names may be any bytes
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: manifest not found") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: manifest cannot be read ({exc.strerror or exc})") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = [
            c for c in ("path", "label", "type", "category", "identity", "ids") if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise ConfigError(f"{path}: not an emoboost manifest (missing column(s) {', '.join(missing)})")
        rows = []
        for number, record in enumerate(reader, start=2):
            try:
                rows.append(
                    ManifestRow(
                        path=record["path"],
                        label=int(record["label"]),
                        type=record["type"],
                        category=record["category"],
                        method=record.get("method", ""),
                        identity=record["identity"],
                        ids=tuple(i for i in record["ids"].split(";") if i),
                        race=record.get("race", ""),
                        gender=record.get("gender", ""),
                        split=record.get("split", "") or "",
                        **{c: record.get(c, "") or "" for c in OPTIONAL_COLUMNS},
                    )
                )
            except (ValueError, KeyError, AttributeError, TypeError) as exc:  # a short row has None cells
                raise ConfigError(f"{path}:{number}: invalid row ({exc})") from exc
            if rows[-1].type not in TYPES:
                raise ConfigError(f"{path}:{number}: unknown type {rows[-1].type!r}")
            if leaves_root(rows[-1].path):
                raise ConfigError(f"{path}:{number}: path {printable(rows[-1].path)} leaves the dataset root")
            if rows[-1].emotion_mismatch not in ("", "0", "1") or rows[-1].artifact not in ("", *ARTIFACT_LEVELS):
                raise ConfigError(
                    f"{path}:{number}: emotion_mismatch must be 0/1 and artifact one of {', '.join(ARTIFACT_LEVELS)}"
                )
            for column in SEGMENT_COLUMNS:
                try:
                    segments_of(getattr(rows[-1], column))
                except ConfigError as exc:
                    raise ConfigError(f"{path}:{number}: {column}: {exc}") from exc
    return rows


def emotion_track(value: str) -> list[tuple[float, str]]:
    """The ``emotion`` column as ``[(start_s, label), ...]``: one label is a track starting at 0."""
    segments = []
    for part in (p.strip() for p in value.split(";")):
        if not part:
            continue
        label, _, start = part.partition("@")
        try:
            segments.append((float(start) if start else 0.0, label.strip().lower()))
        except ValueError as exc:
            raise ConfigError(f"emotion track {value!r}: {part!r} is not label@seconds") from exc
    return sorted(segments)


def format_track(segments: Sequence[tuple[float, str]]) -> str:
    """Inverse of :func:`emotion_track` (times to 10 ms)."""
    return ";".join(f"{label}@{start:.2f}" for start, label in segments)


def segment_problem(start: float, end: float) -> str | None:
    """Why ``[start, end]`` (seconds) is not a usable segment, or None: finite, ``0 <= start < end``."""
    if not (math.isfinite(start) and math.isfinite(end)):
        return f"segment [{start}, {end}] is not finite"
    if start < 0 or start >= end:
        return f"segment [{start}, {end}] is not 0 <= start < end"
    return None


def segments_of(value: str) -> list[tuple[float, float]]:
    """A segments column (``start:end`` seconds, ``;``-joined) as ``[(start_s, end_s), ...]``, in the written order.

    The order is kept: the AV-Deepfake1M AP matches ground-truth segments to proposals in the dataset's order."""
    segments = []
    for part in (p.strip() for p in value.split(";")):
        if not part:
            continue
        start, colon, end = part.partition(":")
        try:
            segment = (float(start), float(end))
        except ValueError as exc:
            raise ConfigError(f"{part!r} is not start:end in seconds") from exc
        problem = segment_problem(*segment) if colon else f"{part!r} is not start:end in seconds"
        if problem is not None:
            raise ConfigError(problem)
        segments.append(segment)
    return segments


def format_segments(segments: Iterable[Sequence[float]]) -> str:
    """Inverse of :func:`segments_of`: each time as the shortest decimal that reads back as the same float."""
    return ";".join(f"{float(start)!r}:{float(end)!r}" for start, end in segments)


def count_by(rows: Sequence[ManifestRow], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        value = str(getattr(row, key))
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
