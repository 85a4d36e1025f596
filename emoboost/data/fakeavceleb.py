"""FakeAVCeleb v1.2 -> manifest. Reads ``meta_data.csv`` and the folder tree and cross-checks them.

The tree is ``<type>/<race>/<gender>/id<NNNNN>/<file>.mp4`` with ``type`` one of
RealVideo-RealAudio, RealVideo-FakeAudio, FakeVideo-RealAudio, FakeVideo-FakeAudio.
``meta_data.csv`` has the columns ``source, target1, target2, method, category, type, race,
gender, path`` and an unnamed last column with the clip's folder
(``FakeAVCeleb/FakeVideo-FakeAudio/African/men/id00076``); ``path`` is the bare file name.

Nothing is guessed: rows whose file is missing, files with no row, duplicate rows and
unreadable files (empty, not a container, MP4 without an index) are left out of the manifest
and listed in the :class:`FakeAVCelebReport`.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path

from emoboost.data.manifest import REAL, ManifestRow
from emoboost.errors import ConfigError
from emoboost.media.decode import VIDEO_EXTENSIONS, mp4_has_moov, sniff_container

TYPE_FOLDERS = {
    "RealVideo-RealAudio": "RVRA",
    "RealVideo-FakeAudio": "RVFA",
    "FakeVideo-RealAudio": "FVRA",
    "FakeVideo-FakeAudio": "FVFA",
}
# (type, method) -> cross-manipulation category; anything else keeps its raw method
CATEGORY_OF = {
    ("RVRA", "real"): REAL,
    ("RVFA", "rtvc"): "RVFA",
    ("FVRA", "wav2lip"): "FVRA-WL",
    ("FVFA", "faceswap-wav2lip"): "FVFA-FS",
    ("FVFA", "fsgan-wav2lip"): "FVFA-GAN",
    ("FVFA", "wav2lip"): "FVFA-WL",
}
ID_TOKEN = re.compile(r"id\d{5}", re.IGNORECASE)  # "id00076", "ID00076", "Id00076": one person, read lowercase
META_COLUMNS = ("source", "target1", "target2", "method", "category", "type", "race", "gender", "path")


@dataclasses.dataclass
class FakeAVCelebReport:
    """What the cross-check found. Each list holds dataset-relative paths."""

    rows: int = 0
    missing_files: list[str] = dataclasses.field(default_factory=list)
    files_without_row: list[str] = dataclasses.field(default_factory=list)
    duplicate_rows: list[str] = dataclasses.field(default_factory=list)
    unreadable: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    unknown_type: list[str] = dataclasses.field(default_factory=list)

    @property
    def problems(self) -> int:
        return (
            len(self.missing_files)
            + len(self.files_without_row)
            + len(self.duplicate_rows)
            + len(self.unreadable)
            + len(self.unknown_type)
        )

    def lines(self) -> list[str]:
        """Human-readable summary, one problem per line after the counts."""
        out = [
            f"meta_data.csv rows: {self.rows}",
            f"rows whose file is missing: {len(self.missing_files)}",
            f"files with no row: {len(self.files_without_row)}",
            f"duplicate rows: {len(self.duplicate_rows)}",
            f"rows with an unknown type: {len(self.unknown_type)}",
            f"unreadable files: {len(self.unreadable)}",
        ]
        out += [f"  missing file: {p}" for p in self.missing_files]
        out += [f"  no metadata row: {p}" for p in self.files_without_row]
        out += [f"  duplicate row: {p}" for p in self.duplicate_rows]
        out += [f"  unknown type: {p}" for p in self.unknown_type]
        out += [f"  unreadable: {p} ({why})" for p, why in self.unreadable]
        return out


def id_tokens(*texts: str) -> tuple[str, ...]:
    """Every ``idNNNNN`` token in the texts (any case, returned lowercase), sorted and unique."""
    return tuple(sorted({token.lower() for text in texts for token in ID_TOKEN.findall(text)}))


def quick_readability(path: Path) -> str | None:
    """A cheap check (no decoding): None when the file looks like a usable video, else why not."""
    try:
        if path.stat().st_size == 0:
            return "empty file"
        container = sniff_container(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if container is None:
        return "not a video container"
    if container == "MP4/MOV" and not mp4_has_moov(path):
        return "truncated MP4 (no moov atom)"
    return None


def _relative_folder(folder_column: str) -> str:
    parts = [p for p in folder_column.replace("\\", "/").split("/") if p]
    for i, part in enumerate(parts):  # drop any prefix before the type folder ("FakeAVCeleb/...")
        if part in TYPE_FOLDERS:
            return "/".join(parts[i:])
    return "/".join(parts)


def read_fakeavceleb(root: str | Path, verify: bool = True) -> tuple[list[ManifestRow], FakeAVCelebReport]:
    """Manifest rows of a FakeAVCeleb v1.2 copy and the cross-check report.

    ``verify`` runs :func:`quick_readability` on every file (reads a few bytes per file).
    """
    root = Path(root)
    meta_path = root / "meta_data.csv"
    if not meta_path.is_file():
        raise ConfigError(f"{root}: no meta_data.csv here; point to the FakeAVCeleb_v1.2 folder")
    report = FakeAVCelebReport()
    on_disk = {
        p.relative_to(root).as_posix()
        for folder in TYPE_FOLDERS
        if (root / folder).is_dir()
        for p in (root / folder).rglob("*")
        if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()
    }
    rows: dict[str, ManifestRow] = {}
    with open(meta_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        index = {name.strip(): i for i, name in enumerate(header) if name.strip()}
        missing = [c for c in META_COLUMNS if c not in index]
        if missing:
            raise ConfigError(f"{meta_path}: missing column(s) {', '.join(missing)}")
        folder_index = next((i for i, name in enumerate(header) if not name.strip()), len(header))
        for record in reader:
            if not record or not any(field.strip() for field in record):
                continue
            report.rows += 1

            def get(name: str, record: list[str] = record) -> str:
                return record[index[name]].strip() if index[name] < len(record) else ""

            folder = _relative_folder(record[folder_index]) if folder_index < len(record) else ""
            relative = f"{folder}/{get('path')}" if folder else get("path")
            kind = TYPE_FOLDERS.get(get("type"))
            if kind is None:
                report.unknown_type.append(relative)
                continue
            if relative in rows:
                report.duplicate_rows.append(relative)
                continue
            if relative not in on_disk:
                report.missing_files.append(relative)
                continue
            method = get("method")
            identity = next(iter(id_tokens(folder.split("/")[-1])), get("source").lower())
            rows[relative] = ManifestRow(
                path=relative,
                label=0 if kind == "RVRA" else 1,
                type=kind,
                category=CATEGORY_OF.get((kind, method), method),
                method=method,
                identity=identity,
                ids=id_tokens(relative, get("source"), get("target1"), get("target2")),  # every person in the clip
                race=get("race"),
                gender=get("gender"),
            )
    report.files_without_row = sorted(on_disk - set(rows) - set(report.duplicate_rows) - set(report.unknown_type))
    if verify:
        for relative in sorted(rows):
            why = quick_readability(root / relative)
            if why is not None:
                report.unreadable.append((relative, why))
                del rows[relative]
    for field in ("missing_files", "duplicate_rows", "unknown_type"):
        getattr(report, field).sort()
    return sorted(rows.values(), key=lambda r: r.path), report
