"""Scores of detectors emoboost does not ship (AVAD, RealForensics, ...): ``path,score`` CSV files.

A score file lets a researcher boost any detector with EmoForensics: its scores become one more
logit in the EMO-BOOST fusion. Scores that all lie in [0, 1] are read as probabilities and
turned into logits; anything else is used as a logit as it is. Paths are matched to manifest
paths exactly, then by the path's tail (so absolute paths from another machine still match when
their last components agree); a clip without a score has a missing logit.

In the benchmark an external detector is named ``NAME=PATH``. PATH is a folder with one
``<category>.csv`` per fold, scored by a detector trained on that fold's training data; a single
file serves every fold only when the detector never saw the benchmark's data
(``--external-untrained``): a detector trained on the dataset has seen each held-out category.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

from emoboost.errors import ConfigError

PROBABILITY_EPSILON = 1e-6


class ExternalScores:
    """Logits of one external detector, looked up by clip path."""

    def __init__(self, path: str | Path, name: str | None = None):
        self.path = Path(path)
        self.name = name or self.path.stem
        try:
            with open(self.path, newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                if not reader.fieldnames or not {"path", "score"} <= set(reader.fieldnames):
                    raise ConfigError(f"{self.path}: a score file needs 'path' and 'score' columns")
                raw = {row["path"].replace("\\", "/"): float(row["score"]) for row in reader}
        except FileNotFoundError as exc:
            raise ConfigError(f"{self.path}: score file not found") from exc
        except ValueError as exc:
            raise ConfigError(f"{self.path}: a score is not a number ({exc})") from exc
        self.probabilities = bool(raw) and all(0.0 <= v <= 1.0 for v in raw.values())
        self.scores = {path: self._to_logit(value) for path, value in raw.items()}
        self._by_tail: dict[str, list[float]] = {}
        for path, value in self.scores.items():
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts) + 1):
                self._by_tail.setdefault("/".join(parts[-depth:]), []).append(value)

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
