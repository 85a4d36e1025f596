"""Scores of detectors emoboost does not ship (AVAD, RealForensics, ...): ``path,score`` CSV files.

A score file lets a researcher boost any detector with EmoForensics: its scores become one more
logit in the EMO-BOOST fusion. Scores that all lie in [0, 1] are read as probabilities and
turned into logits; anything else is used as a logit as it is. Paths are matched to manifest
paths exactly, then by the path's tail (so absolute paths from another machine still match when
their last components agree). Every row needs a path and a finite score and no path may appear twice;
the benchmark checks before any training that each fold's calibration and test clips have a score.

In the benchmark an external detector is named ``NAME=PATH``. PATH is a folder with one
``<category>.csv`` per fold, scored by a detector trained on that fold's training data; a single
file serves every fold only when the detector never saw the benchmark's data
(``--external-untrained``): a detector trained on the dataset has seen each held-out category.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

from emoboost.errors import ConfigError
from emoboost.text import printable

PROBABILITY_EPSILON = 1e-6


class ExternalScores:
    """Logits of one external detector, looked up by clip path."""

    def __init__(self, path: str | Path, name: str | None = None):
        self.path = Path(path)
        self.name = name or self.path.stem
        raw = self._read()
        self.probabilities = bool(raw) and all(0.0 <= v <= 1.0 for v in raw.values())
        self.scores = {path: self._to_logit(value) for path, value in raw.items()}
        self._by_tail: dict[str, list[float]] = {}
        for path, value in self.scores.items():
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts) + 1):
                self._by_tail.setdefault("/".join(parts[-depth:]), []).append(value)

    def _read(self) -> dict[str, float]:
        """``path -> score``, every row checked: a path and a finite score on each, no path twice."""
        raw: dict[str, float] = {}
        first_line: dict[str, int] = {}
        try:
            with open(self.path, newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                if not reader.fieldnames or not {"path", "score"} <= set(reader.fieldnames):
                    raise ConfigError(f"{printable(self.path)}: a score file needs 'path' and 'score' columns")
                for row in reader:
                    line = reader.line_num
                    path, text = (row.get("path") or "").strip(), (row.get("score") or "").strip()
                    where = f"{printable(self.path)} line {line}"
                    if not path:
                        raise ConfigError(f"{where}: no path")
                    if not text:
                        raise ConfigError(f"{where}: no score for {printable(path)}")
                    try:
                        value = float(text)
                    except ValueError as exc:
                        raise ConfigError(f"{where}: a score is not a number ({printable(text)!r})") from exc
                    if not math.isfinite(value):
                        raise ConfigError(f"{where}: the score of {printable(path)} is {text}, not a finite number")
                    key = path.replace("\\", "/")
                    if key in raw:
                        raise ConfigError(f"{where}: {printable(path)} is scored twice (also line {first_line[key]})")
                    raw[key], first_line[key] = value, line
        except FileNotFoundError as exc:
            raise ConfigError(f"{printable(self.path)}: score file not found") from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ConfigError(f"{printable(self.path)}: not a UTF-8 CSV score file ({exc})") from exc
        except OSError as exc:
            raise ConfigError(f"{printable(self.path)}: cannot be read ({exc.strerror or exc})") from exc
        return raw

    def check_covers(self, paths: Sequence[str], what: str) -> None:
        """Refuse a score file that has no (unambiguous) score for some of ``paths`` (e.g. a fold's test clips)."""
        missing = [p for p in paths if math.isnan(self.logit(p))]
        if missing:
            raise ConfigError(
                f"{printable(self.path)}: no score (or more than one by the path's tail) for {len(missing)} of the "
                f"{len(paths)} {what}, e.g. {printable(missing[0])}"
            )

    def _to_logit(self, value: float) -> float:
        if not self.probabilities:
            return value
        p = min(max(value, PROBABILITY_EPSILON), 1 - PROBABILITY_EPSILON)
        return math.log(p / (1 - p))

    def logit(self, clip_path: str) -> float:
        """The clip's logit, or NaN when the file has no (unambiguous) score for it."""
        key = clip_path.replace("\\", "/")
        if key in self.scores:
            return self.scores[key]
        matches = self._by_tail.get(key.strip("/"), [])
        return matches[0] if len(matches) == 1 else float("nan")


@dataclasses.dataclass(frozen=True)
class ExternalDetector:
    """``NAME=PATH``: per-fold score files in a folder, or one file for a detector that never saw the data."""

    name: str
    path: Path
    untrained: bool = False

    @classmethod
    def parse(cls, spec: str, untrained: bool = False) -> ExternalDetector:
        """``NAME=PATH`` (or a bare PATH, named after its stem); checks that the path fits the claim."""
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).stem, spec
        detector = cls(name.strip(), Path(path), untrained)
        if not detector.name:
            raise ConfigError(f"external detector {spec!r}: empty name (use NAME=PATH)")
        if untrained:
            if not detector.path.is_file():
                raise ConfigError(f"--external-untrained {spec}: {detector.path} is not a score file (path,score CSV)")
        elif detector.path.is_file():
            raise ConfigError(
                f"--external {spec}: one score file for every fold leaks the held-out category (a detector trained on "
                "this dataset has seen it). Give a folder with one <category>.csv per fold, each from a detector "
                "trained on that fold's training data, or pass --external-untrained NAME=FILE if the detector never "
                "saw this data"
            )
        elif not detector.path.is_dir():
            raise ConfigError(f"--external {spec}: {detector.path} not found (a folder of <category>.csv score files)")
        return detector

    def file_for(self, category: str) -> Path:
        """The score file of one fold."""
        if self.untrained:
            return self.path
        path = self.path / f"{category}.csv"
        if not path.is_file():
            raise ConfigError(f"external {self.name}: no score file {path} for fold {category}")
        return path

    def scores_for(self, category: str) -> ExternalScores:
        return ExternalScores(self.file_for(category), self.name)
