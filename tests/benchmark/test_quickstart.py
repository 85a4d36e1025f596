"""The quickstart's last step runs `detect` on people its detector never saw."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from emoboost.benchmark.quickstart import EXTRA_REAL_SET, HELD_OUT_SET, QUICKSTART_SET, held_out_examples
from emoboost.data.manifest import CATEGORIES, ManifestRow
from emoboost.data.synthav_v3 import make_identity


def test_held_out_identities_are_other_people():
    seen = [make_identity(i, QUICKSTART_SET.seed) for i in range(QUICKSTART_SET.identities)]
    for index in range(HELD_OUT_SET.identities):
        person = make_identity(index, HELD_OUT_SET.seed)
        assert person.voice not in {other.voice for other in seen}  # and a voice timbre the detector never heard
        for other in seen:  # a different face (skin, hair, shape) and a different voice (pitch, speed)
            assert dataclasses.replace(person, name=other.name, voice=other.voice, gender=other.gender) != other
            assert (person.skin, person.hair, person.pitch, person.speed) != (
                other.skin,
                other.hair,
                other.pitch,
                other.speed,
            )


def test_the_consistency_detectors_extra_real_people_are_neither_the_sets_nor_the_held_out_ones():
    def looks(seed: int, count: int) -> set[tuple]:
        return {(p.skin, p.hair, p.pitch, p.speed) for p in (make_identity(i, seed) for i in range(count))}

    assert len({QUICKSTART_SET.seed, HELD_OUT_SET.seed, EXTRA_REAL_SET.seed}) == 3
    extra = looks(EXTRA_REAL_SET.seed, EXTRA_REAL_SET.identities)
    assert not extra & looks(HELD_OUT_SET.seed, HELD_OUT_SET.identities)  # `detect` is shown people it never saw
    assert not extra & looks(QUICKSTART_SET.seed, QUICKSTART_SET.identities)
    assert EXTRA_REAL_SET.clips_per_identity >= 2  # the same person's other recording is a negative


def test_examples_are_half_real_half_fakes_of_different_categories():
    def row(category: str, label: int, identity: str) -> ManifestRow:
        return ManifestRow(
            f"{category}/{identity}.mp4", label, "", category, "", identity, (identity,), "synthetic", "men"
        )

    rows = [
        row("RVRA", 0, "a"),
        *(row(c, 1, "a") for c in CATEGORIES),
        row("RVRA", 0, "b"),
        *(row(c, 1, "b") for c in CATEGORIES),
    ]
    examples = held_out_examples(rows, Path("heldout"))
    assert [p.parts[1] for p in examples] == ["RVRA", "RVRA", CATEGORIES[0], CATEGORIES[1]]
    assert all(p.parts[0] == "heldout" for p in examples)
