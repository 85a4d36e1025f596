"""What the benchmark checks about a fold file before it trusts it, and the fingerprint of a fold result.

- Rows that list the same file (same SHA-256 of the content) under two categories are dropped,
  all of them, and reported: a clip cannot be both real and fake, nor two kinds of fake.
- The fold is refused when its test split (or its ``control`` rows: test people's clips kept
  as controls, never trained on) shares an identity or a file with train, val or calib, when the
  held-out category appears outside test, or when calib is empty (fold files from before the
  calib split: regenerate them).
- A fold result stores a fingerprint of everything it depends on (benchmark settings, model
  configs, the fold file, the feature records of its clips, external score files); a rerun
  reuses a result only when the fingerprint is the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emoboost.data.manifest import ManifestRow
from emoboost.data.protocols import CONTROL_SPLIT
from emoboost.errors import ConfigError
from emoboost.files import sha256_file

TRAINING_SPLITS = ("train", "val", "calib")
FOLD_SPLITS = (*TRAINING_SPLITS, "test")


def drop_duplicate_files(
    rows: Sequence[ManifestRow], sha_of: Callable[[ManifestRow], str | None]
) -> tuple[list[ManifestRow], list[dict[str, Any]]]:
    """Rows without the files listed under two categories, and a report of each dropped file."""
    by_sha: dict[str, list[ManifestRow]] = {}
    for row in rows:
        sha = sha_of(row)
        if sha is not None:
            by_sha.setdefault(sha, []).append(row)
    dropped: set[str] = set()
    report: list[dict[str, Any]] = []
    for sha, group in sorted(by_sha.items()):
        if len({r.category for r in group}) > 1:
            dropped.update(r.path for r in group)
            report.append(
                {
                    "sha256": sha,
                    "paths": sorted(r.path for r in group),
                    "categories": sorted({r.category for r in group}),
                }
            )
    return [r for r in rows if r.path not in dropped], report


def check_fold_rows(
    held_out: str,
    rows: Sequence[ManifestRow],
    sha_of: Callable[[ManifestRow], str | None],
    held_out_categories: Sequence[str] = (),
) -> None:
    """Raise :class:`ConfigError` when the fold breaks the protocol (see the module docstring).

    ``held_out_categories``: every category the fold holds out when it holds out several (a
    leave-one-generator-out fold, from the protocol stored with it); by default the fold's name."""
    unknown = sorted({r.split for r in rows} - {*FOLD_SPLITS, CONTROL_SPLIT})
    if unknown:
        raise ConfigError(
            f"fold {held_out}: unknown split(s) {', '.join(map(repr, unknown))}; expected "
            f"{', '.join((*FOLD_SPLITS, CONTROL_SPLIT))}"
        )
    if not any(r.split == "calib" for r in rows):
        raise ConfigError(
            f"fold {held_out}: no calib rows. Fusions and thresholds are fitted on an identity-disjoint calib split "
            "(val only early-stops the networks); regenerate the fold files with this version "
            "(`emoboost manifest fakeavceleb ...` or `emoboost synth` write them)"
        )
    test = [r for r in rows if r.split in ("test", CONTROL_SPLIT)]  # controls are test people's clips
    held = {held_out, *held_out_categories}
    test_ids = {i for r in test for i in r.ids}
    test_sha = {s for s in map(sha_of, test) if s is not None}
    for split in TRAINING_SPLITS:
        others = [r for r in rows if r.split == split]
        shared = test_ids & {i for r in others for i in r.ids}
        if shared:
            raise ConfigError(
                f"fold {held_out}: test and {split} share identities {sorted(shared)[:5]} (identity leak)"
            )
        same = test_sha & {s for s in map(sha_of, others) if s is not None}
        if same:
            raise ConfigError(
                f"fold {held_out}: test and {split} hold the same file "
                f"(SHA-256 {sorted(same)[0][:16]}...; {len(same)} in all)"
            )
        leaked = sorted({r.category for r in others if r.category in held})
        if leaked:
            what = (
                "the held-out category"
                if leaked == [held_out]
                else f"held-out categor{'y' if len(leaked) == 1 else 'ies'} {', '.join(leaked)}"
            )
            raise ConfigError(f"fold {held_out}: {what} appears in {split}")


def digest(data: Any) -> str:
    """SHA-256 of canonical JSON."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def file_digest(path: str | Path) -> str | None:
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    if path.is_dir():
        return digest({p.name: sha256_file(p) for p in sorted(path.iterdir()) if p.is_file()})
    return None
