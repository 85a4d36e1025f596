"""The identity partition: identities split within each demographic group in the protocol's fractions.

FakeAVCeleb balances its 500 identities over ethnicity x gender, and swap partners were chosen by
face similarity, so the people a fake links (its ``ids``) are nearly always of one group. Keeping
every linked set of identities whole (the earlier rule) then moves whole groups into one split:
each fold would test on a demographic domain shift and fit its early stopping on one group. So:

1. every identity gets a group, the values of ``stratify_by`` (``race`` x ``gender``) on the rows
   of its own folder (an id seen only in other people's file names takes its partner's group);
   data without those columns is one group;
2. within a group, each split gets its share of the group's identities rounded down or up (so
   every group is in every split in proportion, within one identity), the splits rounded up chosen
   so the totals over all groups stay closest to the fractions;
3. identities linked by clips **inside the group** stay together where that keeps the counts:
   the linked sets are placed whole, largest first, into the split with the most room (a split may
   take one identity over its share, once, to keep a set whole, the smallest splits first); a set that fits
   nowhere whole is cut, in breadth-first order from a random member, into runs that
   fill the remaining room (few links cut); a split left without any identity takes one from the
   split furthest over its share (a tiny set must still have val and calib people);
4. then pairs of identities of one group in different splits swap splits while that cuts fewer
   clips (a count-preserving local search, so the proportions of step 2 stay exact). Clips whose
   identities still end up in two splits are left out and counted by the folds.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence

import numpy as np

from emoboost.data.manifest import ManifestRow

ALL = "all"  # the group of data without the stratification columns
REFINE_PASSES = 10  # passes of the swap search (each pass tries every pair of a group once)


def group_label(values: Sequence[str]) -> str:
    """``"African x men"``; :data:`ALL` when every value is empty."""
    return " x ".join(v or "?" for v in values) if any(values) else ALL


def identity_groups(rows: Sequence[ManifestRow], stratify_by: Sequence[str]) -> dict[str, str]:
    """Identity -> group label (see the module docstring)."""
    votes: dict[str, Counter] = {}
    for row in rows:
        label = group_label([str(getattr(row, key, "") or "") for key in stratify_by])
        votes.setdefault(row.identity, Counter())[label] += 1
    groups = {identity: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for identity, c in votes.items()}
    for row in rows:
        for identity in row.ids:
            groups.setdefault(identity, groups.get(row.identity, ALL))
    return groups


def largest_remainder(total: int, fractions: Sequence[float]) -> list[int]:
    """Integer shares of ``total`` in ``fractions`` summing to ``total`` (ties to the earlier share)."""
    exact = np.asarray(fractions, float) * total
    shares = np.floor(exact).astype(int)
    for index in sorted(range(len(shares)), key=lambda i: (-(exact[i] - shares[i]), i))[: total - int(shares.sum())]:
        shares[index] += 1
    return shares.tolist()


def group_shares(sizes: Sequence[int], fractions: Sequence[float]) -> list[list[int]]:
    """Identities per split for each group: ``floor`` or ``ceil`` of its exact share, the rounded-up
    splits chosen so the running totals over groups stay closest to the fractions (so a split with a
    small fraction is not left empty when every group is small)."""
    weights = np.asarray(fractions, float)
    allocated, seen, out = np.zeros(len(weights)), 0, []
    for size in sizes:
        exact = weights * size
        shares = np.floor(exact).astype(int)
        seen += size
        deficit = weights * seen - (allocated + shares)
        remainder = exact - shares
        candidates = [s for s in range(len(weights)) if remainder[s] > 1e-9]
        for s in sorted(candidates, key=lambda s: (-deficit[s], -remainder[s], s))[: size - int(shares.sum())]:
            shares[s] += 1
        allocated += shares
        out.append(shares.tolist())
    return out


def _components(members: set[str], links: dict[str, set[str]]) -> list[list[str]]:
    seen: set[str] = set()
    components = []
    for start in sorted(members):
        if start in seen:
            continue
        component, queue = [], [start]
        seen.add(start)
        while queue:
            identity = queue.pop()
            component.append(identity)
            for other in sorted(links.get(identity, ())):
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
        components.append(sorted(component))
    return components


def _breadth_first(component: list[str], links: dict[str, set[str]], start: str) -> list[str]:
    order, seen, queue = [], {start}, deque([start])
    while queue:
        identity = queue.popleft()
        order.append(identity)
        for other in sorted(links.get(identity, ())):
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return order + [i for i in component if i not in seen]


def _assign_group(
    components: list[list[str]],
    links: dict[str, set[str]],
    shares: Sequence[int],
    splits: Sequence[str],
    rng: np.random.Generator,
) -> dict[str, str]:
    room = np.array(shares)
    tie_break = rng.permutation(len(components))
    order = sorted(range(len(components)), key=lambda i: (-len(components[i]), tie_break[i]))
    assignment: dict[str, str] = {}
    cut, over = [], np.zeros(len(splits), bool)
    for index in order:
        component = components[index]
        fits = [s for s in range(len(splits)) if room[s] >= len(component)]
        split = max(fits, key=lambda s: (room[s], -s)) if fits else None
        if split is None:  # a split may take one identity too many (once) while others can give one up
            givers = [s for s in range(len(splits)) if not over[s] and room[s] >= 1]
            takers = [s for s in givers if room[s] == len(component) - 1 and len(givers) - 1 > over.sum()]
            split = min(takers, key=lambda s: (shares[s], s)) if takers else None
            if split is not None:
                over[split] = True
        if split is None:
            cut.append(component)
            continue
        assignment.update({identity: splits[split] for identity in component})
        room[split] -= len(component)
    for component in cut:
        ordered = _breadth_first(component, links, component[int(rng.integers(len(component)))])
        for split in sorted(range(len(splits)), key=lambda s: (-room[s], s)):
            take = min(int(room[split]), len(ordered))
            assignment.update({identity: splits[split] for identity in ordered[:take]})
            ordered, room[split] = ordered[take:], room[split] - take
    _fill_empty_splits(assignment, shares, splits, rng)
    return assignment


def _fill_empty_splits(
    assignment: dict[str, str], shares: Sequence[int], splits: Sequence[str], rng: np.random.Generator
) -> None:
    """A split with a share but no identity (its one place given up to keep a linked set whole elsewhere)
    takes one identity from the split furthest over its share: calib or val must never be empty."""
    counts = Counter(assignment.values())
    for index, split in enumerate(splits):
        if shares[index] < 1 or counts[split] > 0:
            continue
        donor = max(
            (s for s in range(len(splits)) if counts[splits[s]] > 1),
            key=lambda s: (counts[splits[s]] - shares[s], counts[splits[s]], -s),
            default=None,
        )
        if donor is None:
            return
        members = sorted(identity for identity, name in assignment.items() if name == splits[donor])
        assignment[members[int(rng.integers(len(members)))]] = split
        counts[splits[donor]] -= 1
        counts[split] += 1


def _refine(
    members: list[str], assignment: dict[str, str], weights: dict[str, Counter], rng: np.random.Generator
) -> None:
    """Swap the splits of two identities while that links fewer clips across splits (in place)."""
    into: dict[str, Counter] = {a: Counter() for a in members}  # identity -> split -> clips linking it there
    for a in members:
        for b, w in weights.get(a, {}).items():
            into[a][assignment[b]] += w
    for _ in range(REFINE_PASSES):
        improved = False
        order = [members[i] for i in rng.permutation(len(members))]
        for a in order:
            for b in order:
                sa, sb = assignment[a], assignment[b]
                if sa == sb:
                    continue
                link = weights.get(a, {}).get(b, 0)
                if into[a][sb] - into[a][sa] + into[b][sa] - into[b][sb] - 2 * link <= 0:
                    continue
                for moved, old, new in ((a, sa, sb), (b, sb, sa)):
                    assignment[moved] = new
                    for neighbour, w in weights.get(moved, {}).items():
                        into[neighbour][old] -= w
                        into[neighbour][new] += w
                improved = True
        if not improved:
            return


def stratified_partition(
    rows: Sequence[ManifestRow],
    fractions: Sequence[float],
    splits: Sequence[str],
    stratify_by: Sequence[str],
    seed: int,
) -> tuple[dict[str, str], dict[str, str]]:
    """``(identity -> split, identity -> group)``, deterministic for a seed (see the module docstring)."""
    rng = np.random.default_rng(seed)
    groups = identity_groups(rows, stratify_by)
    links: dict[str, set[str]] = {}
    weights: dict[str, Counter] = {}  # clips linking two identities of one group
    for row in rows:
        for a in row.ids:
            for b in row.ids:
                if a != b and groups.get(a) == groups.get(b):
                    links.setdefault(a, set()).add(b)
                    weights.setdefault(a, Counter())[b] += 1
    assignment: dict[str, str] = {}
    names = sorted(set(groups.values()))
    members_of = {name: {identity for identity, g in groups.items() if g == name} for name in names}
    for group, shares in zip(names, group_shares([len(members_of[n]) for n in names], fractions), strict=True):
        members = members_of[group]
        placed = _assign_group(_components(members, links), links, shares, splits, rng)
        _refine(sorted(members), placed, weights, rng)
        assignment.update(placed)
    return assignment, groups
