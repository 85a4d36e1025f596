"""Turning command-line inputs into a sorted list of video paths.

An input is a video file, a folder (searched recursively for video extensions), a manifest
CSV with a ``path`` column (relative paths resolved against ``root``, default the CSV's
folder, or its parent for a fold file: see :func:`dataset_root`), or ``@list.txt`` (one path
per line, ``#`` comments). Paths that do not exist are kept, so that each one is reported as a
failure by name instead of vanishing silently.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from emoboost.errors import ConfigError
from emoboost.media.decode import VIDEO_EXTENSIONS
from emoboost.text import printable

logger = logging.getLogger(__name__)


def _videos_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())


FOLDS_FOLDER = "folds"  # fold files live in <dataset>/folds/<category>.csv, beside <dataset>/manifest.csv


def dataset_root(manifest: str | Path, root: str | Path | None = None) -> Path:
    """The folder a manifest's relative paths start from: ``root`` when given, else the manifest's folder,
    or its parent for a fold file (a CSV in a folder named ``folds``). The one rule for extract, train and benchmark."""
    if root is not None and str(root) != "":
        return Path(root)
    folder = Path(manifest).resolve().parent
    return folder.parent if folder.name == FOLDS_FOLDER else folder


def leaves_root(text: str) -> bool:
    """Whether a manifest path names a file outside the dataset root it is relative to (absolute, or ``..``
    climbing above it): such a row would open and hash any file of the machine."""
    path = Path(text)
    return path.is_absolute() or os.path.normpath(text).split(os.sep, 1)[0] == os.pardir


def read_manifest_paths(csv_path: Path, root: Path | None = None, allow_outside_root: bool = False) -> list[Path]:
    """Video paths of a manifest CSV's ``path`` column, resolved against :func:`dataset_root`.

    A path that leaves the root is refused (one line naming the row) unless ``allow_outside_root``.
    Paths that are not UTF-8 are read as the OS would give them (surrogate escapes)."""
    base = dataset_root(csv_path, root)
    paths = []
    try:
        with open(csv_path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "path" not in reader.fieldnames:
                raise ConfigError(f"{printable(csv_path)}: a manifest needs a 'path' column")
            for row in reader:
                text = row.get("path")
                if not text or not text.strip():
                    raise ConfigError(f"{printable(csv_path)}: line {reader.line_num} has no path")
                if not allow_outside_root and leaves_root(text):
                    raise ConfigError(
                        f"{printable(csv_path)}: line {reader.line_num}: path {printable(text)} leaves the dataset "
                        f"root {printable(base)} (--allow-outside-root reads it anyway)"
                    )
                paths.append(p if (p := Path(text)).is_absolute() else base / p)
    except csv.Error as exc:
        raise ConfigError(f"{printable(csv_path)}: not a readable CSV ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{printable(csv_path)}: cannot be read ({exc.strerror or exc})") from exc
    return paths


def read_list(listing: Path) -> list[Path]:
    """Paths of an ``@list`` file: one per line, ``#`` comments; bytes that are not UTF-8 kept as the OS would
    give them."""
    if not listing.is_file():
        raise ConfigError(f"{printable(listing)}: list file not found")
    try:
        raw = listing.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{printable(listing)}: cannot be read ({exc.strerror or exc})") from exc
    if b"\0" in raw:
        raise ConfigError(f"{printable(listing)}: not a text file of paths (it holds NUL bytes)")
    lines = [os.fsdecode(line).strip() for line in raw.splitlines()]
    return [Path(line) for line in lines if line and not line.startswith("#")]


def expand_inputs(
    items: Sequence[str | Path], root: str | Path | None = None, allow_outside_root: bool = False
) -> list[Path]:
    """Expand files, folders, manifest CSVs and ``@lists`` into video paths (order kept, duplicates dropped).

    A manifest row whose path leaves its dataset root is refused unless ``allow_outside_root``."""
    root_path = Path(root) if root is not None else None
    found: list[Path] = []
    for item in items:
        text = str(item)
        if text.startswith("@"):
            found.extend(read_list(Path(text[1:])))
            continue
        path = Path(text)
        try:
            path.is_dir()
        except OSError:  # a name too long for the file system, say: reported by name when it is opened
            found.append(path)
            continue
        if "\0" in text:
            raise ConfigError(f"{printable(text)}: a path cannot hold a NUL byte")
        if path.is_dir():
            videos = _videos_under(path)
            if not videos:
                logger.warning("%s: no video files in this folder", printable(path))
            found.extend(videos)
        elif path.suffix.lower() == ".csv" and path.is_file():
            found.extend(read_manifest_paths(path, root_path, allow_outside_root))
        else:
            found.append(path)
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(str(path), path)
    return list(unique.values())
