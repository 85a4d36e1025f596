"""Batch results that survive a crash: a journal of finished files and an output written atomically.

``emoboost detect --output FILE`` keeps one entry per input: the verdict's ``to_dict()``, or
``{"path", "error", "error_type"}`` for an input that failed. While the batch runs, each entry is
appended to a journal beside the output (``.<name>.journal``, one JSON line, flushed and
fsynced); the output itself is only ever replaced whole (temp file + rename), every
``SNAPSHOT_S`` seconds and at the end, so it is never half-written. A batch killed at any moment
and run again reads the output and the journal (a torn last journal line is dropped), skips the
files it already has a verdict for and retries the failures. The journal is removed once the
output is complete. A run holds an exclusive lock on ``.<name>.lock`` beside the output (a
second run on the same file is refused, naming the lock; the file goes when the run ends); a journal
whose last line was torn by
a kill gets that line ended before the next entry is appended. Paths are written escaped
(:func:`emoboost.text.printable`), so a file name that is not UTF-8 still gets its entry.

An entry is reused only when it still answers the question asked: same file path, same content
(SHA-256), same detector weights, same threshold and same prior. Formats: JSON Lines (one object per
line) or CSV (flat columns, see :data:`CSV_COLUMNS`); entries keep the order in which inputs
were first finished.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from emoboost.errors import ConfigError, WriteError
from emoboost.files import write_text_atomic
from emoboost.models.networks import DETECTOR_SCORES
from emoboost.text import printable

logger = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # not POSIX: --output is not locked
    fcntl = None  # type: ignore[assignment]

SNAPSHOT_S = 30.0
LOCK_ATTEMPTS = 5
TEMP_NAME_EXTRA = len(".XXXXXXXX.tmp")  # what atomic_path adds to a name (files.atomic_path's mkstemp pattern)
FORMATS = ("json", "csv")
CSV_COLUMNS = (
    "path",
    "label",
    "llr",
    "log10_lr",
    "lr_verbal",
    "prior",
    "probability",
    "threshold",
    "score_emo",
    "score_rgb",
    "score_acoustic",
    "score_consistency",
    "score_fused",
    "face",
    "voice",
    "duration_s",
    "worst_start_s",
    "worst_end_s",
    "worst_llr",
    "worst_mismatch",
    "worst_consistency",
    "segments",
    "warnings",
    "sha256",
    "model_id",
    "weights_sha256",
    "error",
    "error_type",
)
# the columns before the consistency detector's (an output written then is still read back, and resumed)
EARLIER_CSV_COLUMNS = tuple(c for c in CSV_COLUMNS if c not in ("score_consistency", "worst_consistency"))


def output_format(path: Path, requested: str | None) -> str:
    """The file format: ``requested`` (json / csv) or, for table / none, the file's suffix (.csv -> csv, else
    JSON Lines)."""
    if requested in FORMATS:
        return requested
    return "csv" if path.suffix.lower() == ".csv" else "json"


def flat_row(entry: dict[str, Any]) -> dict[str, Any]:
    """One CSV row of a verdict or error entry (segments: the most fake one, and their count)."""
    if "scores" not in entry and "error" not in entry:
        return {column: entry.get(column) for column in CSV_COLUMNS}  # already a row (read back from a CSV output)
    if "error" in entry:
        return {"path": entry["path"], "error": entry["error"], "error_type": entry.get("error_type", "")}
    segments = entry.get("segments") or []
    worst = max(segments, key=lambda s: s["llr"]) if segments else {}
    scores, modalities = entry.get("scores", {}), entry.get("modalities", {})
    return {
        "path": entry["path"],
        "label": entry["label"],
        **{key: entry.get(key) for key in ("llr", "log10_lr", "lr_verbal", "prior")},
        "probability": entry["probability"],
        "threshold": entry["threshold"],
        **{f"score_{name}": scores.get(name) for name in (*DETECTOR_SCORES, "fused")},
        "face": modalities.get("face"),
        "voice": modalities.get("voice"),
        "duration_s": entry["duration_s"],
        "worst_start_s": worst.get("start_s"),
        "worst_end_s": worst.get("end_s"),
        "worst_llr": worst.get("llr"),
        "worst_mismatch": worst.get("emotion_mismatch"),
        "worst_consistency": worst.get("consistency"),
        "segments": len(segments),
        "warnings": "; ".join(entry.get("warnings", [])),
        "sha256": entry["sha256"],
        "model_id": entry["model_id"],
        "weights_sha256": entry.get("provenance", {}).get("weights_sha256"),
    }


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet evaluates a cell that starts so (OWASP)
CSV_QUOTE = "'"


def csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet shows as text: one starting with ``= + - @``, tab or CR gets a leading ``'``
    (OWASP's rule), and so does one already starting with ``'``, so :func:`csv_text` gives back the exact text."""
    if isinstance(value, str) and value.startswith((*FORMULA_START, CSV_QUOTE)):
        return CSV_QUOTE + value
    return value


def csv_text(cell: str) -> str:
    """The text of a cell :func:`csv_cell` wrote."""
    return cell[1:] if cell.startswith(CSV_QUOTE) and cell[1:].startswith((*FORMULA_START, CSV_QUOTE)) else cell


def render(entries: Iterable[dict[str, Any]], fmt: str) -> str:
    """The whole output file's text."""
    if fmt == "json":
        return "".join(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n" for entry in entries)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for entry in entries:
        writer.writerow({k: ("" if v is None else csv_cell(v)) for k, v in flat_row(entry).items()})
    return buffer.getvalue()


def _read_json_lines(path: Path) -> list[dict[str, Any]]:
    entries = []
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a kill while it was being appended
        if isinstance(entry, dict) and "path" in entry:
            entries.append(entry)
    return entries


def _read_output(path: Path, fmt: str) -> list[dict[str, Any]]:
    """Entries of an output file written earlier (CSV rows come back as flat rows; empty cells as absent)."""
    if not path.is_file():
        return []
    if fmt == "json":
        return _read_json_lines(path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: csv_text(v) for k, v in row.items() if v not in ("", None)} for row in rows if row.get("path")]


def _written_format(path: Path) -> str | None:
    """``json`` or ``csv`` when ``path`` starts as an emoboost output of that format does, else None."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    first = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    if first in (",".join(CSV_COLUMNS), ",".join(EARLIER_CSV_COLUMNS)):
        return "csv"
    try:
        entry = json.loads(first)
    except json.JSONDecodeError:
        return None
    return "json" if isinstance(entry, dict) and "path" in entry else None


def check_output_owner(path: Path, fmt: str) -> None:
    """Refuse (one line, before any work) to write ``--output`` over a file emoboost did not write, or over an
    emoboost output of the other format (converting it would lose what it holds)."""
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return
        found = _written_format(path)
    except OSError as exc:
        raise ConfigError(f"--output {printable(path)}: cannot be read ({exc.strerror or exc})") from exc
    if found is None:
        raise ConfigError(
            f"--output {printable(path)}: exists and is not an emoboost output; refusing to replace it "
            "(choose another file)"
        )
    if found != fmt:
        raise ConfigError(
            f"--output {printable(path)}: holds earlier verdicts as {found.upper()}, not {fmt.upper()}; "
            f"rerun with --format {found} to resume it, or choose another file"
        )


def refuse_inputs_as_output(output: Path, inputs: Iterable[Path]) -> None:
    """``--output`` must not be one of the inputs (it would replace the evidence with its own verdicts)."""
    target = os.path.realpath(output)
    for path in inputs:
        if os.path.realpath(path) == target:
            raise ConfigError(f"--output {printable(output)}: is one of the inputs; refusing to overwrite it")


def identity(entry: dict[str, Any]) -> tuple[str | None, str | None, float | None, float | None]:
    """``(sha256, weights_sha256, threshold, prior)`` of a verdict entry or of a flat CSV row."""
    weights = (
        entry.get("provenance", {}).get("weights_sha256") if "provenance" in entry else entry.get("weights_sha256")
    )
    threshold, prior = entry.get("threshold"), entry.get("prior")
    threshold = None if threshold is None else round(float(threshold), 6)
    return entry.get("sha256"), weights, threshold, None if prior is None else float(prior)


def entry_key(path: str | Path) -> str:
    """How an input is recognised in an output file: its absolute path, escaped as the output holds it."""
    return printable(os.path.abspath(os.fspath(path)))


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def prepare_folder(folder: Path, option: str) -> Path:
    """Make sure ``folder`` exists (created if missing) and is writable, before any work; a one-line ConfigError
    if not."""
    try:
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{option} {printable(folder)}: is a file, not a folder")
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{option} {printable(folder)}: cannot create the folder ({exc.strerror or exc})") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {printable(folder)}: folder is not writable")
    return folder


def prepare_file(path: Path, option: str, companions: Iterable[str] = ()) -> Path:
    """Make sure file ``path`` can be written (its folder created if missing), before any work.

    ``companions`` are other names written beside it (a journal, a lock); every one, and the
    temporary name of an atomic write, must fit the file system's name limit."""
    if not path.name or path.name in (".", ".."):
        raise ConfigError(f"{option} {printable(path)}: needs a file name")
    folder = prepare_folder(path.parent, option)
    limit = _name_max(folder)
    for name in (path.name, *companions):
        if len(os.fsencode(name)) + TEMP_NAME_EXTRA > limit:
            raise ConfigError(
                f"{option} {printable(path)}: file name too long ({len(os.fsencode(path.name))} bytes; "
                f"at most {limit - TEMP_NAME_EXTRA - 9} here)"
            )
    try:
        if path.is_dir():
            raise ConfigError(f"{option} {printable(path)}: is a folder; give a file name")
        if path.exists() and not os.access(path, os.W_OK):
            raise ConfigError(f"{option} {printable(path)}: file is not writable")
    except OSError as exc:
        raise ConfigError(f"{option} {printable(path)}: cannot be used ({exc.strerror or exc})") from exc
    return path


class ResultLog:
    """The entries of one ``--output`` file: what is already done, and the journal that makes a crash harmless."""

    def __init__(self, output: str | Path, fmt: str):
        self.output = Path(output)
        prepare_file(self.output, "--output", (f".{self.output.name}.journal", f".{self.output.name}.lock"))
        self.journal = self.output.with_name(f".{self.output.name}.journal")
        self.lock_path = self.output.with_name(f".{self.output.name}.lock")
        self._lock = self._acquire_lock()
        self.fmt = fmt
        self.entries: dict[str, dict[str, Any]] = {}
        try:
            check_output_owner(self.output, fmt)
        except ConfigError:
            self._release()
            raise
        try:
            previous = _read_output(self.output, fmt)
        except (UnicodeDecodeError, csv.Error) as exc:
            self._release()
            raise ConfigError(
                f"--output {printable(self.output)}: not an emoboost output this run can resume ({exc}); "
                "choose another file"
            ) from exc
        for entry in previous + (_read_json_lines(self.journal) if self.journal.is_file() else []):
            self.entries[entry_key(entry["path"])] = entry
        self._handle: io.TextIOWrapper | None = None
        self._last_snapshot = time.monotonic()

    def _acquire_lock(self):
        """An exclusive lock on ``.<name>.lock`` for the whole run: two runs never interleave one output.

        The lock file is removed when the run ends; a run that locked a file another run had just
        removed (its inode is no longer at the path) tries again on the new one."""
        if fcntl is None:
            return None
        for _ in range(LOCK_ATTEMPTS):
            handle = open(self.lock_path, "a")  # noqa: SIM115  (held until close())
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                handle.close()
                raise ConfigError(
                    f"--output {printable(self.output)}: another emoboost run is writing it "
                    f"(lock {printable(self.lock_path)} is held)"
                ) from exc
            try:
                if os.stat(self.lock_path).st_ino == os.fstat(handle.fileno()).st_ino:
                    return handle
            except FileNotFoundError:
                pass
            handle.close()
        raise ConfigError(
            f"--output {printable(self.output)}: could not lock {printable(self.lock_path)} "
            "(other runs keep replacing it)"
        )

    def _release(self) -> None:
        if self._lock is not None:
            self.lock_path.unlink(missing_ok=True)  # while still locked: a waiting run re-checks the inode
            self._lock.close()
            self._lock = None

    def finished(
        self, path: str | Path, expected: Callable[[], tuple[str | None, str | None, float | None, float | None]]
    ) -> dict[str, Any] | None:
        """The verdict entry already recorded for ``path`` if its :func:`identity` equals ``expected()``.

        ``expected`` is called only when there is an entry (it hashes the file). Failures are retried.
        """
        entry = self.entries.get(entry_key(path))
        if entry is None or "error" in entry or entry.get("error_type"):
            return None
        return entry if identity(entry) == expected() else None

    def add(self, entry: dict[str, Any]) -> None:
        """Record one entry durably (journal line, fsynced); refresh the output now and then."""
        try:
            if self._handle is None:
                self._handle = open(self.journal, "a", encoding="utf-8")  # noqa: SIM115  (open for the whole batch)
                if self._handle.tell() > 0 and not self.journal.read_bytes().endswith(b"\n"):
                    self._handle.write("\n")  # end a line torn by a kill, so that it does not swallow this entry
            self._handle.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:  # a torn last line is ended by the next run; earlier lines are fsynced
            raise WriteError(
                f"--output {printable(self.output)}: cannot be written ({exc.strerror or exc}); the "
                f"{len(self.entries)} entries before this one are kept (rerun the same command to go on)"
            ) from exc
        self.entries[entry_key(entry["path"])] = entry
        if time.monotonic() - self._last_snapshot > SNAPSHOT_S:
            try:
                self._snapshot()
            except OSError as exc:  # the journal holds every entry: the output is refreshed at close
                logger.info("%s: not refreshed (%s); the journal has every entry", self.output, exc.strerror or exc)

    def _snapshot(self) -> None:
        write_text_atomic(self.output, render(self.entries.values(), self.fmt))
        self._last_snapshot = time.monotonic()

    def close(self) -> None:
        """Write the complete output atomically and drop the journal (call when the batch is done)."""
        try:
            if self._handle is not None:
                handle, self._handle = self._handle, None
                handle.close()
            self._snapshot()
        except OSError as exc:
            self._release()
            raise WriteError(
                f"--output {printable(self.output)}: cannot be written ({exc.strerror or exc}); its "
                f"{len(self.entries)} entries are kept in {printable(self.journal)} (rerun the same command to "
                "finish the file)"
            ) from exc
        self.journal.unlink(missing_ok=True)
        self._release()
