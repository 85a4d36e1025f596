"""The one place that knows where emoboost keeps files, and how it writes them.

User cache: ``$EMOBOOST_CACHE`` if set, else ``$XDG_CACHE_HOME/emoboost``, else
``~/.cache/emoboost``. Every file emoboost writes goes through :func:`atomic_path`: it is
written under a temporary name in the same directory and renamed into place, so a crash
never leaves a half-written cache entry, record or report.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HASH_BLOCK = 1 << 20


def cache_dir() -> Path:
    """Root of the user cache (created on demand)."""
    env = os.environ.get("EMOBOOST_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "emoboost"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` if the block succeeds.

    The temporary file keeps the target's suffix so that libraries which infer the format
    from the name (matplotlib, safetensors) behave.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise _about(exc, target) from exc
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp_path, target)
    except OSError as exc:  # a full disk while writing: the error names the file meant, not its temporary
        raise _about(exc, target) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def _about(exc: OSError, target: Path) -> OSError:
    """``exc`` as the same kind of error about ``target`` (what the user asked to write)."""
    return type(exc)(exc.errno, exc.strerror or str(exc), str(target)) if exc.errno else exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(target: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON with sorted keys (stable diffs) atomically."""
    write_text_atomic(target, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(data: Any, length: int = 12) -> str:
    """Short stable hash of a JSON-serialisable value (used in cache keys)."""
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:length]
