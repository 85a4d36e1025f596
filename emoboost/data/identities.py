"""Whose names a dataset's ``identity`` / ``ids`` columns are: one table of every dataset emoboost reads.

Two datasets' people can be compared by name only when both write the same person the same way. FakeAVCeleb,
AV-Deepfake1M and VoxCeleb2 all name people by their VoxCeleb2 id, lowercased (``idNNNNN``: see the readers and
docs/datasets.md), so a person in two of them has one name. Every other dataset names its people (or, where
no person is named, its recordings) in a space of its own, prefixed so that no name collides across datasets
(``lavdf:``, ``dfdc:``, ``vidtimit:``, ``lrs3:``, ``mead:``, ``ravdessNN``, ``cremadNNNN``). SynthAV numbers
its drawn people per generated set (``id00000``, ...): the same name in two sets, or in SynthAV and VoxCeleb2,
is not the same person, so SynthAV's names identify no one outside the set that made them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from emoboost.data.manifest import ManifestRow
from emoboost.errors import ConfigError

VOXCELEB2 = "voxceleb2"


@dataclasses.dataclass(frozen=True)
class IdentitySpace:
    """How one dataset names the people (or recordings) of its clips."""

    space: str | None  # datasets with the same space write the same person the same way; None: names of one set only
    unit: str  # what one name stands for: "person" or "recording"
    names: str  # how the names read, for reports


IDENTITY_SPACES: dict[str, IdentitySpace] = {
    "fakeavceleb": IdentitySpace(VOXCELEB2, "person", "VoxCeleb2 ids (idNNNNN) of every person a clip shows"),
    "avdeepfake1m": IdentitySpace(VOXCELEB2, "person", "VoxCeleb2 ids (idNNNNN) of the person folder"),
    "voxceleb2": IdentitySpace(VOXCELEB2, "person", "VoxCeleb2 ids (idNNNNN)"),
    "lavdf": IdentitySpace("lavdf", "recording", "lavdf:<source recording> (the metadata names no person)"),
    "dfdc": IdentitySpace("dfdc", "recording", "dfdc:<source recording> (the metadata names no actor)"),
    "deepfaketimit": IdentitySpace("vidtimit", "person", "vidtimit:<subject> of both people of a swap"),
    "lrs3": IdentitySpace("lrs3", "recording", "lrs3:<talk video> (no speaker named)"),
    "mead": IdentitySpace("mead", "person", "mead:<actor>"),
    "ravdess": IdentitySpace("ravdess", "person", "ravdessNN (actor)"),
    "cremad": IdentitySpace("cremad", "person", "cremadNNNN (actor)"),
    "synthav": IdentitySpace(None, "person", "drawn people numbered per generated set (id00000, ...)"),
}


def identity_space(dataset: str) -> IdentitySpace:
    """The :class:`IdentitySpace` of a dataset named as in :data:`IDENTITY_SPACES` (case-insensitive)."""
    found = IDENTITY_SPACES.get(dataset.lower())
    if found is None:
        raise ConfigError(f"unknown dataset {dataset!r}: name one of {', '.join(IDENTITY_SPACES)}")
    return found


def comparable(first: str, second: str) -> bool:
    """Whether the people of two datasets can be compared by name (one shared identity space)."""
    a, b = identity_space(first), identity_space(second)
    return a.space is not None and a.space == b.space


def people_of(rows: Iterable[ManifestRow]) -> set[str]:
    """Every identity name the rows carry: each row's ``identity`` and all of its ``ids``."""
    return {name for row in rows for name in (row.identity, *row.ids) if name}
