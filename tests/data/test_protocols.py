"""The stratified identity partition, the calib split and the AVAD-size protocol on a FakeAVCeleb-shaped tree."""

import dataclasses

import pytest
from fakeavceleb_shape import write_tree

from emoboost.data.fakeavceleb import read_fakeavceleb
from emoboost.data.manifest import CATEGORIES, REAL
from emoboost.data.protocols import (
    SPLITS,
    ProtocolConfig,
    check_fold,
    load_protocol,
    make_folds,
    report_lines,
    split_of,
)
from emoboost.errors import ConfigError

LOCO = "configs/protocols/fakeavceleb_loco.yaml"
AVAD = "configs/protocols/fakeavceleb_avad.yaml"


@pytest.fixture(scope="module")
def shaped_rows(tmp_path_factory):
    """500 identities in 10 ethnicity x gender groups, swap partners inside the group (placeholder files)."""
    rows, report = read_fakeavceleb(write_tree(tmp_path_factory.mktemp("fakeavceleb")), verify=False)
    assert report.problems == 0
    return rows


def test_every_group_is_in_every_split_in_proportion_and_nothing_leaks(shaped_rows):
    config = load_protocol(LOCO)
    folds = make_folds(shaped_rows, config)
    assert [f.held_out for f in folds] == list(CATEGORIES)
    groups = folds[0].group_counts()
    assert len(groups) == 10
    for group, per_split in groups.items():
        size = sum(ids for ids, _ in per_split.values())
        assert size == 50, group
        for split, fraction in zip(SPLITS, config.identity_fractions, strict=False):
            assert abs(per_split[split][0] - fraction * size) <= 1, (group, split, per_split)
    for fold in folds:
        check_fold(fold)
        ids = {s: {i for r in fold.rows if r.split == s for i in r.ids} for s in SPLITS}
        others = ids["train"] | ids["val"] | ids["calib"]
        assert not ids["test"] & others
        assert all(n > 0 for per_split in fold.group_counts().values() for _, n in per_split.values())  # clips too
        assert {r.category for r in fold.rows if r.split == "calib"} == {REAL, *CATEGORIES} - {fold.held_out}


def test_linked_identities_stay_together_where_counts_allow_and_dropped_clips_are_counted(shaped_rows):
    config = load_protocol(LOCO)
    fold = make_folds(shaped_rows, config)[0]
    usable = [r for r in shaped_rows if r.category == REAL or r.category in config.categories]
    straddling = [r for r in usable if split_of(r, fold.assignment) is None]
    assert fold.straddling == len(straddling) == sum(fold.dropped.values())
    swaps = [r for r in usable if len(r.ids) == 2]
    # random partners inside a group of 50: a random stratified cut would split 1 - sum(f^2) = 64 % of them
    assert len(straddling) < 0.5 * len(swaps), (len(straddling), len(swaps))
    assert all(len(r.ids) == 2 for r in straddling)  # single-identity clips are never dropped
    text = "\n".join(report_lines([fold]))
    assert "African x men" in text and "left out" in text


def test_data_without_group_columns_is_one_group(shaped_rows):
    rows = [dataclasses.replace(r, race="", gender="") for r in shaped_rows]
    fold = make_folds(rows, ProtocolConfig(seed=1))[0]
    check_fold(fold)
    assert list(fold.group_counts()) == ["all"]
    assert [ids for ids, _ in fold.group_counts()["all"].values()] == [250, 50, 50, 150]


def test_avad_protocol_draws_the_published_sizes_exactly(shaped_rows):
    config = load_protocol(AVAD)
    assert config.sample is not None and (config.sample.train_real, config.sample.train_fake) == (400, 2000)
    folds = make_folds(shaped_rows, config)
    for fold in folds:
        check_fold(fold)
        fit = [r for r in fold.rows if r.split != "test"]
        test = [r for r in fold.rows if r.split == "test"]
        assert sum(r.label == 0 for r in fit) == 400 and sum(r.label == 0 for r in test) == 100
        per_category = {c: sum(r.category == c for r in fit) for c in CATEGORIES if c != fold.held_out}
        short = {line.split(":")[0] for line in fold.shortfalls}
        for category, count in per_category.items():  # 500 each unless the pool holds fewer (one clip per identity)
            assert count == 500 or (f"train/val/calib {category}" in short and count < 500), (category, count)
        held_out = sum(r.category == fold.held_out for r in test)
        assert held_out == 500 or (f"test {fold.held_out}" in short and held_out < 500)
    # the categories with one clip per identity cannot give 500 identity-disjoint test clips: said, not hidden
    assert any("test RVFA: 100 of 500" in line for line in folds[0].shortfalls)
    assert make_folds(shaped_rows, config)[2].rows == folds[2].rows  # the seed fixes the draw


def test_avad_counts_are_exact_when_the_pools_suffice(shaped_rows):
    sizes = {"train_real": 300, "train_fake": 400, "test_real": 80, "test_fake": 60}
    config = dataclasses.replace(load_protocol(AVAD), sample=dataclasses.replace(load_protocol(AVAD).sample, **sizes))
    for fold in make_folds(shaped_rows, config):
        assert fold.shortfalls == ()
        counts = fold.counts()
        assert sum(counts[s][0] for s in ("train", "val", "calib")) == 300
        assert sum(counts[s][1] for s in ("train", "val", "calib")) == 400
        assert counts["test"] == (80, 60)
        check_fold(fold)


def test_check_fold_catches_calib_and_content_overlap(shaped_rows):
    fold = make_folds(shaped_rows, load_protocol(LOCO))[0]
    test_row = next(r for r in fold.rows if r.split == "test")
    leaked = dataclasses.replace(fold, rows=(*fold.rows, dataclasses.replace(test_row, split="calib", path="copy.mp4")))
    with pytest.raises(ConfigError, match="calib and test share identities"):
        check_fold(leaked)

    @dataclasses.dataclass(frozen=True)
    class HashedRow(type(test_row)):
        sha256: str = ""

    a = HashedRow(**{**dataclasses.asdict(test_row), "sha256": "ab" * 32})
    b = HashedRow(**{**dataclasses.asdict(next(r for r in fold.rows if r.split == "train")), "sha256": "ab" * 32})
    with pytest.raises(ConfigError, match="share 1 video"):
        check_fold(dataclasses.replace(fold, rows=(a, b)))
    held_out = next(r for r in shaped_rows if r.category == fold.held_out)
    with pytest.raises(ConfigError, match="held-out category appears"):
        check_fold(dataclasses.replace(fold, rows=(dataclasses.replace(held_out, split="calib"),)))


def test_protocol_needs_four_fractions():
    with pytest.raises(ConfigError, match="4 values"):
        ProtocolConfig(identity_fractions=(0.55, 0.15, 0.30)).validate()


def test_fakeavceleb_benchmark_windows_fit_its_clips():
    from emoboost.benchmark.config import load_benchmark_config
    from emoboost.config import load_section
    from emoboost.models.emoforensics import EmoForensicsConfig
    from emoboost.models.tokens import window_starts

    config = load_benchmark_config("configs/benchmark/fakeavceleb.yaml")
    for path in (config.emo_config, *config.ablations):
        model = load_section(EmoForensicsConfig, path, "model")
        assert (model.window_tokens * model.token_frames / 25, model.hop_tokens * model.token_frames / 25) == (4.0, 2.0)
        assert len(window_starts(32, model.window_tokens, model.hop_tokens)) == 3  # a 6.4 s clip: 3 windows, not 1


def test_small_groups_still_fill_every_split():
    from emoboost.data.partition import group_shares

    fractions = (0.5, 0.1, 0.1, 0.3)
    sizes = [4, 4, 5, 3, 4]  # e.g. SynthAV: a handful of identities per group
    shares = group_shares(sizes, fractions)
    for size, share in zip(sizes, shares, strict=True):
        assert sum(share) == size and all(abs(n - f * size) < 1 for n, f in zip(share, fractions, strict=True))
    totals = [sum(column) for column in zip(*shares, strict=True)]
    assert all(n >= 1 for n in totals) and all(
        abs(n - f * sum(sizes)) <= 1 for n, f in zip(totals, fractions, strict=True)
    )


def test_every_split_has_people_when_pairs_outnumber_the_small_splits():
    """The quickstart's shape: 12 identities of one group, each fake linking two of them (pairs)."""
    from emoboost.data.manifest import ManifestRow

    ids = [f"id{i:05d}" for i in range(12)]
    rows = [ManifestRow(f"real/{a}.mp4", 0, "RVRA", REAL, "real", a, (a,)) for a in ids]
    for k, category in enumerate(CATEGORIES):
        for i in range(0, 12, 2):
            a, b = ids[i], ids[i + 1]
            rows.append(ManifestRow(f"{category}/{a}_{b}_{k}.mp4", 1, "FVFA", category, category, a, (a, b)))
    for seed in range(5):
        folds = make_folds(rows, ProtocolConfig(seed=seed))
        for fold in folds:
            check_fold(fold)
            real = {s: {r.identity for r in fold.rows if r.split == s and r.label == 0} for s in SPLITS}
            assert all(real[s] for s in SPLITS), (seed, fold.held_out, {s: len(v) for s, v in real.items()})


def test_control_categories_of_test_people_join_every_fold_without_moving_anyone(shaped_rows):
    from emoboost.data.protocols import CONTROL_SPLIT
    from emoboost.data.synthav_v3 import EMOTION_ONLY

    assert ProtocolConfig().controls == (EMOTION_ONLY,)
    real = [r for r in shaped_rows if r.category == REAL]
    revoiced = [dataclasses.replace(r, path=r.path.replace(".mp4", "_emo.mp4"), category=EMOTION_ONLY, label=1)
                for r in real]  # fmt: skip
    plain = make_folds(shaped_rows, load_protocol(LOCO))
    with_controls = make_folds([*shaped_rows, *revoiced], load_protocol(LOCO))
    for before, after in zip(plain, with_controls, strict=True):
        check_fold(after)
        assert after.assignment == before.assignment  # no identity changes split
        assert [r for r in after.rows if r.split != CONTROL_SPLIT] == list(before.rows)
        controls = [r for r in after.rows if r.split == CONTROL_SPLIT]
        test_people = {r.identity for r in before.rows if r.split == "test"}
        assert controls and {r.category for r in controls} == {EMOTION_ONLY}
        assert {r.identity for r in controls} == test_people & {r.identity for r in revoiced}
        assert len(controls) == sum(r.identity in test_people for r in revoiced)
    # a control row of a training person is refused, as a test row would be
    fold = with_controls[0]
    leak = next(r for r in fold.rows if r.split == "train")
    bad = dataclasses.replace(fold, rows=(*fold.rows, dataclasses.replace(leak, split=CONTROL_SPLIT)))
    with pytest.raises(ConfigError, match="control and train share"):
        check_fold(bad)
    from emoboost.training.folds import check_fold_rows  # what the benchmark checks before it trusts a fold file

    check_fold_rows(fold.held_out, fold.rows, lambda r: None)
    with pytest.raises(ConfigError, match="test and train share identities"):
        check_fold_rows(fold.held_out, bad.rows, lambda r: None)
    with pytest.raises(ConfigError, match="control and a category"):
        ProtocolConfig(controls=("RVFA",)).validate()
