"""Leave-one-category-out folds over the five FakeAVCeleb manipulation categories.

One identity partition (train / val / test identities, drawn with a fixed seed, keeping
identities that share clips together where it can) serves every fold. A clip belongs to a split only when **every** identity token it carries (folder id and
the ids in its file name) lies in that split's identities; clips that straddle splits are
left out and counted. So a test clip shares no identity with any training or validation
clip, real or fake, and the real clips of train, val and test come from disjoint people.

Fold for held-out category H:

- train / val: real clips + the clips of the four other categories, from train / val identities;
- test: real clips + the clips of H, from test identities;
- clips of categories outside the five (FakeAVCeleb's FVRA-faceswap / FVRA-fsgan) are left out.

The fusion of EMO-BOOST is fitted on val, which never contains H.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emoboost.config import from_dict, load_yaml, require
from emoboost.data.manifest import CATEGORIES, REAL, ManifestRow, write_manifest
from emoboost.errors import ConfigError

SPLITS = ("train", "val", "test")
MAX_WHOLE_COMPONENT = 0.25  # components up to this share of all identities are never cut


@dataclasses.dataclass(frozen=True)
class ProtocolConfig:
    """configs/protocols/*.yaml"""

    categories: tuple[str, ...] = CATEGORIES  # each is held out once
    identity_fractions: tuple[float, float, float] = (0.55, 0.15, 0.30)  # train, val, test identities
    seed: int = 0

    def validate(self) -> None:
        require(len(self.categories) >= 2, "protocol.categories needs at least two categories")
        require(len(set(self.categories)) == len(self.categories), "protocol.categories has duplicates")
        require(all(f > 0 for f in self.identity_fractions), "protocol.identity_fractions must be > 0")
        require(abs(sum(self.identity_fractions) - 1) < 1e-6, "protocol.identity_fractions must sum to 1")


def load_protocol(path: str | Path | None) -> ProtocolConfig:
    """A protocol config from YAML (top-level keys of :class:`ProtocolConfig`); defaults when None."""
    if path is None:
        return ProtocolConfig()
    try:
        return from_dict(ProtocolConfig, load_yaml(path), "protocol")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def identity_components(rows: Sequence[ManifestRow]) -> list[list[str]]:
    """Groups of identities linked by clips (a clip links all of its ids), each sorted, largest first."""
    parent: dict[str, str] = {}

    def find(identity: str) -> str:
        parent.setdefault(identity, identity)
        while parent[identity] != identity:
            parent[identity] = parent[parent[identity]]
            identity = parent[identity]
        return identity

    for row in rows:
        roots = [find(i) for i in row.ids]
        for root in roots[1:]:
            parent[find(root)] = find(roots[0])
    groups: dict[str, list[str]] = {}
    for identity in sorted(parent):
        groups.setdefault(find(identity), []).append(identity)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def partition_identities(rows: Sequence[ManifestRow], config: ProtocolConfig) -> dict[str, str]:
    """Identity -> split, deterministic for a seed.

    Identities linked by clips (connected components of the identity graph) are kept
    together where possible, so few clips straddle splits: components are shuffled and each
    goes whole (largest first) to the split furthest below its share of identities. A component holding more
    than ``MAX_WHOLE_COMPONENT`` of all identities (FakeAVCeleb's cross-identity fakes may link
    most people) is cut identity by identity at the same fractions; the clips it loses are
    counted in the fold table.
    """
    rng = np.random.default_rng(config.seed)
    components = identity_components(rows)
    total = sum(len(c) for c in components)
    fractions = np.asarray(config.identity_fractions)
    assignment: dict[str, str] = {}
    whole = [c for c in components if len(c) <= MAX_WHOLE_COMPONENT * total]
    for component in components:
        if len(component) > MAX_WHOLE_COMPONENT * total:
            order = [component[i] for i in rng.permutation(len(component))]
            cuts = np.round(np.cumsum(fractions) * len(order)).astype(int)
            for split, start, stop in zip(SPLITS, [0, *cuts[:-1]], cuts):
                assignment.update({identity: split for identity in order[start:stop]})
    counts = np.array([sum(1 for s in assignment.values() if s == split) for split in SPLITS], float)
    tie_break = rng.permutation(len(whole))
    for index in sorted(range(len(whole)), key=lambda i: (-len(whole[i]), tie_break[i])):  # largest first packs best
        component = whole[index]
        deficit = fractions * total - counts
        split = int(np.argmax(deficit))
        assignment.update({identity: SPLITS[split] for identity in component})
        counts[split] += len(component)
    return assignment


def split_of(row: ManifestRow, assignment: dict[str, str]) -> str | None:
    """The split that holds every identity of the clip, or None when its identities straddle splits."""
    splits = {assignment.get(i) for i in row.ids} or {None}
    return splits.pop() if len(splits) == 1 else None


@dataclasses.dataclass(frozen=True)
class Fold:
    held_out: str
    rows: tuple[ManifestRow, ...]  # with split set
    straddling: int  # usable clips left out because their identities straddle splits

    def counts(self) -> dict[str, tuple[int, int]]:
        """split -> (real clips, fake clips)."""
        return {s: (sum(r.split == s and r.label == 0 for r in self.rows), sum(r.split == s and r.label == 1 for r in self.rows)) for s in SPLITS}


def make_folds(rows: Sequence[ManifestRow], config: ProtocolConfig | None = None) -> list[Fold]:
    """One :class:`Fold` per category in ``config.categories``."""
    config = config or ProtocolConfig()
    present = {row.category for row in rows}
    absent = [c for c in config.categories if c not in present]
    if absent:
        raise ConfigError(f"no clips of categor{'y' if len(absent) == 1 else 'ies'} {', '.join(absent)} in the manifest")
    if REAL not in present:
        raise ConfigError("no real clips in the manifest")
    assignment = partition_identities(rows, config)
    folds = []
    for held_out in config.categories:
        chosen, straddling = [], 0
        for row in rows:
            if row.category != REAL and row.category not in config.categories:
                continue
            split = split_of(row, assignment)
            if split is None:
                straddling += 1
                continue
            wanted = row.category == REAL or (row.category == held_out) == (split == "test")
            if wanted:
                chosen.append(dataclasses.replace(row, split=split))
        folds.append(Fold(held_out, tuple(chosen), straddling))
    return folds


def check_fold(fold: Fold) -> None:
    """Raise if the fold breaks the protocol (used by tests and before every benchmark)."""
    by_split = {s: [r for r in fold.rows if r.split == s] for s in SPLITS}
    ids = {s: {i for r in by_split[s] for i in r.ids} for s in SPLITS}
    for a, b in (("train", "test"), ("val", "test"), ("train", "val")):
        shared = ids[a] & ids[b]
        if shared:
            raise ConfigError(f"fold {fold.held_out}: {a} and {b} share identities {sorted(shared)[:5]}")
    if any(r.category == fold.held_out for r in by_split["train"] + by_split["val"]):
        raise ConfigError(f"fold {fold.held_out}: the held-out category appears in train or val")
    if any(r.label == 1 and r.category != fold.held_out for r in by_split["test"]):
        raise ConfigError(f"fold {fold.held_out}: test holds fakes of other categories")


def write_folds(folds: Sequence[Fold], folder: str | Path) -> list[Path]:
    """``<folder>/<category>.csv`` per fold (manifest columns + split)."""
    return [write_manifest(Path(folder) / f"{fold.held_out}.csv", fold.rows) for fold in folds]


def fold_table(folds: Sequence[Fold]) -> list[list[str]]:
    """Rows of the fold-size table: held out, then real/fake per split, then clips left out."""
    table = []
    for fold in folds:
        counts = fold.counts()
        table.append([fold.held_out, *(f"{counts[s][0]}/{counts[s][1]}" for s in SPLITS), str(fold.straddling)])
    return table


FOLD_TABLE_HEADER = ["held out", "train real/fake", "val real/fake", "test real/fake", "left out (ids straddle splits)"]
