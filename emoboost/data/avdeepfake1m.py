"""AV-Deepfake1M -> manifest. Reads the per-split metadata JSON and the folder tree and cross-checks them.

The layout, as the dataset's authors describe and read it (sources in docs/decisions.md, "Other datasets"):

- ``<root>/train_metadata.json`` and ``<root>/val_metadata.json``: one JSON list per labelled split, one
  object per clip with ``file``, ``original``, ``split``, ``modify_type`` (``real``, ``visual_modified``,
  ``audio_modified``, ``both_modified``), ``audio_model``, ``fake_segments``, ``visual_fake_segments``,
  ``audio_fake_segments`` (``[[start_s, end_s], ...]``), ``video_frames``, ``audio_frames``;
- the clips under ``<root>/<split>/<file>`` (``file`` reads like
  ``id06744/_c3CCbnZEbU/00011/real_video_fake_audio.mp4``, VoxCeleb2's person / video / utterance);
- ``<root>/test_files.txt`` and ``<root>/test/``: the test split, whose labels are not published; it is
  counted in the report's notes, never read as labelled clips.

Each row carries the type (so ``video_fake`` / ``audio_fake``) from ``modify_type``, the category
(:data:`CATEGORY_OF`), the fake segments (all, visual, audio) as the metadata gives them, the person
(the VoxCeleb2 ``idNNNNN`` folder of ``file``, else of ``original``) and the recording (``scenario``: a
fake's ``original``, a real clip's own ``file``). Entries that contradict themselves (a fake without
fake segments, visual segments on a clip whose video is real, a ``split`` field naming another split)
are left out and listed, as are missing, unlisted and unreadable files: nothing is guessed.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from emoboost.data.manifest import REAL, TYPES, ManifestRow, format_segments
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
from emoboost.data.real_corpora import VOX_ID
from emoboost.errors import ConfigError

SPLITS = ("train", "val")  # the splits whose metadata is published
TEST_LIST = "test_files.txt"
MODIFY_TYPES = {"real": "RVRA", "visual_modified": "FVRA", "audio_modified": "RVFA", "both_modified": "FVFA"}
CATEGORY_OF = {"RVRA": REAL, "FVRA": "AVDF1M-V", "RVFA": "AVDF1M-A", "FVFA": "AVDF1M-AV"}
CATEGORIES = ("AVDF1M-V", "AVDF1M-A", "AVDF1M-AV")  # fake video / fake audio / both


def person_of(*paths: str | None) -> str:
    """The first VoxCeleb2 ``idNNNNN`` folder in the paths (lowercased, as FakeAVCeleb's and VoxCeleb2's
    readers write it, so the same person has the same identity in all three), or "" when none has one."""
    for path in paths:
        for part in (path or "").replace("\\", "/").split("/"):
            if VOX_ID.match(part):
                return part.lower()
    return ""


def _row(entry: Any, split: str) -> ManifestRow:
    """One metadata entry as a row (identity "" when no path names the person); EntryError says why not."""
    if not isinstance(entry, dict):
        raise EntryError("not a JSON object")
    relative = relative_file(entry, split)
    file = entry["file"]
    modify_type = field(entry, "modify_type", str)
    kind = MODIFY_TYPES.get(modify_type)
    if kind is None:
        raise EntryError(f"unknown modify_type {modify_type!r}: not one of {', '.join(MODIFY_TYPES)}")
    stated = field(entry, "split", str)
    if stated != split:
        raise EntryError(f"split field {stated!r} in {split}_metadata.json")
    fake, visual, audio = (
        segments_field(entry, n) for n in ("fake_segments", "visual_fake_segments", "audio_fake_segments")
    )
    video_fake, audio_fake = TYPES[kind]
    if bool(fake) != (kind != "RVRA"):
        raise EntryError(f"modify_type {modify_type} with {len(fake)} fake_segments")
    if (visual and not video_fake) or (audio and not audio_fake):
        raise EntryError(f"modify_type {modify_type} with {len(visual)} visual and {len(audio)} audio fake segments")
    original = field(entry, "original", (str, type(None)))
    audio_model = entry.get("audio_model")
    identity = person_of(file, original)
    return ManifestRow(
        path=relative,
        label=int(kind != "RVRA"),
        type=kind,
        category=CATEGORY_OF[kind],
        method=modify_type,
        identity=identity,
        ids=(identity,) if identity else (),
        split=split,
        generator=audio_model if audio_fake and isinstance(audio_model, str) else "",
        scenario=original if kind != "RVRA" and original else file,
        fake_segments=format_segments(fake),
        video_fake_segments=format_segments(visual),
        audio_fake_segments=format_segments(audio),
    )


def read_avdeepfake1m(root: str | Path, verify: bool = True) -> tuple[list[ManifestRow], PartialFakeReport]:
    """Manifest rows of an AV-Deepfake1M copy (its train and val splits, whichever metadata is there) and the
    cross-check report.

    ``verify`` runs :func:`emoboost.data.fakeavceleb.quick_readability` on every listed file (a few bytes each).
    """
    root = Path(root)
    splits = [s for s in SPLITS if (root / f"{s}_metadata.json").is_file()]
    if not splits:
        raise ConfigError(
            f"{root}: no train_metadata.json or val_metadata.json here; point to the AV-Deepfake1M folder"
        )
    report = PartialFakeReport()
    report.notes += [f"{s}_metadata.json is not here: the {s} split is not read" for s in SPLITS if s not in splits]
    if (root / TEST_LIST).is_file():
        listed = sum(1 for line in (root / TEST_LIST).read_text(encoding="utf-8").splitlines() if line.strip())
        report.notes.append(f"test: {listed} files in {TEST_LIST}, whose labels are not published: not read")
    rows: dict[str, ManifestRow] = {}
    named: set[str] = set()  # every entry, to check that a fake's original is one
    for split in splits:
        named |= read_entries(root, f"{split}_metadata.json", functools.partial(_row, split=split), rows, report, split)
    kept = finish(root, rows, named, lambda r: f"{r.split}/{r.scenario}", video_files(root, splits), report, verify)
    return kept, report
