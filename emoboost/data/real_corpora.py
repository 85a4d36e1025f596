"""Manifests of real talking-face corpora, for the consistency detector that trains on real clips only.

Every clip is real (label 0, type RVRA); nothing here needs a label beyond who speaks and which
recording a clip comes from (the ``scenario`` column), because the consistency detector's
negatives are built from the pairings themselves: another person's voice, the same person's other
recording, a shift of a second or more. Layouts, as the corpora are distributed:

- **VoxCeleb2** (Chung, Nagrani & Zisserman, Interspeech 2018, arXiv:1806.05622; the
  robots.ox.ac.uk VoxCeleb page): ``dev/mp4/idNNNNN/<YouTube id>/NNNNN.mp4`` and
  ``test/mp4/...``, one utterance per file; the identity is the ``idNNNNN`` folder (lowercased,
  as :mod:`emoboost.data.fakeavceleb` reads the same VoxCeleb2 ids: FakeAVCeleb's people are
  VoxCeleb2's, so a consistency detector for a FakeAVCeleb benchmark must leave its test people
  out), the recording the YouTube video. The split (``dev`` / ``test``) goes in the ``split``
  column only as ``train`` for dev, ``test`` for test, for the user to keep or drop.
- **LRS3** (Afouras, Chung & Zisserman, arXiv:1809.00496): ``pretrain|trainval|test/<id>/NNNNN.mp4``
  each with its transcript ``NNNNN.txt`` beside it; ``<id>`` is one TED or TEDx video. LRS3 names
  no speakers, so the identity is the video (a talk, most often one speaker: say so when
  reporting); the recording is the same video. A clip without its transcript is left out (it is
  not laid out as LRS3 is).
- **MEAD** (Wang et al., ECCV 2020; github.com/uniBruce/Mead): ``<actor>/video/<view>/<emotion>/
  level_<k>/NNN.mp4`` with the sound in ``<actor>/audio/<emotion>/level_<k>/NNN.m4a``. Only the
  frontal view is listed; each listed video is paired with its audio file (one without is left
  out), and :func:`mux_pairs` writes the two into one file, the unit every emoboost reader takes.
  The emotion column holds MEAD's emotion; the recording is the file.

Files whose names do not follow a corpus' layout are counted and left out, never guessed.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from emoboost.data.emotion_corpora import CorpusListing
from emoboost.data.manifest import REAL, ManifestRow
from emoboost.errors import ConfigError

VOX_ID = re.compile(r"^id\d{5}$", re.IGNORECASE)
VOX_CLIP = re.compile(r"^\d{5}\.mp4$", re.IGNORECASE)
VOX_SPLITS = {"dev": "train", "test": "test"}
LRS3_SETS = ("pretrain", "trainval", "test")
LRS3_CLIP = re.compile(r"^\d{5}\.mp4$", re.IGNORECASE)
MEAD_EMOTIONS = ("angry", "contempt", "disgusted", "fear", "happy", "neutral", "sad", "surprised")
MEAD_LEVEL = re.compile(r"^level_(\d)$")
MEAD_CLIP = re.compile(r"^(\d{3})\.mp4$", re.IGNORECASE)
MEAD_VIEW = "front"


@dataclasses.dataclass(frozen=True)
class MeadListing(CorpusListing):
    """MEAD rows (paths of the muxed files to be written) and, per row path, its ``(video, audio)`` sources."""

    sources: dict[str, tuple[Path, Path]] = dataclasses.field(default_factory=dict)


def _mp4s(root: Path) -> list[Path]:
    if not root.is_dir():
        raise ConfigError(f"{root}: corpus folder not found")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".mp4")


def _row(path: str, identity: str, recording: str, split: str = "", emotion: str = "") -> ManifestRow:
    return ManifestRow(path, 0, "RVRA", REAL, "real", identity, (identity,), split=split, emotion=emotion,
                       scenario=recording)  # fmt: skip


def read_voxceleb2(root: str | Path) -> CorpusListing:
    """Utterances of a VoxCeleb2 tree (``root`` holding ``dev/`` and / or ``test/``, or one ``mp4/`` folder)."""
    root = Path(root)
    rows, skipped = [], {}
    for path in _mp4s(root):
        relative = path.relative_to(root).as_posix()
        parts = path.relative_to(root).parts
        if len(parts) < 3 or not VOX_ID.match(parts[-3]) or not VOX_CLIP.match(parts[-1]):
            skipped[relative] = "not laid out as VoxCeleb2 (idNNNNN/<video>/NNNNN.mp4)"
            continue
        identity, video = parts[-3].lower(), parts[-2]
        split = next((VOX_SPLITS[p] for p in parts[:-3] if p in VOX_SPLITS), "")
        rows.append(_row(relative, identity, f"{identity}/{video}", split))
    return CorpusListing(rows, skipped)


def read_lrs3(root: str | Path) -> CorpusListing:
    """Clips of an LRS3 tree (``root`` holding ``pretrain/``, ``trainval/``, ``test/``), each with its transcript."""
    root = Path(root)
    rows, skipped = [], {}
    for path in _mp4s(root):
        relative = path.relative_to(root).as_posix()
        parts = path.relative_to(root).parts
        if len(parts) != 3 or parts[0] not in LRS3_SETS or not LRS3_CLIP.match(parts[2]):
            skipped[relative] = "not laid out as LRS3 (pretrain|trainval|test/<id>/NNNNN.mp4)"
            continue
        if not path.with_suffix(".txt").is_file():
            skipped[relative] = "no transcript (.txt) beside it"
            continue
        video = parts[1]
        rows.append(_row(relative, f"lrs3:{video}", f"lrs3:{video}", "test" if parts[0] == "test" else "train"))
    return CorpusListing(rows, skipped)


def read_mead(root: str | Path) -> MeadListing:
    """Frontal clips of a MEAD tree, each paired with its audio file; row paths are those :func:`mux_pairs`
    writes (``<actor>/<emotion>/level_<k>/NNN.mp4``)."""
    root = Path(root)
    rows, skipped, sources = [], {}, {}
    for path in _mp4s(root):
        relative = path.relative_to(root).as_posix()
        parts = path.relative_to(root).parts
        if len(parts) < 6 or parts[-5] != "video":
            skipped[relative] = "not laid out as MEAD (<actor>/video/<view>/<emotion>/level_<k>/NNN.mp4)"
            continue
        actor, view, emotion, level, name = parts[-6], parts[-4], parts[-3], parts[-2], parts[-1]
        if view != MEAD_VIEW:
            skipped[relative] = f"view {view} (only {MEAD_VIEW} is listed)"
            continue
        if emotion not in MEAD_EMOTIONS or not MEAD_LEVEL.match(level) or not MEAD_CLIP.match(name):
            skipped[relative] = "not laid out as MEAD (<emotion>/level_<k>/NNN.mp4)"
            continue
        audio = path.parents[4] / "audio" / emotion / level / (Path(name).stem + ".m4a")
        if not audio.is_file():
            skipped[relative] = f"no audio file {audio.relative_to(root).as_posix()}"
            continue
        identity = f"mead:{actor}"
        muxed = f"{actor}/{emotion}/{level}/{name}"
        rows.append(_row(muxed, identity, f"{identity}/{emotion}/{level}/{name}", emotion=emotion))
        sources[muxed] = (path, audio)
    return MeadListing(rows, skipped, sources)


def mux_pairs(
    sources: dict[str, tuple[Path, Path]], out: Path, on_file: Callable[[str], None] = lambda path: None
) -> int:
    """Write each ``(video, audio)`` pair into ``out/<row path>`` (streams copied, not re-encoded); a file already
    there is kept (a rerun resumes), each is written under a temporary name first. Returns how many were written."""
    from emoboost.files import atomic_path
    from emoboost.media.write import ffmpeg_binary

    binary, written = ffmpeg_binary(), 0
    for relative, (video, audio) in sources.items():
        target = out / relative
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                command = [binary, "-y", "-loglevel", "error", "-i", str(video), "-i", str(audio), "-map", "0:v:0",
                           "-map", "1:a:0", "-c", "copy", "-shortest", "-f", "mp4", str(tmp)]  # fmt: skip
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    cause = (done.stderr.strip().splitlines() or ["ffmpeg failed"])[-1]
                    raise ConfigError(f"{video}: could not be joined with {audio} ({cause})")
            written += 1
        on_file(relative)
    return written


READERS: dict[str, Callable[[str | Path], CorpusListing]] = {
    "voxceleb2": read_voxceleb2,
    "lrs3": read_lrs3,
    "mead": read_mead,
}
