"""Text that is safe to show on one line and to write as UTF-8, whatever a file name contains.

File names are bytes on POSIX: Python decodes the ones that are not UTF-8 with
``surrogateescape`` (byte 0xff becomes U+DCFF), and such a string cannot be written to a UTF-8
file or terminal. A name may also hold a newline or an escape sequence, which would split a
one-line message or forge a second one. :func:`printable` escapes both kinds the way Python
literals do (``\\xff``, ``\\n``, ``\\x1b``), leaving every other character as it is.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

_SURROGATE_ESCAPES = range(0xDC80, 0xDD00)  # bytes 0x80-0xff that were not valid UTF-8
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def printable(text: object) -> str:
    """``text`` (any object: its ``str``) on one line and encodable as UTF-8 (undecodable bytes and control
    characters escaped)."""
    text = os.fspath(text) if isinstance(text, Path) else str(text)
    if text.isprintable():
        return text
    pieces = []
    for char in text:
        code = ord(char)
        if code in _SURROGATE_ESCAPES:
            pieces.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(char) in _UNPRINTABLE and char != " ":
            pieces.append(char.encode("unicode_escape").decode("ascii") if code < 0x10000 else f"\\U{code:08x}")
        else:
            pieces.append(char)
    return "".join(pieces)


STEM_BYTES = 200  # of an output's stem: with "_<hash>.html" and a temporary name's extras it stays under 255 bytes
_STEM_PUNCTUATION = frozenset("._-+ ()[]")


def file_stem(path: str | os.PathLike[str]) -> str:
    """A name for a file emoboost writes about ``path``: its stem with every character that is not a letter,
    a digit or plain punctuation replaced by ``_`` (no slash, colon, ``%``, ``#``, ``?``, quote, control or
    bidirectional character survives), no leading dot, at most ``STEM_BYTES`` bytes of UTF-8. A path and its
    :func:`printable` form give the same stem (a resumed batch finds what it wrote)."""
    name = Path(printable(os.fspath(path))).stem
    stem = "".join(c if (c.isalnum() and c.isprintable()) or c in _STEM_PUNCTUATION else "_" for c in name)
    stem = stem.lstrip(".") or "input"
    while len(stem.encode()) > STEM_BYTES:
        stem = stem[:-1]
    return stem


def shortest_unique(paths: list[str]) -> list[str]:
    """Per path, its shortest trailing part (the name, then ``folder/name``...) that no other path of the list ends
    with, made :func:`printable`: ``["a/x.mp4", "b/x.mp4", "c/y.mp4"]`` -> ``["a/x.mp4", "b/x.mp4", "y.mp4"]``. The
    same path twice gets the same label."""
    parts = [Path(printable(p)).parts or (printable(p),) for p in paths]
    labels = []
    for index, own in enumerate(parts):
        others = [p for j, p in enumerate(parts) if j != index and p != own]
        count = 1
        while count < len(own) and any(p[-count:] == own[-count:] for p in others):
            count += 1
        labels.append(str(Path(*own[-count:])))
    return labels
