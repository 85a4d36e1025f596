"""Manifests of the two freely downloadable acted audio-visual emotion corpora, for ``emoboost probe``.

Both corpora code the acted emotion in the file name; every clip is real (label 0, type RVRA),
the identity is the actor, and the ``emotion`` column carries the label:

- **RAVDESS** (Livingstone & Russo 2018): ``Actor_12/01-01-06-01-02-01-12.mp4`` = modality
  (01 audio-video, 02 video only, 03 audio only) - vocal channel (01 speech, 02 song) -
  emotion (01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust,
  08 surprised) - intensity - statement - repetition - actor (odd male, even female). Only
  audio-video files (modality 01) are listed: the probe needs a face and a voice.
- **CREMA-D** (Cao et al. 2014): ``VideoFlash/1001_DFA_ANG_XX.flv`` = actor - sentence -
  emotion (ANG, DIS, FEA, HAP, NEU, SAD) - intensity (LO, MD, HI, XX).

Files whose names do not follow the scheme are counted and left out, never guessed.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from emoboost.data.manifest import REAL, ManifestRow
from emoboost.errors import ConfigError

RAVDESS_EMOTIONS = {
    "01": "neutral", "02": "calm", "03": "happy", "04": "sad",
    "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised",
}  # fmt: skip
RAVDESS_AUDIO_VIDEO = "01"
RAVDESS_CHANNELS = {"01": "speech", "02": "song"}
RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.mp4$", re.IGNORECASE)
CREMAD_EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
CREMAD_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})\.(flv|mp4)$")


@dataclasses.dataclass(frozen=True)
class CorpusListing:
    """Rows of a corpus and the files left out (relative path -> reason)."""

    rows: list[ManifestRow]
    skipped: dict[str, str]


def _files(root: Path, pattern: str) -> list[Path]:
    if not root.is_dir():
        raise ConfigError(f"{root}: corpus folder not found")
    return sorted(p for p in root.rglob(pattern) if p.is_file())


def read_ravdess(root: str | Path) -> CorpusListing:
    """Audio-video clips of a RAVDESS tree (any folder layout; names as in the module docstring)."""
    root = Path(root)
    rows, skipped = [], {}
    for path in _files(root, "*.mp4"):
        relative = path.relative_to(root).as_posix()
        match = RAVDESS_NAME.match(path.name)
        if match is None or match[3] not in RAVDESS_EMOTIONS or match[2] not in RAVDESS_CHANNELS:
            skipped[relative] = "name does not follow the RAVDESS scheme"
            continue
        if match[1] != RAVDESS_AUDIO_VIDEO:
            skipped[relative] = "not an audio-video file (modality 02 / 03)"
            continue
        actor = int(match[7])
        identity = f"ravdess{actor:02d}"
        rows.append(
            ManifestRow(
                relative, 0, "RVRA", REAL, RAVDESS_CHANNELS[match[2]], identity, (identity,),
                gender="men" if actor % 2 else "women", emotion=RAVDESS_EMOTIONS[match[3]],
            )
        )  # fmt: skip
    return CorpusListing(rows, skipped)


def read_cremad(root: str | Path) -> CorpusListing:
    """Video clips of a CREMA-D tree (``VideoFlash/*.flv``, or the same names converted to .mp4)."""
    root = Path(root)
    rows, skipped = [], {}
    for path in sorted({*_files(root, "*.flv"), *_files(root, "*.mp4")}):
        relative = path.relative_to(root).as_posix()
        match = CREMAD_NAME.match(path.name)
        if match is None or match[3] not in CREMAD_EMOTIONS:
            skipped[relative] = "name does not follow the CREMA-D scheme"
            continue
        identity = f"cremad{match[1]}"
        rows.append(
            ManifestRow(relative, 0, "RVRA", REAL, "real", identity, (identity,), emotion=CREMAD_EMOTIONS[match[3]])
        )
    return CorpusListing(rows, skipped)


READERS = {"ravdess": read_ravdess, "cremad": read_cremad}
