"""The benchmark on generated feature records: complementarity, fold checks, missing features, fingerprints."""

import dataclasses
import shutil

import bench_records
import numpy as np
import pytest

from emoboost.benchmark import runner as bench
from emoboost.benchmark.gain import gain_for
from emoboost.errors import ConfigError, DataError
from emoboost.features.store import FeatureStore
from emoboost.training.folds import drop_duplicate_files


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("records")
    config, rows = bench_records.build(folder)
    return folder, config, rows


@pytest.fixture(scope="module")
def mix_result(built):
    folder, config, rows = built
    return bench.run_fold("mix", rows, FeatureStore(config.store), folder / "data", config)


def _auc(result, row):
    return result.metrics[row]["auc"]


def test_complementary_detectors_boost_each_other(mix_result):
    """EmoForensics sees only one kind of fake, the low-level detectors only the other: the fusion beats both."""
    fusion, lowlevel, emo = _auc(mix_result, "fusion"), _auc(mix_result, "lowlevel"), _auc(mix_result, "emo")
    assert fusion > lowlevel + 0.1 and fusion > emo + 0.1, (fusion, lowlevel, emo)
    gain = gain_for({"mix": mix_result}, samples=300, seed=0)
    assert (gain["base"], gain["boosted"]) == ("lowlevel", "fusion")
    assert gain["average"]["gain"] == pytest.approx(fusion - lowlevel)
    assert gain["average"]["ci"][0] > 0  # the interval excludes no gain
    assert gain["folds"]["mix"]["test_identities"] == 8


def test_each_network_learns_its_own_label_and_the_fusion_uses_calib(mix_result):
    training = mix_result.training
    assert {name: entry["label"] for name, entry in training.items()} == {
        "emo": "label",
        "rgb": "video_fake",
        "acoustic": "audio_fake",
        "consistency": "real clips only",  # trained on the fold's real train clips, never a fake
        "shortcut": "label",  # leading silence and duration only
        "rgb_seed2": "video_fake",  # the equal-capacity ensemble's second low-level pair
        "acoustic_seed2": "audio_fake",
    }
    assert mix_result.fusions["lowlevel_ensemble"]["inputs"] == ["rgb", "acoustic", "rgb_seed2", "acoustic_seed2"]
    assert training["consistency"]["data"]["train_clips"] == mix_result.sizes["train"][0]
    calib_real, calib_fake = 4, 8  # calib identities x (1 real, 2 fakes)
    assert mix_result.fusions["fusion"]["operating_point"]["val_clips"] == calib_real + calib_fake
    assert mix_result.sizes["calib"] == [calib_real, calib_fake]
    assert set(mix_result.trimmed) >= {"emo", "rgb", "acoustic", "lowlevel", "fusion"}
    assert mix_result.trim["test_clips_trimmed"] == 24 and not mix_result.trim["exact"]  # generated speech encoder


def _run_checks(config, folder, rows, name):
    config = bench_records.with_rows(config, folder, rows, name)
    return bench.run_fold("mix", rows, FeatureStore(config.store), folder / "data", config)


def test_fold_with_a_leaked_identity_is_refused(built):
    folder, config, rows = built
    test_identity = next(r.identity for r in rows if r.split == "test")
    leaked = [
        dataclasses.replace(r, split="train") if r.identity == test_identity and r.label == 1 else r for r in rows
    ]
    with pytest.raises(ConfigError, match="test and train share identities .*identity leak"):
        _run_checks(config, folder, leaked, "leaked")


def test_fold_with_a_file_in_test_and_calib_is_refused(built, tmp_path):
    folder, config, rows = built
    test_row = next(r for r in rows if r.split == "test" and r.category == "real")
    copy = f"copies/{tmp_path.name}.mp4"
    (folder / "data" / "copies").mkdir(exist_ok=True)
    shutil.copy(folder / "data" / test_row.path, folder / "data" / copy)
    duplicate = dataclasses.replace(test_row, path=copy, identity="someone", ids=("someone",), split="calib")
    with pytest.raises(ConfigError, match="test and calib hold the same file"):
        _run_checks(config, folder, [*rows, duplicate], "dup")


def test_a_file_listed_under_two_categories_is_dropped_and_reported(built):
    folder, config, rows = built
    fake = next(r for r in rows if r.category == bench_records.EMO_ONLY)
    relabelled = dataclasses.replace(fake, category=bench_records.LOWLEVEL_ONLY, method="other")
    store, root = FeatureStore(config.store), folder / "data"
    kept, report = drop_duplicate_files([*rows, relabelled], lambda r: store.content_hash(root / r.path))
    assert len(kept) == len(rows) - 1 and fake not in kept
    assert report == [
        {
            "sha256": store.content_hash(root / fake.path),
            "paths": [fake.path, fake.path],
            "categories": sorted([fake.category, relabelled.category]),
        }
    ]


def test_fold_files_without_calib_are_refused(built):
    folder, config, rows = built
    old = [dataclasses.replace(r, split="val") if r.split == "calib" else r for r in rows]
    with pytest.raises(ConfigError, match="no calib rows.*regenerate the fold files"):
        _run_checks(config, folder, old, "old")


def test_missing_features_over_two_percent_of_a_split_stop_the_run(built):
    folder, config, rows = built
    lost = [dataclasses.replace(r, path=f"gone/{r.path}") for r in rows if r.split == "train"][
        :2
    ]  # 2 of 32 train clips
    with pytest.raises(DataError, match=r"6\.2% of the train clips have no features"):
        _run_checks(config, folder, [*rows, *lost], "missing")


def test_rerun_recomputes_only_when_something_changed(built, tmp_path, monkeypatch):
    folder, config, _ = built
    config = dataclasses.replace(
        config, lowlevel_train=dataclasses.replace(config.lowlevel_train, epochs=2), bootstrap=20
    )
    calls = []
    real_run_fold = bench.run_fold
    monkeypatch.setattr(bench, "run_fold", lambda *a, **k: calls.append(a[0]) or real_run_fold(*a, **k))
    first = bench.run_benchmark(config, tmp_path)
    assert calls == ["mix"] and first.fingerprints["mix"]
    assert first.gain["folds"]["mix"]["gain"] == pytest.approx(
        first.folds["mix"]["fusion"]["auc"] - first.folds["mix"]["lowlevel"]["auc"]
    )
    again = bench.run_benchmark(config, tmp_path)
    assert calls == ["mix"] and again.folds == first.folds  # unchanged: reused
    changed = bench.run_benchmark(dataclasses.replace(config, seed=1), tmp_path)
    assert calls == ["mix", "mix"] and changed.fingerprints["mix"] != first.fingerprints["mix"]
    (folder / "emo.yaml").write_text(bench_records.EMO.replace("epochs: 8", "epochs: 7"))
    try:
        bench.run_benchmark(dataclasses.replace(config, seed=1), tmp_path)
        assert calls == ["mix", "mix", "mix"]  # a model config file changed
    finally:
        (folder / "emo.yaml").write_text(bench_records.EMO)
    report = (tmp_path / "results.md").read_text()
    assert "Gain of adding EmoForensics" in report and "95 % interval" in report
    assert np.isfinite(changed.gain["average"]["gain"])


def test_repeats_report_spread_and_a_pooled_paired_interval(mix_result):
    from emoboost.benchmark.gain import gain_summary, repeats_summary

    other = dataclasses.replace(
        mix_result, metrics=dict(mix_result.metrics, fusion=dict(mix_result.metrics["lowlevel"]))
    )
    summary = gain_summary([{"mix": mix_result}, {"mix": other}], samples=100, seed=0)
    single = summary["folds"]["mix"]["gain"]
    assert summary["repeats"]["average"]["values"] == [pytest.approx(single), 0.0]  # the second repeat gains nothing
    assert summary["repeats"]["average"]["mean"] == pytest.approx(single / 2)
    pooled = summary["repeats"]["pooled_average"]
    assert pooled["gain"] == pytest.approx(single / 2) and pooled["ci"][0] <= single / 2 <= pooled["ci"][1]
    aucs = repeats_summary([{"mix": mix_result}, {"mix": other}], samples=100, seed=0)
    assert aucs["folds"]["mix"]["lowlevel"]["std"] == 0 and aucs["folds"]["mix"]["fusion"]["std"] > 0
    # every row's AVG AUC over repeats: a hierarchical interval (repeats, then people) around the mean
    fusion = aucs["pooled_average"]["fusion"]
    assert fusion["auc"] == pytest.approx(aucs["average"]["fusion"]["mean"])
    assert fusion["ci"][0] <= fusion["auc"] <= fusion["ci"][1] and fusion["why"] is None


def test_repeats_redraw_the_partition_and_the_seeds(built, mix_result, tmp_path, monkeypatch):
    """Repeat k re-draws folds with protocol seed + k and trains with seed + k; results pool them."""
    from emoboost.data import protocols
    from emoboost.data.manifest import read_manifest, write_manifest

    folder, config, rows = built
    write_manifest(folder / "manifest.csv", [dataclasses.replace(r, split="") for r in rows])
    drawn, seeds = [], []

    def make_folds(manifest_rows, protocol):  # stands in for the protocol: the same fold whatever the seed
        drawn.append(protocol.seed)
        return [protocols.Fold("mix", tuple(read_manifest(folder / "folds" / "mix.csv")), 0)]

    def run_fold(category, fold_rows, store, root, settings, on_stage, seed, externals, held_out_categories=()):
        seeds.append(seed)
        return mix_result

    monkeypatch.setattr(protocols, "make_folds", make_folds)
    monkeypatch.setattr(bench, "run_fold", run_fold)
    config = dataclasses.replace(config, repeats=3, seed=5)
    with pytest.raises(ConfigError, match="no protocol.json beside the fold files"):
        bench.run_benchmark(config, tmp_path)  # folds written by hand: nothing says how to re-draw them
    stored = protocols.ProtocolConfig(categories=("mix", "other"), seed=10)
    protocols.write_folds([], folder / "folds", stored)  # only protocol.json: the protocol that drew the folds
    try:
        other = folder / "other_protocol.yaml"
        other.write_text("categories: [mix, other]\nseed: 11\n")
        with pytest.raises(ConfigError, match=r"not the protocol that drew the folds .*seed 10 vs 11"):
            bench.run_benchmark(dataclasses.replace(config, protocol=str(other)), tmp_path)
        assert drawn == [] and seeds == []  # refused before anything ran
        results = bench.run_benchmark(config, tmp_path)
    finally:
        (folder / "folds" / protocols.PROTOCOL_FILE).unlink()
    assert drawn == [11, 12] and seeds == [5, 6, 7]  # repeat 0 uses the given fold files; k re-draws at seed + k
    assert (tmp_path / "repeats" / "1" / "input_folds" / protocols.PROTOCOL_FILE).is_file()
    assert protocols.stored_protocol(tmp_path / "repeats" / "2" / "input_folds").seed == 12
    assert protocols.stored_protocol(tmp_path / "folds") == stored  # copied beside the fold and its results
    assert (tmp_path / "repeats" / "2" / "folds" / "mix.json").is_file()
    assert results.repeats["n"] == 3 and results.repeats["folds"]["mix"]["fusion"]["std"] == 0
    pooled = results.gain["repeats"]["pooled_average"]
    assert pooled["gain"] == pytest.approx(results.gain["average"]["gain"]) and pooled["folds"] == 3
    assert "Over 3 repeats" in (tmp_path / "results.md").read_text()


def test_the_protocol_that_drew_the_folds_is_in_the_fingerprint(built):
    from emoboost.benchmark.config import fold_fingerprint
    from emoboost.data import protocols
    from emoboost.data.manifest import read_manifest

    folder, config, _ = built
    fold_file = folder / "folds" / "mix.csv"
    rows, store = read_manifest(fold_file), FeatureStore(config.store)

    def fingerprint():
        return fold_fingerprint(config, rows, fold_file, store, folder / "data", (), "mix", 0)

    before = fingerprint()
    try:
        protocols.write_folds([], folder / "folds", protocols.ProtocolConfig(seed=3))
        three = fingerprint()
        protocols.write_folds([], folder / "folds", protocols.ProtocolConfig(seed=4))
        assert len({before, three, fingerprint()}) == 3
    finally:
        (folder / "folds" / protocols.PROTOCOL_FILE).unlink()
    assert fingerprint() == before


def test_a_generator_fold_is_checked_against_every_category_its_protocol_holds_out(built, tmp_path):
    """The protocol beside the folds says fold "mix" holds out RVFA and FVFA-FS together; its training splits hold
    both (this fixture's fold is mixed), so the benchmark refuses it before training anything."""
    from emoboost.data import protocols

    folder, config, _ = built
    stored = protocols.ProtocolConfig(
        categories=("RVFA", "FVFA-FS", "FVRA-WL"), held_out=(protocols.HeldOut("mix", ("RVFA", "FVFA-FS")),)
    )
    protocols.write_folds([], folder / "folds", stored)
    try:
        _, jobs = bench.plan_repeat(config, tmp_path, 0, (), lambda c, s: None)
        assert [job.held_out_categories for job in jobs] == [("RVFA", "FVFA-FS")]
        with pytest.raises(ConfigError, match="held-out categories FVFA-FS, RVFA appears in train"):
            bench.run_job(jobs[0], config, ())
    finally:
        (folder / "folds" / protocols.PROTOCOL_FILE).unlink()
