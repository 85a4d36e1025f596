"""What the readers of partly fake datasets share (AV-Deepfake1M, LAV-DF): their JSON metadata read entry by
entry, the checks of each entry's fields and fake segments, and the cross-check report. DFDC's reader
(:mod:`emoboost.data.dfdc`: whole-clip labels, one metadata object per part) uses the report and the field checks.

Both datasets describe every clip in a JSON list of objects and mark where a fake clip is fake with
``[start_s, end_s]`` segments. An entry that cannot be read as its dataset documents it (a missing or
mistyped field, a malformed segment, a label its segments contradict) is left out and listed with the
reason, one line each, as :mod:`emoboost.data.fakeavceleb` lists its problems: nothing is guessed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from emoboost.data.fakeavceleb import quick_readability
from emoboost.data.manifest import ManifestRow, segment_problem
from emoboost.errors import ConfigError
from emoboost.media.decode import VIDEO_EXTENSIONS
from emoboost.media.inputs import leaves_root
from emoboost.text import printable

Segments = list[tuple[float, float]]  # [(start_s, end_s), ...] in the dataset's order


class EntryError(Exception):
    """Why one metadata entry cannot be read as its dataset documents it; the reader lists it and goes on."""


@dataclasses.dataclass
class PartialFakeReport:
    """What reading a partly fake dataset found. Paths are dataset-relative; ``invalid`` and ``unreadable`` pair
    a path (or ``<metadata file>[<index>]`` for an entry without a usable ``file``) with the reason."""

    metadata: list[str] = dataclasses.field(default_factory=list)  # metadata files read, relative to the root
    rows: int = 0  # entries in them
    missing_files: list[str] = dataclasses.field(default_factory=list)
    files_without_row: list[str] = dataclasses.field(default_factory=list)
    duplicate_rows: list[str] = dataclasses.field(default_factory=list)
    invalid: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    no_identity: list[str] = dataclasses.field(default_factory=list)
    unreadable: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    unlisted_originals: list[str] = dataclasses.field(default_factory=list)  # kept: said, not a problem
    notes: list[str] = dataclasses.field(default_factory=list)  # what was not read, and why

    @property
    def problems(self) -> int:
        """Entries and files left out of the manifest (``unlisted_originals`` and ``notes`` are not problems)."""
        return (
            len(self.missing_files)
            + len(self.files_without_row)
            + len(self.duplicate_rows)
            + len(self.invalid)
            + len(self.no_identity)
            + len(self.unreadable)
        )

    def lines(self) -> list[str]:
        """Human-readable summary: the counts, the notes, then one problem per line."""
        out = [
            f"metadata read: {', '.join(self.metadata) or 'none'}",
            f"metadata entries: {self.rows}",
            f"entries whose file is missing: {len(self.missing_files)}",
            f"files with no entry: {len(self.files_without_row)}",
            f"duplicate entries: {len(self.duplicate_rows)}",
            f"invalid entries: {len(self.invalid)}",
            f"entries with no identity: {len(self.no_identity)}",
            f"unreadable files: {len(self.unreadable)}",
            f"fakes whose original is not an entry (kept): {len(self.unlisted_originals)}",
        ]
        out += [f"  note: {note}" for note in self.notes]
        out += [f"  missing file: {printable(p)}" for p in self.missing_files]
        out += [f"  no metadata entry: {printable(p)}" for p in self.files_without_row]
        out += [f"  duplicate entry: {printable(p)}" for p in self.duplicate_rows]
        out += [f"  invalid entry: {printable(p)} ({why})" for p, why in self.invalid]
        out += [f"  no identity: {printable(p)} (no path of the entry names the person)" for p in self.no_identity]
        out += [f"  unreadable: {printable(p)} ({why})" for p, why in self.unreadable]
        out += [f"  original not an entry: {printable(p)}" for p in self.unlisted_originals]
        return out


def load_entries(path: Path, root: Path) -> list[Any]:
    """The JSON list a metadata file holds; a file that cannot be read or is not a JSON list is a ConfigError."""
    name = path.relative_to(root).as_posix()
    try:
        with open(path, encoding="utf-8") as handle:
            entries = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: metadata cannot be read ({exc.strerror or exc})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {name} is not valid JSON ({exc})") from exc
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: {name} is not a JSON list of clips (a {type(entries).__name__})")
    return entries


def video_files(root: Path, folders: Iterable[str]) -> set[str]:
    """Dataset-relative POSIX paths of every video file under ``root / folder`` (recursively) for each folder."""
    return {
        p.relative_to(root).as_posix()
        for folder in folders
        if (root / folder).is_dir()
        for p in (root / folder).rglob("*")
        if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()
    }


def field(entry: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """``entry[name]``, which must be present and of ``kind`` (a JSON ``true`` is not a number here)."""
    if name not in entry:
        raise EntryError(f"no field {name!r}")
    value = entry[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        wanted = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise EntryError(f"field {name!r} is {json.dumps(value)[:40]}, not {wanted}")
    return value


def relative_file(entry: Mapping[str, Any], prefix: str = "") -> str:
    """The entry's ``file`` under ``prefix`` (a folder of the root, or none), refused when it leaves the root."""
    file = field(entry, "file", str)
    relative = f"{prefix}/{file}" if prefix else file
    if not file or leaves_root(relative):
        raise EntryError(f"file {printable(file)!r} is not a path inside the dataset")
    return relative


def segments_field(entry: Mapping[str, Any], name: str) -> Segments:
    """``entry[name]`` as ``[(start_s, end_s), ...]``: a list of ``[start, end]`` pairs of numbers, each
    ``0 <= start < end``, in the dataset's order."""
    segments = []
    for item in field(entry, name, list):
        pair = item if isinstance(item, list) and len(item) == 2 else None
        if pair is None or not all(isinstance(t, int | float) and not isinstance(t, bool) for t in pair):
            raise EntryError(f"{name}: {json.dumps(item)[:40]} is not [start, end] in seconds")
        segment = (float(pair[0]), float(pair[1]))
        problem = segment_problem(*segment)
        if problem is not None:
            raise EntryError(f"{name}: {problem}")
        segments.append(segment)
    return segments


def entry_name(metadata: str, index: int, entry: Any, prefix: str = "") -> str:
    """How the report names an entry: its dataset-relative path when it has a text ``file``, else
    ``<metadata>[<index>]`` (the entry's place in the list, from 0)."""
    file = entry.get("file") if isinstance(entry, dict) else None
    if not isinstance(file, str) or not file:
        return f"{metadata}[{index}]"
    return f"{prefix}/{file}" if prefix else file


def read_entries(
    root: Path,
    name: str,
    make: Callable[[Any], ManifestRow],
    rows: dict[str, ManifestRow],
    report: PartialFakeReport,
    prefix: str = "",
) -> set[str]:
    """Read metadata file ``name`` entry by entry into ``rows`` (by path) with ``make`` (which raises EntryError
    for an entry it cannot read). Invalid entries, duplicates, entries whose file is missing and rows naming no
    person go to the report. Returns every entry's name (:func:`entry_name`), the rows' too."""
    report.metadata.append(name)
    entries = load_entries(root / name, root)
    report.rows += len(entries)
    named = set()
    for index, entry in enumerate(entries):
        where = entry_name(name, index, entry, prefix)
        named.add(where)
        try:
            row = make(entry)
        except EntryError as exc:
            report.invalid.append((where, str(exc)))
            continue
        if row.path in rows:
            report.duplicate_rows.append(row.path)
        elif not (root / row.path).is_file():
            report.missing_files.append(row.path)
        elif not row.identity:
            report.no_identity.append(row.path)
        else:
            rows[row.path] = row
    return named


def finish(
    root: Path,
    rows: dict[str, ManifestRow],
    named: set[str],
    original_of: Callable[[ManifestRow], str],
    on_disk: set[str],
    report: PartialFakeReport,
    verify: bool,
) -> list[ManifestRow]:
    """The rows sorted by path, once fakes whose original (``original_of``: the path its scenario names) is no
    entry are listed (a fake with no original is its own scenario), files with no entry are listed, and
    (``verify``) unreadable files are left out."""
    for row in rows.values():
        original = original_of(row)
        if row.label and (original == row.path or original not in named):
            report.unlisted_originals.append(row.path)
    accounted = set(rows) | set(report.missing_files) | set(report.duplicate_rows) | set(report.no_identity)
    report.files_without_row = sorted(on_disk - accounted - {p for p, _ in report.invalid})
    if verify:
        for relative in sorted(rows):
            why = quick_readability(root / relative)
            if why is not None:
                report.unreadable.append((relative, why))
                del rows[relative]
    for name in ("missing_files", "duplicate_rows", "invalid", "no_identity", "unlisted_originals"):
        getattr(report, name).sort()
    return sorted(rows.values(), key=lambda r: r.path)
