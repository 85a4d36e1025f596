"""DFDC (the Deepfake Detection Challenge's full training set) -> manifest. Reads every part's ``metadata.json``
and the part folders and cross-checks them.

The layout, as the challenge's data page and the code that read it describe it (sources in docs/decisions.md,
"Other datasets"):

- ``<root>/dfdc_train_part_<N>/`` (N from 0, 50 parts of about 10 GB in the full set), each with the videos of
  that part and a ``metadata.json``: one JSON object mapping each file name to ``{"label": "REAL" | "FAKE",
  "split": "train", "original": <a fake's source video's file name>}``.

Each row carries the label, the part folder in its path, and the recording (``scenario``: a fake's
``original``, a real clip's own file name). The metadata names no actor, so ``identity`` is that recording,
namespaced ``dfdc:`` (as LAV-DF's): one actor appears in many recordings, and a face swap shows a second,
unnamed actor, so splits drawn on it are recording-disjoint, not person-disjoint.

Some fakes have manipulated audio, and the metadata does not say which fakes, nor which modality any fake has
manipulated: every fake is written as type FVFA (``video_fake`` and ``audio_fake`` both follow the clip label),
category ``DFDC-FAKE``, and the report says so. Per-modality labels of DFDC are unknown: score it on the clip
label only. ``split`` is always ``train`` in the published metadata and is not written.

Nothing is guessed: entries that cannot be read (not an object, a label other than REAL / FAKE, a file name
that leaves its part, a file name seen in an earlier part), entries whose file is missing, files with no entry
and unreadable files (a part's ``metadata.json`` too) are left out and listed, one line each.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from emoboost.data.manifest import REAL, ManifestRow
from emoboost.data.partial_fakes import EntryError, PartialFakeReport, field, finish, video_files
from emoboost.errors import ConfigError
from emoboost.media.inputs import leaves_root
from emoboost.text import printable

PART = re.compile(r"^dfdc_train_part_(\d+)$")
METADATA = "metadata.json"
LABELS = {"REAL": "RVRA", "FAKE": "FVFA"}  # the metadata's label -> type: a fake's modality is not stated
CATEGORY_OF = {"RVRA": REAL, "FVFA": "DFDC-FAKE"}
CATEGORIES = ("DFDC-FAKE",)
UNSTATED_MODALITY = (
    "DFDC's metadata does not say which modality a fake has manipulated (some fakes' audio is): "
    "every fake is type FVFA, video_fake and audio_fake follow the clip label"
)


def part_number(folder: Path) -> int | None:
    """N of a ``dfdc_train_part_<N>`` folder, or None for any other name."""
    match = PART.match(folder.name)
    return int(match[1]) if match else None


def part_folders(root: Path) -> list[Path]:
    """The ``dfdc_train_part_<N>`` folders of ``root``, in part order."""
    found = [p for p in root.iterdir() if p.is_dir() and part_number(p) is not None] if root.is_dir() else []
    return sorted(found, key=lambda p: part_number(p) or 0)


def _load(path: Path) -> dict[str, Any] | str:
    """A part's metadata as the JSON object it holds, or why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            entries = json.load(handle)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(entries, dict):
        return f"not a JSON object of file names (a {type(entries).__name__})"
    return entries


def _row(part: str, name: str, entry: Any) -> ManifestRow:
    """One metadata entry (``name`` -> ``entry``) of part folder ``part`` as a row; EntryError says why not."""
    relative = f"{part}/{name}"
    if not name or "/" in name or "\\" in name or leaves_root(name):
        raise EntryError(f"file name {printable(name)!r} is not a file of {part}")
    if not isinstance(entry, dict):
        raise EntryError("not a JSON object")
    label = field(entry, "label", str)
    kind = LABELS.get(label)
    if kind is None:
        raise EntryError(f"unknown label {label!r}: not REAL or FAKE")
    original = field(entry, "original", (str, type(None))) if kind != "RVRA" and "original" in entry else None
    recording = original if original else name  # a fake without an original is its own recording: listed
    return ManifestRow(
        path=relative,
        label=int(kind != "RVRA"),
        type=kind,
        category=CATEGORY_OF[kind],
        method="",  # the metadata names no method
        identity=f"dfdc:{recording}",
        ids=(f"dfdc:{recording}",),
        scenario=recording,
    )


def read_dfdc(root: str | Path, verify: bool = True) -> tuple[list[ManifestRow], PartialFakeReport]:
    """Manifest rows of a DFDC training-set copy (every ``dfdc_train_part_<N>`` folder of ``root``) and the
    cross-check report.

    ``verify`` runs :func:`emoboost.data.fakeavceleb.quick_readability` on every listed file (a few bytes each).
    """
    root = Path(root)
    parts = part_folders(root)
    if not parts:
        hint = "; point to the folder that holds the part folders" if (root / METADATA).is_file() else ""
        raise ConfigError(f"{root}: no dfdc_train_part_<N> folders here{hint}")
    report = PartialFakeReport()
    rows: dict[str, ManifestRow] = {}
    by_name: dict[str, str] = {}  # file name -> path of its entry, over every part: originals are named by file name
    for folder in parts:
        metadata = f"{folder.name}/{METADATA}"
        if not (folder / METADATA).is_file():
            report.notes.append(f"{folder.name}: no {METADATA}: its videos are files with no entry")
            continue
        entries = _load(folder / METADATA)
        if isinstance(entries, str):
            report.unreadable.append((metadata, f"{entries}; its videos are files with no entry"))
            continue
        report.metadata.append(metadata)
        report.rows += len(entries)
        for name, entry in entries.items():
            where = f"{folder.name}/{name}"
            try:
                row = _row(folder.name, name, entry)
            except EntryError as exc:
                report.invalid.append((where, str(exc)))
                continue
            if name in by_name:
                report.duplicate_rows.append(where)  # a second entry for the name, in this part or another
                continue
            by_name[name] = where
            if not (root / row.path).is_file():
                report.missing_files.append(row.path)
            else:
                rows[row.path] = row
    if any(r.label for r in rows.values()):
        report.notes.append(UNSTATED_MODALITY)
    named = set(by_name.values())
    kept = finish(root, rows, named, lambda r: by_name.get(r.scenario, ""), video_files(root, (p.name for p in parts)),
                  report, verify)  # fmt: skip
    return kept, report
