"""LAV-DF -> manifest. Reads ``metadata.json`` and the folder tree and cross-checks them.

The layout, as the dataset's authors describe and read it (sources in docs/decisions.md, "Other datasets"):

- ``<root>/metadata.json``: one JSON list, one object per clip with ``file`` (relative to the root, such as
  ``train/014356.mp4``), ``split`` (``train``, ``dev``, ``test``), ``n_fakes``, ``fake_periods``
  (``[[start_s, end_s], ...]``), ``modify_video``, ``modify_audio`` (booleans), ``original`` (null for a
  real clip), ``duration``, ``video_frames``, ``audio_channels``, ``audio_frames``, and word ``timestamps``
  and ``transcript``, not read here. ``metadata.min.json`` is the same without the last two (the authors'
  code derives it); it is read only when ``metadata.json`` is absent;
- the clips in ``<root>/train/``, ``<root>/dev/``, ``<root>/test/``.

Each row carries the type (so ``video_fake`` / ``audio_fake``) from the two flags, the category
(:data:`CATEGORY_OF`), the fake segments, the split (``dev`` written as ``val``, its role here) and the
recording (``scenario``: a fake's ``original``, a real clip's own ``file``). The metadata names no person,
so ``identity`` is that recording, namespaced ``lavdf:``: a person may appear under several such
identities, and splits drawn here are recording-disjoint, not person-disjoint (LAV-DF's own split is in
the ``split`` column). LAV-DF gives no per-modality segments, so ``video_fake_segments`` /
``audio_fake_segments`` stay empty. Entries that contradict themselves (``n_fakes`` against the periods,
a fake without periods) are left out and listed, as are missing, unlisted and unreadable files: nothing
is guessed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emoboost.data.manifest import REAL, ManifestRow, format_segments
from emoboost.data.partial_fakes import (
    EntryError,
    PartialFakeReport,
    field,
    finish,
    read_entries,
    relative_file,
    segments_field,
    video_files,
)
from emoboost.errors import ConfigError

METADATA = ("metadata.json", "metadata.min.json")  # the first one present is read
SPLITS = {"train": "train", "dev": "val", "test": "test"}  # LAV-DF's split -> the manifest's
TYPE_OF = {(False, False): "RVRA", (True, False): "FVRA", (False, True): "RVFA", (True, True): "FVFA"}
CATEGORY_OF = {"RVRA": REAL, "FVRA": "LAVDF-V", "RVFA": "LAVDF-A", "FVFA": "LAVDF-AV"}
CATEGORIES = ("LAVDF-V", "LAVDF-A", "LAVDF-AV")  # fake video / fake audio / both


def _row(entry: Any) -> ManifestRow:
    """One metadata entry as a row; EntryError says why it cannot be one."""
    if not isinstance(entry, dict):
        raise EntryError("not a JSON object")
    relative = relative_file(entry)
    split = field(entry, "split", str)
    if split not in SPLITS:
        raise EntryError(f"unknown split {split!r}: not one of {', '.join(SPLITS)}")
    flags = (field(entry, "modify_video", bool), field(entry, "modify_audio", bool))
    kind = TYPE_OF[flags]
    periods = segments_field(entry, "fake_periods")
    n_fakes = field(entry, "n_fakes", int)
    if n_fakes != len(periods):
        raise EntryError(f"n_fakes {n_fakes} with {len(periods)} fake_periods")
    if bool(periods) != (kind != "RVRA"):
        video, audio = (json.dumps(flag) for flag in flags)  # as the metadata spells them
        raise EntryError(f"modify_video {video}, modify_audio {audio} with {len(periods)} fake_periods")
    original = field(entry, "original", (str, type(None)))
    scenario = original if kind != "RVRA" and original else relative
    return ManifestRow(
        path=relative,
        label=int(kind != "RVRA"),
        type=kind,
        category=CATEGORY_OF[kind],
        method="",  # LAV-DF's metadata names no generator
        identity=f"lavdf:{scenario}",
        ids=(f"lavdf:{scenario}",),
        split=SPLITS[split],
        scenario=scenario,
        fake_segments=format_segments(periods),
    )


def read_lavdf(root: str | Path, verify: bool = True) -> tuple[list[ManifestRow], PartialFakeReport]:
    """Manifest rows of a LAV-DF copy and the cross-check report.

    ``verify`` runs :func:`emoboost.data.fakeavceleb.quick_readability` on every listed file (a few bytes each).
    """
    root = Path(root)
    name = next((n for n in METADATA if (root / n).is_file()), None)
    if name is None:
        raise ConfigError(f"{root}: no metadata.json (or metadata.min.json) here; point to the LAV-DF folder")
    report = PartialFakeReport()
    if name == METADATA[0] and (root / METADATA[1]).is_file():
        report.notes.append(f"{METADATA[1]} is here too: not read ({METADATA[0]} is its source)")
    rows: dict[str, ManifestRow] = {}
    named = read_entries(root, name, _row, rows, report)  # every entry, to check that a fake's original is one
    kept = finish(root, rows, named, lambda r: r.scenario, video_files(root, SPLITS), report, verify)
    return kept, report
