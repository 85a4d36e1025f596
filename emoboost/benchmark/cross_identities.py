"""The cross-dataset evaluation's checks of who and what the detector learnt from (benchmark stage): a test
person among its training people where both datasets name people alike, or a file in both sets, refuses the run;
people brought in by a separately trained consistency detector are counted for the report. The identity spaces
are :mod:`emoboost.data.identities`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emoboost.benchmark.cross_config import CrossDatasetConfig
from emoboost.data.identities import comparable, identity_space, people_of
from emoboost.data.manifest import ManifestRow, read_manifest
from emoboost.errors import ConfigError
from emoboost.text import printable
from emoboost.training.detector import pretrained_people

if TYPE_CHECKING:
    from emoboost.detector.detector import Detector


def check_identities(
    config: CrossDatasetConfig, trained: Sequence[ManifestRow], tested: Sequence[ManifestRow]
) -> dict[str, Any]:
    """The identity rule (module docstring): raises :class:`ConfigError` naming the first shared person when A and B
    share an identity space and a test person trained; else says what was (or could not be) checked."""
    a, b = config.train, config.test
    space_a, space_b = identity_space(a.dataset), identity_space(b.dataset)
    test_people = people_of(tested)
    entry: dict[str, Any] = {
        "train": {"dataset": a.dataset, "names": space_a.names, "people": len(people_of(trained))},
        "test": {"dataset": b.dataset, "names": space_b.names, "people": len(test_people)},
    }
    if not comparable(a.dataset, b.dataset):
        local = [
            f"{d}'s names, {s.names}, identify no one outside the set that made them"
            for d, s in ((a.dataset, space_a), (b.dataset, space_b))
            if s.space is None
        ]
        reason = "; ".join(local) or (
            f"{a.dataset} names {space_a.names} and {b.dataset} {space_b.names}: no shared identity space"
        )
        statement = f"Identities could not be checked ({reason}), so a person in both sets cannot be found by name."
        return {**entry, "checked": False, "statement": statement}
    shared = sorted(people_of(trained) & test_people)
    if shared:
        raise ConfigError(
            f"{len(shared)} of the {len(test_people)} people of {b.dataset}'s {b.split} split are among the "
            f"detector's training people ({a.dataset}, {a.manifest}; first: {printable(shared[0])}): both name "
            f"{space_a.unit}s the same way, so this would test on people it learnt from; leave them out of the test "
            "manifest"
        )
    unit = "recordings" if space_a.unit == "recording" else "people"
    statement = (
        f"Identities checked: none of the {len(test_people)} {unit} tested is among the {entry['train']['people']} "
        f"{unit} of the detector's training data (its train, val and calib rows; both datasets write "
        f"{space_a.names})."
    )
    if unit == "recordings":
        statement += " Recording-disjoint only: one person may appear under several recordings."
    return {**entry, "checked": True, "space": space_a.space, "statement": statement}


def other_training_people(detector: Detector, tested: Sequence[ManifestRow]) -> list[dict[str, Any]]:
    """Real clips of other sets the detector's consistency model trained on (a pretrained consistency detector, or
    further real clips): their dataset is not recorded, so their people are compared by name only, for the report."""
    data = detector.meta.get("data", {})
    test_people = people_of(tested)
    sources: list[dict[str, Any]] = []
    for kind, where in (
        ("consistency detector trained separately", data.get("consistency_from")),
        ("further real clips", (data.get("extra_real") or {}).get("manifest")),
    ):
        if not where:
            continue
        path = Path(where)
        people: set[str] | None = None
        if kind.startswith("consistency") and (path / "config.json").is_file():
            people = pretrained_people(path)
        elif path.is_file():
            people = people_of(read_manifest(path))
        sources.append(
            {
                "kind": kind,
                "source": str(path),
                "people": None if people is None else len(people),
                "same_names_as_test": None if people is None else len(people & test_people),
            }
        )
    return sources


def check_files(trained: list[Any], tested: list[Any], config: CrossDatasetConfig) -> None:
    """A file (by content) in the detector's training data and in the test set is refused."""
    seen = {sha: path for path, sha, _ in trained if sha}
    for path, sha, _ in tested:
        if sha and sha in seen:
            raise ConfigError(
                f"{config.test.manifest}: {printable(path)} is the same file as {printable(seen[sha])} of the "
                f"detector's training data ({config.train.manifest}); leave it out of the test manifest"
            )
