"""File names and destinations the field meets: bytes that are not UTF-8, control characters, long
names, missing / unwritable / wrong-kind destinations, locked outputs. Used by tests/cli/test_names.py."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

NOT_UTF8 = os.fsdecode(b"caf\xe9 \xff.mp4")  # Latin-1 bytes: a name the OS allows and UTF-8 cannot decode
NEWLINE = "evil\nerror forged line.mp4"
ESCAPE = "\x1b[31mred\x1b[0m.mp4"
LONG = "l" * 240 + ".mp4"  # fits the file system; a suffixed plot name would not


@dataclasses.dataclass(frozen=True)
class Destination:
    """A bad destination: ``make(tmp)`` prepares it and returns the detect options; exit 2 before any work."""

    name: str
    make: Callable[[Path], list[str]]
    says: str


def _parent_is_file(tmp: Path) -> list[str]:
    (tmp / "afile").write_text("x")
    return ["--output", str(tmp / "afile" / "out.jsonl")]


def _timeline_is_file(tmp: Path) -> list[str]:
    (tmp / "plots").write_text("x")
    return ["--timeline-png", str(tmp / "plots")]


def _output_is_folder(tmp: Path) -> list[str]:
    (tmp / "out.jsonl").mkdir()
    return ["--output", str(tmp / "out.jsonl")]


def _output_name_too_long(tmp: Path) -> list[str]:
    return ["--output", str(tmp / ("o" * 250 + ".jsonl"))]


def _unresumable_output(tmp: Path) -> list[str]:
    (tmp / "old.csv").write_bytes(b"path,label\n\xff\xfe,1\n")
    return ["--output", str(tmp / "old.csv")]


def _timeline_under_file(tmp: Path) -> list[str]:
    (tmp / "afile").write_text("x")
    return ["--timeline-png", str(tmp / "afile" / "plots")]


def _report_is_file(tmp: Path) -> list[str]:
    (tmp / "reports").write_text("x")
    return ["--report", str(tmp / "reports")]


DESTINATIONS = [
    Destination("--output under a regular file", _parent_is_file, "is a file, not a folder"),
    Destination("--output is a folder", _output_is_folder, "is a folder; give a file name"),
    Destination("--output name too long", _output_name_too_long, "file name too long"),
    Destination("--output not an emoboost output", _unresumable_output, "not an emoboost output"),
    Destination("--timeline-png is a regular file", _timeline_is_file, "is a file, not a folder"),
    Destination("--timeline-png under a regular file", _timeline_under_file, "cannot create the folder"),
    Destination("--report is a regular file", _report_is_file, "is a file, not a folder"),
]


@dataclasses.dataclass(frozen=True)
class Listing:
    """A bad ``@list`` or manifest: one line, exit 2."""

    name: str
    file: str
    content: bytes
    says: str


LISTINGS = [
    Listing("@list with NUL bytes", "@list.txt", b"a.mp4\x00\x01\x02", "holds NUL bytes"),
    Listing("manifest row without a path", "m.csv", b"path,label\na.mp4,0\n,1\n", "line 3 has no path"),
    Listing("manifest row too short", "m.csv", b"label,path\n0\n", "line 2 has no path"),
    Listing("manifest without a path column", "m.csv", b"file,label\na.mp4,0\n", "needs a 'path' column"),
    Listing("missing @list", "@absent.txt", b"", "list file not found"),
]
