"""DeepfakeTIMIT -> manifest. Lists the face-swapped videos of its two quality folders.

The layout, as the dataset's files and the code that read it show it (sources in docs/decisions.md, "Other
datasets"); there is no metadata file, so the folders and file names are all there is:

- ``<root>/lower_quality/<subject>/<sentence>-video-<other>.avi`` and the same under ``<root>/higher_quality/``:
  ``subject`` and ``other`` are the two VidTIMIT people of a swap pair (``fadg0``, ``fram1``), ``sentence`` a
  VidTIMIT sentence (``sa1``, ``si1199``, ``sx119``). Beside each video the listings read have
  ``<sentence>.wav``, the sentence's sound: counted in the report, not read.

Every video is a fake of the picture (a face swap within a pair; the voice is not manipulated): type FVRA,
label 1, category ``DFTIMIT-LQ`` or ``DFTIMIT-HQ`` (the two generator settings, so holding out a category holds
out a setting), method = the quality folder. ``identity`` = the folder's subject (``vidtimit:<subject>``, the
people being VidTIMIT's) and ``ids`` = both people of the pair: which of the two gives the face and which the
recording is not stated in the sources read, so both are kept and an identity-disjoint split keeps them
together; ``scenario`` stays empty for the same reason. There are no real videos: they are VidTIMIT's, a
separate download this module does not read.

Nothing is guessed: video files laid out otherwise and unreadable files are left out and listed, one line each.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from emoboost.data.fakeavceleb import quick_readability
from emoboost.data.manifest import ManifestRow
from emoboost.errors import ConfigError
from emoboost.media.decode import VIDEO_EXTENSIONS
from emoboost.text import printable

QUALITIES = {"lower_quality": "DFTIMIT-LQ", "higher_quality": "DFTIMIT-HQ"}  # quality folder -> category
CATEGORIES = tuple(QUALITIES.values())
FAKE_NAME = re.compile(r"^(?P<sentence>[a-z0-9]+)-video-(?P<other>[a-z0-9]+)\.avi$", re.IGNORECASE)
SOUND_SUFFIX = ".wav"
LAYOUT = "not laid out as DeepfakeTIMIT (<quality>/<subject>/<sentence>-video-<other>.avi)"


@dataclasses.dataclass
class DeepfakeTimitReport:
    """What listing a DeepfakeTIMIT copy found. Paths are dataset-relative; ``laid_out_otherwise`` and
    ``unreadable`` pair a path with the reason it was left out."""

    qualities: list[str] = dataclasses.field(default_factory=list)  # quality folders read
    videos: int = 0  # video files found under them
    laid_out_otherwise: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    unreadable: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    sound_files: int = 0  # <sentence>.wav files in the subject folders (not read)
    notes: list[str] = dataclasses.field(default_factory=list)  # what was not read, and why

    @property
    def problems(self) -> int:
        """Video files left out of the manifest."""
        return len(self.laid_out_otherwise) + len(self.unreadable)

    def lines(self) -> list[str]:
        """Human-readable summary: the counts, the notes, then one problem per line."""
        out = [
            f"quality folders read: {', '.join(self.qualities) or 'none'}",
            f"video files: {self.videos}",
            f"video files laid out otherwise: {len(self.laid_out_otherwise)}",
            f"unreadable files: {len(self.unreadable)}",
            f"sound files ({SOUND_SUFFIX}) in the subject folders, not read: {self.sound_files}",
        ]
        out += [f"  note: {note}" for note in self.notes]
        out += [f"  laid out otherwise: {printable(p)} ({why})" for p, why in self.laid_out_otherwise]
        out += [f"  unreadable: {printable(p)} ({why})" for p, why in self.unreadable]
        return out


def _row(quality: str, subject: str, name: str) -> ManifestRow | str:
    """The row of ``<quality>/<subject>/<name>``, or why the file is not laid out as a DeepfakeTIMIT video."""
    match = FAKE_NAME.match(name)
    if match is None:
        return LAYOUT
    person, other = subject.lower(), match["other"].lower()
    if other == person:
        return f"names its own folder's subject ({printable(other)}) as the other person of the pair"
    return ManifestRow(
        path=f"{quality}/{subject}/{name}",
        label=1,
        type="FVRA",
        category=QUALITIES[quality],
        method=quality,
        identity=f"vidtimit:{person}",
        ids=tuple(sorted({f"vidtimit:{person}", f"vidtimit:{other}"})),
    )


def read_deepfaketimit(root: str | Path, verify: bool = True) -> tuple[list[ManifestRow], DeepfakeTimitReport]:
    """Manifest rows of a DeepfakeTIMIT copy (``root`` holding ``lower_quality/`` and / or ``higher_quality/``)
    and the listing report.

    ``verify`` runs :func:`emoboost.data.fakeavceleb.quick_readability` on every listed file (a few bytes each).
    """
    root = Path(root)
    qualities = [q for q in QUALITIES if (root / q).is_dir()]
    if not qualities:
        raise ConfigError(
            f"{root}: no lower_quality/ or higher_quality/ folder here; point to the DeepfakeTIMIT folder"
        )
    report = DeepfakeTimitReport(qualities=qualities)
    report.notes += [f"{q}/ is not here: not read" for q in QUALITIES if q not in qualities]
    rows = []
    for quality in qualities:
        for path in sorted(p for p in (root / quality).rglob("*") if p.is_file()):
            parts = path.relative_to(root).parts
            relative = path.relative_to(root).as_posix()
            if path.suffix.lower() == SOUND_SUFFIX and len(parts) == 3:
                report.sound_files += 1
                continue
            if path.suffix.lower() not in VIDEO_EXTENSIONS:
                continue  # not a video (a checksum listing, a sound file elsewhere): neither read nor a problem
            report.videos += 1
            row = _row(quality, parts[1], parts[2]) if len(parts) == 3 else LAYOUT
            if isinstance(row, str):
                report.laid_out_otherwise.append((relative, row))
                continue
            why = quick_readability(path) if verify else None
            if why is not None:
                report.unreadable.append((relative, why))
                continue
            rows.append(row)
    report.notes.append("no real videos: DeepfakeTIMIT's real recordings are VidTIMIT's, a separate download")
    return sorted(rows, key=lambda r: r.path), report
