"""The cross-dataset evaluation's checks of who and what the detector learnt from (benchmark stage): a test
person among its training people where both datasets name people alike, or a file in both sets, refuses the run;
so does a separately trained consistency detector whose real clips include a test file or (where its recorded
dataset names people as the test set does) a test person; what could not be checked is said in the report. The
identity spaces are :mod:`emoboost.data.identities`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emoboost.benchmark.cross_config import CrossDatasetConfig
from emoboost.data.identities import comparable, identity_space, people_of
from emoboost.data.manifest import ManifestRow, read_manifest
from emoboost.errors import ConfigError
from emoboost.text import printable
from emoboost.training.detector import pretrained_people, pretrained_sources

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


def other_training_people(
    detector: Detector, config: CrossDatasetConfig, tested: Sequence[ManifestRow], test_records: Sequence[Any]
) -> list[dict[str, Any]]:
    """Real clips of other sets the detector's consistency model trained on (a pretrained consistency detector, or
    further real clips), compared with the test set (:func:`check_consistency_source` refuses what it can)."""
    data = detector.meta.get("data", {})
    sources: list[dict[str, Any]] = []
    for kind, where in (
        ("consistency detector trained separately", data.get("consistency_from")),
        ("further real clips", (data.get("extra_real") or {}).get("manifest")),
    ):
        if not where:
            continue
        path = Path(where)
        if kind.startswith("consistency"):
            sources.append(check_consistency_source(path, config, tested, test_records))
            continue
        people = people_of(read_manifest(path)) if path.is_file() else None
        sources.append(
            {
                "kind": kind,
                "source": str(path),
                "dataset": None,
                "people": None if people is None else len(people),
                "same_names_as_test": None if people is None else len(people & people_of(tested)),
                "checked": False,
                "files_checked": False,
            }
        )
    return sources


def check_consistency_source(
    folder: Path, config: CrossDatasetConfig, tested: Sequence[ManifestRow], test_records: Sequence[Any]
) -> dict[str, Any]:
    """A consistency detector of ``emoboost train-consistency`` against the test set: refused (one line) when it
    trained on a test file (by content) or, where its recorded dataset and the test set name people alike, on a test
    person; else what was and was not checked."""
    kind = "consistency detector trained separately"
    if not (folder / "config.json").is_file():
        return {"kind": kind, "source": str(folder), "dataset": None, "people": None, "same_names_as_test": None,
                "checked": False, "files_checked": False}  # fmt: skip
    people, test_people = pretrained_people(folder), people_of(tested)
    dataset, files = pretrained_sources(folder)
    test_files = {sha: path for path, sha, _ in test_records if sha}
    if files is not None:
        overlap = sorted(files & set(test_files))
        if overlap:
            raise ConfigError(
                f"{printable(config.test.manifest)}: {printable(test_files[overlap[0]])} is a real clip the "
                f"consistency detector {printable(folder)} trained on ({len(overlap)} such files); leave them out of "
                "the test manifest"
            )
    checked = dataset is not None and comparable(dataset, config.test.dataset)
    shared = sorted(people & test_people)
    if checked and shared:
        raise ConfigError(
            f"{len(shared)} of the {len(test_people)} people of {config.test.dataset}'s {config.test.split} split are "
            f"among the people the consistency detector {printable(folder)} trained on ({printable(dataset)}; first: "
            f"{printable(shared[0])}): both name people the same way, so its rows would be tested on people it learnt "
            "from; leave them out of the test manifest or train it again with --exclude"
        )
    return {
        "kind": kind,
        "source": str(folder),
        "dataset": dataset,
        "people": len(people),
        "same_names_as_test": len(shared),
        "checked": checked,
        "files_checked": files is not None,
    }


def check_files(trained: list[Any], tested: list[Any], config: CrossDatasetConfig) -> None:
    """A file (by content) in the detector's training data and in the test set is refused."""
    seen = {sha: path for path, sha, _ in trained if sha}
    for path, sha, _ in tested:
        if sha and sha in seen:
            raise ConfigError(
                f"{config.test.manifest}: {printable(path)} is the same file as {printable(seen[sha])} of the "
                f"detector's training data ({config.train.manifest}); leave it out of the test manifest"
            )
