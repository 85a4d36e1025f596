"""Leave-one-category-out folds over the five FakeAVCeleb manipulation categories.

One identity partition (train / val / calib / test identities, drawn with a fixed seed within
each ethnicity x gender group: see :mod:`emoboost.data.partition`) serves every fold. A clip
belongs to a split only when **every** identity token it carries (folder id and the ids in its
file name) lies in that split's identities; clips that straddle splits are left out and counted.
So a test clip shares no identity with any train, val or calib clip, real or fake, and the real
clips of the four splits come from disjoint people.

Fold for held-out category H:

- train / val / calib: real clips + the clips of the four other categories, from their identities;
- test: real clips + the clips of H, from test identities;
- clips of categories outside the five (FakeAVCeleb's FVRA-faceswap / FVRA-fsgan) are left out.

``val`` only early-stops networks; ``calib`` only fits fusions and thresholds; neither holds H.

Clips of the ``controls`` categories (SynthAV v3's emotion-only re-voicing ``RVFA-EMO`` by default;
absent from FakeAVCeleb) whose people are test people join every fold as split ``control``: never
trained on and never in the test metrics, they are the benchmark's re-voicing control, each scored
against the real test clip of its recording. Including them changes no identity's split.

With ``sample`` set (configs/protocols/fakeavceleb_avad.yaml) each fold is then drawn, by seed,
to the sizes of the published tables: ``train_real`` real + ``train_fake`` fake clips over
train / val / calib (the fakes evenly over the training categories) and ``test_real`` +
``test_fake`` for test. A pool smaller than its request is taken whole and reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emoboost.config import from_dict, load_yaml, require
from emoboost.data.manifest import CATEGORIES, REAL, ManifestRow, write_manifest
from emoboost.data.partition import largest_remainder, stratified_partition
from emoboost.errors import ConfigError

SPLITS = ("train", "val", "calib", "test")
CONTROL_SPLIT = "control"  # test people's clips of the protocol's control categories (never trained on or tested)
FIT_SPLITS = ("train", "val", "calib")  # never hold the held-out category


@dataclasses.dataclass(frozen=True)
class SampleSizes:
    """Clips drawn per fold (the published tables' sizes by default)."""

    train_real: int = 400  # real clips over train + val + calib
    train_fake: int = 2000  # fakes over train + val + calib, evenly over the training categories
    test_real: int = 100
    test_fake: int = 500  # of the held-out category

    def validate(self) -> None:
        require(
            min(self.train_real, self.train_fake, self.test_real, self.test_fake) >= 1,
            "protocol.sample sizes must be >= 1",
        )


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """One fold that holds out several categories at once (leave one generator out: every category made with
    the held-out generator leaves training)."""

    name: str  # the fold's name (its file is <name>.csv; the benchmark's categories name folds by it)
    categories: tuple[str, ...]  # every category of the fold's test fakes; none of them is trained on

    def validate(self) -> None:
        require(bool(self.name) and "/" not in self.name, "protocol.held_out: every fold needs a plain name")
        require(bool(self.categories), f"protocol.held_out {self.name}: name at least one category")


@dataclasses.dataclass(frozen=True)
class ProtocolConfig:
    """configs/protocols/*.yaml"""

    categories: tuple[str, ...] = CATEGORIES  # each is held out once (unless held_out names the folds)
    identity_fractions: tuple[float, ...] = (0.50, 0.10, 0.10, 0.30)  # train, val, calib, test identities
    stratify_by: tuple[str, ...] = ()  # manifest columns (race, gender): identities split within each group
    sample: SampleSizes | None = None  # None: every clip of the fold's identities
    seed: int = 0
    held_out: tuple[HeldOut, ...] = ()  # folds holding out several categories each (empty: one per category)
    controls: tuple[str, ...] = ("RVFA-EMO",)  # categories kept for test people as control rows (module docstring)

    def validate(self) -> None:
        require(len(self.categories) >= 2, "protocol.categories needs at least two categories")
        both = sorted(set(self.controls) & {*self.categories, REAL})
        require(not both, f"protocol.controls: {', '.join(both)} cannot be a control and a category")
        for fold in self.held_out:
            outside = [c for c in fold.categories if c not in self.categories]
            require(not outside, f"protocol.held_out {fold.name}: {', '.join(outside)} not in protocol.categories")
            require(
                len(fold.categories) < len(self.categories),
                f"protocol.held_out {fold.name}: holds out every category (nothing left to train on)",
            )
        names = [f.name for f in self.held_out]
        require(len(set(names)) == len(names), "protocol.held_out: two folds share a name")
        require(self.sample is None or not self.held_out, "protocol.sample cannot be combined with held_out")
        require(len(set(self.categories)) == len(self.categories), "protocol.categories has duplicates")
        require(
            len(self.identity_fractions) == len(SPLITS),
            "protocol.identity_fractions needs 4 values: train, val, calib, test",
        )
        require(all(f > 0 for f in self.identity_fractions), "protocol.identity_fractions must be > 0")
        require(abs(sum(self.identity_fractions) - 1) < 1e-6, "protocol.identity_fractions must sum to 1")
        require(
            all(key in ("race", "gender") for key in self.stratify_by),
            "protocol.stratify_by may name race and gender only",
        )

    def fold_names(self) -> tuple[str, ...]:
        """The folds this protocol makes: one per ``held_out`` entry, else one per category."""
        return tuple(f.name for f in self.held_out) or self.categories


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
    """Identity -> split, deterministic for a seed: stratified within groups (:mod:`emoboost.data.partition`)."""
    return stratified_partition(rows, config.identity_fractions, SPLITS, config.stratify_by, config.seed)[0]


def split_of(row: ManifestRow, assignment: dict[str, str]) -> str | None:
    """The split that holds every identity of the clip, or None when its identities straddle splits."""
    splits = {assignment.get(i) for i in row.ids} or {None}
    return splits.pop() if len(splits) == 1 else None


@dataclasses.dataclass(frozen=True)
class Fold:
    held_out: str
    rows: tuple[ManifestRow, ...]  # with split set
    straddling: int  # usable clips left out because their identities straddle splits
    groups: dict[str, str] = dataclasses.field(default_factory=dict, compare=False)  # identity -> group
    assignment: dict[str, str] = dataclasses.field(default_factory=dict, compare=False)  # identity -> split
    dropped: dict[str, int] = dataclasses.field(default_factory=dict, compare=False)  # group -> straddling clips
    shortfalls: tuple[str, ...] = ()  # sampled protocol: pools smaller than requested

    categories: tuple[str, ...] = ()  # the categories held out together (empty: the one named held_out)

    @property
    def held_out_categories(self) -> tuple[str, ...]:
        return self.categories or (self.held_out,)

    def counts(self) -> dict[str, tuple[int, int]]:
        """split -> (real clips, fake clips)."""
        return {
            s: (
                sum(r.split == s and r.label == 0 for r in self.rows),
                sum(r.split == s and r.label == 1 for r in self.rows),
            )
            for s in SPLITS
        }

    def group_counts(self) -> dict[str, dict[str, tuple[int, int]]]:
        """group -> split -> (identities of the partition, clips of the fold)."""
        out: dict[str, dict[str, tuple[int, int]]] = {}
        for group in sorted(set(self.groups.values())):
            ids = {s: 0 for s in SPLITS}
            for identity, split in self.assignment.items():
                if self.groups.get(identity) == group:
                    ids[split] += 1
            clips = {s: 0 for s in SPLITS}
            for row in self.rows:
                if self.groups.get(row.identity) == group and row.split in clips:
                    clips[row.split] += 1
            out[group] = {s: (ids[s], clips[s]) for s in SPLITS}
        return out


def _usable(row: ManifestRow, config: ProtocolConfig) -> bool:
    return row.category == REAL or row.category in config.categories


def make_folds(rows: Sequence[ManifestRow], config: ProtocolConfig | None = None) -> list[Fold]:
    """One :class:`Fold` per category in ``config.categories``."""
    config = config or ProtocolConfig()
    present = {row.category for row in rows}
    absent = [c for c in config.categories if c not in present]
    if absent:
        raise ConfigError(
            f"no clips of categor{'y' if len(absent) == 1 else 'ies'} {', '.join(absent)} in the manifest"
        )
    if REAL not in present:
        raise ConfigError("no real clips in the manifest")
    usable = [row for row in rows if _usable(row, config)]
    assignment, groups = stratified_partition(
        usable, config.identity_fractions, SPLITS, config.stratify_by, config.seed
    )
    placed: list[ManifestRow] = []
    dropped: dict[str, int] = {}
    for row in usable:
        split = split_of(row, assignment)
        if split is None:
            group = groups.get(row.identity, "")
            dropped[group] = dropped.get(group, 0) + 1
        else:
            placed.append(dataclasses.replace(row, split=split))
    controls = [
        dataclasses.replace(row, split=CONTROL_SPLIT)
        for row in rows
        if row.category in config.controls and split_of(row, assignment) == "test"
    ]
    folds = []
    specs = [(f.name, f.categories) for f in config.held_out] or [(c, ()) for c in config.categories]
    for index, (held_out, together) in enumerate(specs):
        held = set(together or (held_out,))
        chosen = [r for r in placed if r.category == REAL or (r.category in held) == (r.split == "test")]
        shortfalls: tuple[str, ...] = ()
        if config.sample is not None:
            chosen, shortfalls = sample_fold(chosen, held_out, config, np.random.default_rng([config.seed, index]))
        chosen = [*chosen, *controls]
        folds.append(
            Fold(
                held_out,
                tuple(chosen),
                sum(dropped.values()),
                groups,
                assignment,
                dict(sorted(dropped.items())),
                shortfalls,
                tuple(together),
            )
        )
    return folds


def _draw(
    pool: list[ManifestRow], wanted: int, what: str, rng: np.random.Generator, short: list[str]
) -> list[ManifestRow]:
    if len(pool) < wanted:
        short.append(f"{what}: {len(pool)} of {wanted} requested (all the identity-disjoint pool holds)")
        return pool
    pool = sorted(pool, key=lambda r: r.path)
    return [pool[i] for i in sorted(rng.choice(len(pool), wanted, replace=False))]


def sample_fold(
    rows: Sequence[ManifestRow], held_out: str, config: ProtocolConfig, rng: np.random.Generator
) -> tuple[list[ManifestRow], tuple[str, ...]]:
    """The fold's clips drawn to ``config.sample`` sizes; returns them and the shortfalls."""
    sizes = config.sample
    assert sizes is not None
    short: list[str] = []
    fit = [r for r in rows if r.split in FIT_SPLITS]
    test = [r for r in rows if r.split == "test"]
    chosen = _draw([r for r in fit if r.category == REAL], sizes.train_real, "train/val/calib real", rng, short)
    training = [c for c in config.categories if c != held_out]
    for category, wanted in zip(
        training, largest_remainder(sizes.train_fake, [1 / len(training)] * len(training)), strict=False
    ):
        chosen += _draw([r for r in fit if r.category == category], wanted, f"train/val/calib {category}", rng, short)
    chosen += _draw([r for r in test if r.category == REAL], sizes.test_real, "test real", rng, short)
    chosen += _draw([r for r in test if r.category == held_out], sizes.test_fake, f"test {held_out}", rng, short)
    return chosen, tuple(short)


def check_fold(fold: Fold) -> None:
    """Raise if the fold breaks the protocol (used by tests and before every benchmark).

    Every pair of splits shares no identity (and, where rows carry a ``sha256``, no content);
    the held-out category is only in test; test holds no fake of another category.
    """
    unknown = {r.split for r in fold.rows} - {*SPLITS, CONTROL_SPLIT}
    if unknown:
        raise ConfigError(f"fold {fold.held_out}: unknown split(s) {sorted(unknown)}")
    control_ids = {i for r in fold.rows if r.split == CONTROL_SPLIT for i in r.ids}
    for split in FIT_SPLITS:
        shared = control_ids & {i for r in fold.rows if r.split == split for i in r.ids}
        if shared:
            raise ConfigError(f"fold {fold.held_out}: control and {split} share identities {sorted(shared)[:5]}")
    by_split = {s: [r for r in fold.rows if r.split == s] for s in SPLITS}
    ids = {s: {i for r in by_split[s] for i in r.ids} for s in SPLITS}
    hashes = {s: {h for r in by_split[s] if (h := getattr(r, "sha256", ""))} for s in SPLITS}
    for a_index, a in enumerate(SPLITS):
        for b in SPLITS[a_index + 1 :]:
            shared = ids[a] & ids[b]
            if shared:
                raise ConfigError(f"fold {fold.held_out}: {a} and {b} share identities {sorted(shared)[:5]}")
            same = hashes[a] & hashes[b]
            if same:
                raise ConfigError(
                    f"fold {fold.held_out}: {a} and {b} share {len(same)} video(s) by content"
                    f" (sha256 {min(same)[:12]}...)"
                )
    held = set(fold.held_out_categories)
    if any(r.category in held for s in FIT_SPLITS for r in by_split[s]):
        raise ConfigError(f"fold {fold.held_out}: a held-out category appears in train, val or calib")
    if any(r.label == 1 and r.category not in held for r in by_split["test"]):
        raise ConfigError(f"fold {fold.held_out}: test holds fakes of other categories")


def fold_shortfalls(fold: Fold) -> list[str]:
    """What makes a fold unusable for the benchmark, one phrase each: train, val and calib need real and fake
    clips (to learn, to choose the epoch, to fit the fusion), test needs real clips and fakes of the held-out
    category. Empty when the fold is usable."""
    missing = []
    for split in SPLITS:
        real, fake = (sum(r.split == split and r.label == label for r in fold.rows) for label in (0, 1))
        lacks = [what for what, count in (("real", real), ("fake", fake)) if not count]
        if lacks:
            kind = " or ".join(lacks)
            held_out = f" {fold.held_out}" if split == "test" and "fake" in lacks else ""
            missing.append(f"{split} has no {kind}{held_out} clips")
    return missing


def shortfall_lines(folds: Sequence[Fold]) -> list[str]:
    """One line per unusable fold: ``fold X: test has no fake FVFA-FS clips; val has no fake clips``."""
    return [f"fold {fold.held_out}: " + "; ".join(lacks) for fold in folds if (lacks := fold_shortfalls(fold))]


FAKEAVCELEB_PROTOCOL = "configs/protocols/fakeavceleb_loco.yaml"  # the shipped leave-one-category-out protocol


def write_checked_folds(rows: Sequence[ManifestRow], protocol: ProtocolConfig | None, folder: str | Path) -> list[Fold]:
    """The folds of ``rows`` under ``protocol``, each checked against the protocol (:func:`check_fold`) before
    any is written to ``<folder>/<category>.csv``."""
    protocol = protocol or ProtocolConfig()
    folds = make_folds(rows, protocol)
    for fold in folds:
        check_fold(fold)
    write_folds(folds, folder, protocol)
    return folds


PROTOCOL_FILE = "protocol.json"  # beside the fold files: the protocol that drew them
PROTOCOL_FORMAT = "emoboost.protocol/1"


def write_folds(folds: Sequence[Fold], folder: str | Path, protocol: ProtocolConfig) -> list[Path]:
    """``<folder>/<category>.csv`` per fold (manifest columns + split) and ``<folder>/protocol.json``: the
    protocol that drew them (a repeat re-draws with it; a benchmark fingerprints it)."""
    from emoboost.config import to_dict
    from emoboost.files import write_json_atomic

    written = [write_manifest(Path(folder) / f"{fold.held_out}.csv", fold.rows) for fold in folds]
    write_json_atomic(Path(folder) / PROTOCOL_FILE, {"format": PROTOCOL_FORMAT, "protocol": to_dict(protocol)})
    return [*written, Path(folder) / PROTOCOL_FILE]


def stored_protocol(folder: str | Path) -> ProtocolConfig | None:
    """The protocol stored with the fold files in ``folder`` (None when the folder has none: folds written by
    hand or by an emoboost before December 2026)."""
    import json

    path = Path(folder) / PROTOCOL_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a protocol file ({exc})") from exc
    if not (
        isinstance(data, dict) and data.get("format") == PROTOCOL_FORMAT and isinstance(data.get("protocol"), dict)
    ):
        raise ConfigError(f"{path}: not a protocol file of this emoboost version (format {PROTOCOL_FORMAT})")
    try:
        return from_dict(ProtocolConfig, data["protocol"], "protocol")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


FOLD_TABLE_HEADER = ["held out", *(f"{s} real/fake" for s in SPLITS), "left out (ids straddle splits)"]
GROUP_TABLE_HEADER = ["group", *(f"{s} ids/clips" for s in SPLITS), "left out"]


def fold_table(folds: Sequence[Fold]) -> list[list[str]]:
    """Rows of the fold-size table: held out, then real/fake per split, then clips left out."""
    table = []
    for fold in folds:
        counts = fold.counts()
        table.append([fold.held_out, *(f"{counts[s][0]}/{counts[s][1]}" for s in SPLITS), str(fold.straddling)])
    return table


def group_table(fold: Fold) -> list[list[str]]:
    """Rows per identity group of one fold: identities / clips per split, clips left out for straddling."""
    return [
        [group, *(f"{ids}/{clips}" for ids, clips in per_split.values()), str(fold.dropped.get(group, 0))]
        for group, per_split in fold.group_counts().items()
    ]


def report_lines(folds: Sequence[Fold]) -> list[str]:
    """Plain-text fold sizes, per-group sizes of every fold and sampling shortfalls (for report.txt)."""

    def block(header: list[str], rows: list[list[str]]) -> list[str]:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        return [
            "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=False)))
            for r in [header, *rows]
        ]

    lines = ["leave-one-category-out folds (real/fake clips per split)", *block(FOLD_TABLE_HEADER, fold_table(folds))]
    for fold in folds:
        lines += [
            "",
            f"fold {fold.held_out}: identities/clips per group and split",
            *block(GROUP_TABLE_HEADER, group_table(fold)),
        ]
        lines += [f"  sampled short: {line}" for line in fold.shortfalls]
    return lines
