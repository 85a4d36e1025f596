"""What produced a benchmark's results: the code (emoboost version, git commit when run from a checkout),
the libraries, the machine, when, and fingerprints of the settings and of every fold.

Stored as ``results.json["provenance"]`` and printed at the end of ``results.md``, so a number
copied out of a report can be traced to the code and configuration that made it.
"""

from __future__ import annotations

import datetime
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import emoboost
from emoboost.files import fingerprint

LIBRARIES = ("torch", "numpy", "scipy", "scikit-learn", "opensmile", "facenet-pytorch", "av")


def git_state(where: Path | None = None) -> dict[str, Any]:
    """``{"commit", "dirty"}`` of the checkout holding emoboost's source, or ``{}`` when it is installed from a
    wheel (no ``.git`` above it) or git is unavailable."""
    where = where or Path(emoboost.__file__).resolve().parent
    if not any((folder / ".git").exists() for folder in (where, *where.parents)):
        return {}
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "dirty": bool(status.strip())}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def run_provenance(
    config: dict[str, Any], fold_fingerprints: dict[str, str], data_fingerprints: dict[str, str] | None = None
) -> dict[str, Any]:
    """The provenance block of one benchmark run (``config``: the benchmark config as a dict; ``data_fingerprints``:
    SHA-256 of each input a run without folds rests on, e.g. a cross-dataset evaluation's test set)."""
    return {
        "emoboost": emoboost.__version__,
        **({"git": state} if (state := git_state()) else {}),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "config_fingerprint": fingerprint(config, 16),
        "fold_fingerprints": dict(fold_fingerprints),
        **({"data_fingerprints": dict(data_fingerprints)} if data_fingerprints else {}),
    }


def provenance_lines(provenance: dict[str, Any]) -> list[str]:
    """The ``results.md`` block."""
    if not provenance:
        return []
    git = provenance.get("git")
    code = f"emoboost {provenance['emoboost']}"
    if git:
        code += f", commit {git['commit'][:12]}" + (" with uncommitted changes" if git["dirty"] else "")
    libraries = ", ".join(f"{k} {v}" for k, v in provenance.get("libraries", {}).items() if v)
    lines = [
        "## Provenance",
        "",
        f"- Code: {code}.",
        f"- Run: {provenance['date']} on {provenance['platform']}, Python {provenance['python']}.",
        f"- Libraries: {libraries}.",
        f"- Settings fingerprint: `{provenance['config_fingerprint']}` (the benchmark config in results.json).",
    ]
    folds = provenance.get("fold_fingerprints", {})
    if folds:
        lines.append("- Fold fingerprints: " + ", ".join(f"{c} `{f[:12]}`" for c, f in folds.items()) + ".")
    data = provenance.get("data_fingerprints", {})
    if data:
        lines.append("- Data fingerprints: " + ", ".join(f"{name} `{f[:12]}`" for name, f in data.items()) + ".")
    return [*lines, ""]
