"""Batches of files: every input gets a result (a verdict or the reason it has none), a crash or rerun loses nothing.

:func:`predict_each` is what ``Detector.predict`` does on a list: one :class:`Verdict` or one
:class:`Failure` per input, in order; an unusable file never costs the others their verdicts.
:func:`run_batch` is the batch ``emoboost detect`` runs, for Python callers too: it resumes from a
:class:`~emoboost.detector.outputs.ResultLog` (an entry whose file, detector and decision are
unchanged is taken as it is), writes each result there as it comes, makes the extras (timelines,
case reports) of each verdict, where a failing extra is reported and never costs the verdict, and
returns a :class:`BatchResult` whose ``exit_code`` follows the command line's rule (0 all done,
1 some inputs failed or some extras were not written). Progress and problems reach the caller
through callbacks; nothing here prints.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from emoboost.detector.outputs import ResultLog
from emoboost.detector.verdict import Decision, Failure, Verdict
from emoboost.errors import MediaError, WriteError
from emoboost.files import sha256_file
from emoboost.text import printable


class Detector(Protocol):
    """What a batch needs of :class:`emoboost.detector.detector.Detector` (which imports this module)."""

    @property
    def weights_sha256(self) -> str | None: ...

    def predict(
        self,
        paths: Path,
        allow_audio_only: bool = False,
        threshold: float | None = None,
        prior: float = 0.5,
        target_fpr: float | None = None,
    ) -> Verdict: ...

    def decision(
        self, prior: float = 0.5, threshold: float | None = None, target_fpr: float | None = None
    ) -> Decision: ...


Result = Verdict | Failure


def as_paths(paths: str | bytes | os.PathLike | Iterable[str | bytes | os.PathLike]) -> tuple[bool, list[Path]]:
    """``(one, paths)``: whether a single path was given, and the inputs as paths (bytes decoded as the OS does)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        return True, [Path(os.fsdecode(paths))]
    try:
        items = list(paths)
    except TypeError as exc:
        raise TypeError(f"expected a path or a list of paths, not {type(paths).__name__}") from exc
    for item in items:
        if not isinstance(item, (str, bytes, os.PathLike)):
            raise TypeError(f"expected a path, not {type(item).__name__} ({printable(repr(item))})")
    return False, [Path(os.fsdecode(item)) for item in items]


def predict_each(detector: Detector, paths: Sequence[Path], **options: Any) -> Iterator[tuple[Path, Result]]:
    """Each path with its verdict, or with the :class:`Failure` that says why it has none, in order.

    ``options`` are :meth:`Detector.predict`'s (``allow_audio_only``, ``threshold``, ``prior``, ``target_fpr``)."""
    for path in paths:
        try:
            yield path, detector.predict(path, **options)
        except MediaError as exc:
            yield path, Failure.of(path, exc)


@dataclasses.dataclass
class BatchResult:
    """What a batch did: one entry per input (verdict dicts, and failure entries), and the counts."""

    entries: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # the verdicts', in input order
    failures: list[Failure] = dataclasses.field(default_factory=list)
    resumed: int = 0  # entries taken from the result log of an earlier run
    unwritten: int = 0  # extras (plots, reports) that could not be written
    stopped: str = ""  # why the batch stopped early (its output could not be written), "" when it went through
    not_attempted: int = 0  # inputs left when it stopped

    @property
    def exit_code(self) -> int:
        """0 when every input has a verdict and every extra was written, else 1 (the CLI's rule)."""
        return 1 if self.failures or self.unwritten or self.stopped else 0

    @property
    def fakes(self) -> int:
        return sum(entry.get("label") == "fake" for entry in self.entries)


def _entry(verdict: Verdict) -> dict[str, Any]:
    return {**verdict.to_dict(), "path": printable(verdict.path)}


def run_batch(
    detector: Detector,
    paths: Sequence[Path],
    *,
    allow_audio_only: bool = False,
    prior: float = 0.5,
    threshold: float | None = None,
    target_fpr: float | None = None,
    log: ResultLog | None = None,
    extras: Mapping[str, Callable[[Verdict], None]] | None = None,
    extras_done: Callable[[dict[str, Any]], bool] = lambda entry: True,
    on_start: Callable[[Path], None] = lambda path: None,
    on_result: Callable[[Path, Result | None, dict[str, Any]], None] = lambda path, result, entry: None,
    on_extra_failed: Callable[[Verdict, str, str], None] = lambda verdict, what, cause: None,
) -> BatchResult:
    """Verdicts for ``paths``, resumed from and written to ``log``, with ``extras`` made for each new verdict.

    ``extras`` maps a name ("timeline", "case report") to a writer; ``extras_done(entry)`` says
    whether a resumed entry's extras exist (else it is computed again). ``on_result(path, result,
    entry)`` follows every input (``result`` None for a resumed entry); ``on_extra_failed(verdict,
    what, cause)`` every extra that could not be written (the verdict is kept).
    """
    decision = detector.decision(prior, threshold, target_fpr)  # a bad option is refused before any work
    options = {"allow_audio_only": allow_audio_only, "threshold": threshold, "prior": prior, "target_fpr": target_fpr}
    batch = BatchResult()

    def expected(path: Path) -> tuple[str | None, str | None, float | None, float | None]:
        try:
            return sha256_file(path), detector.weights_sha256, decision.threshold, decision.prior
        except OSError:
            return None, None, None, None

    for number, path in enumerate(paths):
        on_start(path)
        entry = log.finished(path, functools.partial(expected, path)) if log is not None else None
        if entry is not None and extras_done(entry):
            batch.resumed += 1
            batch.entries.append(entry)
            on_result(path, None, entry)
            continue
        ((_, result),) = predict_each(detector, [path], **options)
        if isinstance(result, Failure):
            batch.failures.append(result)
            entry = result.to_dict()
        else:
            for what, write in (extras or {}).items():
                try:
                    write(result)
                except Exception as exc:  # noqa: BLE001  (an extra: whatever breaks it must not cost the verdict)
                    batch.unwritten += 1
                    cause = getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
                    on_extra_failed(result, what, printable(cause))
            entry = _entry(result)
            batch.entries.append(entry)
        stop = ""
        if log is not None:
            try:
                log.add(entry)
            except WriteError as exc:  # the verdict is still shown; the rest would be lost the same way
                stop = str(exc)
        on_result(path, result, entry)
        if stop:
            batch.stopped, batch.not_attempted = stop, len(paths) - number - 1
            break
    return batch
