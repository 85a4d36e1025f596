"""The benchmark end to end on a small SynthAV set, and the rule that the fusion never sees the held-out category."""

import dataclasses
import json

import bench_fixture
import detector_fixture
import numpy as np
import pytest
import torch

from emoboost.benchmark import runner as bench
from emoboost.data.manifest import CATEGORIES, read_manifest
from emoboost.errors import ConfigError
from emoboost.features.store import FeatureStore
from emoboost.training.emoforensics import LabelledClip
from emoboost.training.lowlevel import LowLevelClip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory, extractor):
    folder = tmp_path_factory.mktemp("bench")
    return folder, bench_fixture.build(folder, extractor)


def test_fusion_never_sees_the_held_out_category(setup, monkeypatch):
    folder, config = setup
    category = "FVFA-GAN"
    rows = read_manifest(folder / "synthav" / "folds" / f"{category}.csv")
    store, root = FeatureStore(config.store), folder / "synthav"
    clean = bench.run_fold(category, rows, store, root, config)

    original = bench.load_fold

    def garbage(clip):
        rng = np.random.default_rng(0)
        emo, low = clip.emo, clip.lowlevel
        tokens = dataclasses.replace(
            emo.tokens, visual=rng.normal(size=emo.tokens.visual.shape).astype(np.float32) * 50
        )
        return dataclasses.replace(
            clip,
            emo=LabelledClip(emo.key, tokens, emo.label, emo.video_fake, emo.audio_fake),
            lowlevel=LowLevelClip(
                low.key, np.asarray(low.crops), np.full_like(low.logmel, 9.0), low.label, low.video_fake, low.audio_fake
            ),
        )

    def poisoned(fold_rows, *args):
        data = original(fold_rows, *args)
        test = [  # every test clip, real and fake
            dataclasses.replace(c, original=garbage(c.original), trimmed=garbage(c.trimmed))
            for c in data.splits.get("test", [])
        ]
        return dataclasses.replace(data, splits={**data.splits, "test": test})

    monkeypatch.setattr(bench, "load_fold", poisoned)
    dirty = bench.run_fold(category, rows, store, root, config)
    assert dirty.fusions == clean.fusions  # weights, bias, threshold, operating point: unchanged
    assert dirty.training == clean.training
    assert (
        dirty.metrics["fusion"]["probabilities"] != clean.metrics["fusion"]["probabilities"]
    )  # the test data did change


def test_benchmark_runs_end_to_end_and_resumes(setup, tmp_path, monkeypatch):
    folder, config = setup
    config = bench_fixture.with_ablation(config, folder)
    # another detector's per-fold scores (probabilities that know the label, with noise): rows ext:avad and emo+ext:avad
    rows = read_manifest(folder / "synthav" / "manifest.csv")
    rng = np.random.default_rng(0)
    (tmp_path / "avad").mkdir()
    for category in CATEGORIES:
        lines = ["path,score"] + [
            f"/elsewhere/{r.path},{min(1.0, max(0.0, 0.3 + 0.4 * r.label + rng.normal(0, 0.1))):.4f}" for r in rows
        ]
        (tmp_path / "avad" / f"{category}.csv").write_text("\n".join(lines) + "\n")
    config = dataclasses.replace(config, external=(f"avad={tmp_path / 'avad'}",))
    results = bench.run_benchmark(config, tmp_path / "out", detector_dir=tmp_path / "out" / "detector")
    assert set(results.folds) == set(CATEGORIES)
    assert (tmp_path / "out" / "detector" / "config.json").exists()
    # the saved detector carries the benchmark's held-out figures for its own fusion row (the case report shows them)
    from emoboost.detector.case_report import validation_rows
    from emoboost.detector.detector import Detector

    saved = Detector.from_pretrained(tmp_path / "out" / "detector")
    validation = saved.meta["validation"]
    row = "fusion+consistency" if "consistency" in saved.fusion.inputs else "fusion"
    assert validation["row"] == row and set(validation["folds"]) == set(CATEGORIES)
    assert validation["folds"]["RVFA"]["auc"] == results.folds["RVFA"][row]["auc"]
    assert validation["folds"]["RVFA"]["cllr"] == results.folds["RVFA"][row]["llr"]["cllr"]
    assert "RVFA" in saved.meta["data"]["fake_categories"]

    class Shown:
        threshold = 0.0

    held_out, _ = validation_rows(Shown(), saved)  # type: ignore[arg-type]
    assert any(name == "held out: RVFA" and value.startswith("AUC ") for name, value in held_out)
    assert read_manifest(tmp_path / "out" / "folds" / "RVFA.csv") == read_manifest(
        folder / "synthav" / "folds" / "RVFA.csv"
    )
    fold = json.loads((tmp_path / "out" / "folds" / "RVFA.json").read_text())
    assert fold["fusions"]["fusion"]["inputs"] == ["emo", "rgb", "acoustic"] and fold["fusions"]["emo+ext:avad"][
        "inputs"
    ] == ["emo", "ext:avad"]
    assert results.folds["RVFA"]["ext:avad"]["auc"] > 0.9
    gain = results.gain
    assert (gain["base"], gain["boosted"]) == ("ext:avad", "emo+ext:avad") and set(gain["folds"]) == set(CATEGORIES)
    assert gain["avg_fv"]["folds"] == 4
    # a handful of test identities per fold: no interval over people can be estimated, and the report says why
    assert gain["average"]["ci"] is None and "an interval needs 5 of each" in gain["average"]["why"], gain["average"]
    report = (tmp_path / "out" / "results.md").read_text()
    assert f"(no interval: {gain['average']['why']})" in report and "No interval 1:" in report
    # the fold keeps what its fusions were fitted and scored on, so an interval can refit them on resampled people
    stored = fold["logits"]
    assert set(stored["calib"]) >= {"emo", "rgb", "acoustic", "ext:avad"} and set(stored["test"]) == set(
        stored["calib"]
    )
    assert len(stored["calib_labels"]) == len(stored["calib_groups"]) == len(stored["calib"]["emo"])
    refit = gain["refit"]["average"]
    assert refit["gain"] == pytest.approx(gain["average"]["gain"], abs=1e-3) and refit["ci"] is None
    assert "refitted on resampled calibration people" in report
    assert results.training["RVFA"]["original"]["rgb"]["label"] == "video_fake"
    assert set(results.trimmed_trained["folds"]) == set(CATEGORIES)
    for detectors in results.folds.values():
        assert detectors["best_single"]["chosen"] in {"emo", "rgb", "acoustic", "consistency"}
        assert detectors["best_single"]["auc"] == detectors[detectors["best_single"]["chosen"]]["auc"]
        assert set(detectors) == {
            "best_single",
            "shortcut",
            "lowlevel_mixture",
            "fusion_mixture",
            "lowlevel_ensemble",
            "emo",
            "emo:visual_only",
            "ext:avad",
            "emo+ext:avad",
            "rgb",
            "acoustic",
            "lowlevel",
            "fusion",
            "mean",
            "consistency",
            "lowlevel+consistency",
            "fusion+consistency",
            "probe_disagreement",  # SynthAV carries emotion labels: the floor a consistency model must beat
        }
        for scores in detectors.values():
            assert set(scores) >= {"auc", "ap", "eer", "acc", "ece"}
            assert 0 <= scores["auc"] <= 1 and 0 <= scores["acc"] <= 1
    assert set(results.average) == set(results.folds["RVFA"]) and set(results.avg_fv["fusion"]) >= {
        "auc",
        "ap",
    }
    assert set(results.trimmed["folds"]) == set(CATEGORIES)
    # the alignment-shuffle control of every EmoForensics row; a visual-only row cannot see the voice swap
    for category in CATEGORIES:
        shuffle = results.controls[category]["alignment_shuffle"]
        assert set(shuffle) == {"emo", "emo:visual_only"}
        assert shuffle["emo"]["clips"] == results.folds[category]["emo"]["n_real"]
        assert shuffle["emo:visual_only"]["auc"] == 0.5 and shuffle["emo:visual_only"]["mean_rise"] == 0.0
        # SynthAV's factor columns give a per-cell breakdown whose fakes add up to the fold's
        cells = results.cells[category]["fusion"]
        assert sum(c["n_fake"] for c in cells.values()) == results.folds[category]["fusion"]["n_fake"]
        # v3 renders every held-out scenario at both mismatch levels: a paired effect per detector
        pairs = results.mismatch[category]["consistency"]
        assert 2 * pairs["n"] == results.folds[category]["fusion"]["n_fake"] and pairs["identities"] >= 1
        assert results.training[category]["original"]["consistency"]["label"] == "real clips only"
        assert all(name.startswith("mismatch=") for name in cells)
        # the pairing controls of every row that reads both modalities (never of one reading the face alone,
        # nor of a row with external scores: their response to a re-pairing is unknown)
        pairing = results.controls[category]["pairing"]
        assert set(pairing) >= {"cross_identity", "shift"}
        rows = set(pairing["cross_identity"])
        assert {"emo", "lowlevel", "fusion", "consistency", "fusion+consistency", "fusion_mixture"} <= rows
        assert not rows & {"rgb", "acoustic", "emo+ext:avad", "ext:avad", "shortcut"}
        assert pairing["cross_identity"]["emo"]["clips"] == results.folds[category]["emo"]["n_real"]
        # the test people's emotion-only re-voicings, clips of their own: every row with inputs scored on them
        revoiced = pairing["revoiced"]
        assert revoiced["consistency"]["clips"] == results.folds[category]["emo"]["n_real"]  # one per recording
        assert {"rgb", "acoustic", "emo", "fusion", "consistency", "probe_disagreement", "shortcut"} <= set(revoiced)
        assert abs(revoiced["rgb"]["mean_rise"]) < 1e-4  # the same video (up to float sums)
        assert not set(revoiced) & {"emo+ext:avad", "ext:avad"}
    assert set(results.consistency_gain["folds"]) == set(CATEGORIES)
    assert (results.mixture_gain["base"], results.mixture_gain["boosted"]) == ("lowlevel_mixture", "fusion_mixture")
    mixture = json.loads((tmp_path / "out" / "folds" / "RVFA.json").read_text())["fusions"]["fusion_mixture"]
    assert mixture["video"]["inputs"] == ["rgb", "emo_face"] and mixture["audio"]["inputs"] == ["acoustic", "emo_voice"]
    assert "weights_are" in mixture and "Gain under the mixture fusion" in (tmp_path / "out" / "results.md").read_text()
    assert "Controls: the same real faces with another voice" in (tmp_path / "out" / "results.md").read_text()
    assert results.consistency_gain["boosted"] == "lowlevel+consistency"
    out = tmp_path / "out"
    stored = json.loads((out / "results.json").read_text())
    assert stored["folds"]["RVFA"]["fusion"]["auc"] == results.folds["RVFA"]["fusion"]["auc"]
    for name in [
        "results.md",
        "results.csv",
        "summary.png",
        *(f"roc_{c}.png" for c in CATEGORIES),
        *(f"scores_{c}.png" for c in CATEGORIES),
    ]:
        assert (out / name).stat().st_size > 0, name
    table = (out / "results.md").read_text()
    assert (
        "not FakeAVCeleb results" in table
        and "EMO-BOOST" in table
        and "AVG-FV" in table
        and "Gain of adding EmoForensics" in table
        and "alignment shuffle" in table
        and "Per factorial cell" in table
        and "## Baselines (what each rules out)" in table
        and "Shortcut only" in table
        and "**Equal-capacity ensemble** (the low-level pair fused with a second" in table
    )
    # what made the numbers: code, libraries, date, the settings' and every fold's fingerprints
    provenance = stored["provenance"]
    assert provenance["emoboost"] and provenance["libraries"]["torch"] and provenance["date"].startswith("20")
    assert provenance["fold_fingerprints"] == results.fingerprints and len(provenance["config_fingerprint"]) == 16
    assert "## Provenance" in table and f"`{results.fingerprints['RVFA'][:12]}`" in table
    # a rerun skips finished folds
    monkeypatch.setattr(bench, "run_fold", lambda *a, **k: pytest.fail("finished fold run again"))
    again = bench.run_benchmark(config, out)
    assert again.folds == results.folds


def test_detector_trained_on_everything_round_trips(setup, tmp_path):
    from emoboost.detector.detector import Detector, Verdict

    folder, config = setup
    detector = _train_detector(folder, config)
    detector.save_pretrained(tmp_path / "detector")
    assert sorted(p.name for p in (tmp_path / "detector").iterdir()) == [
        "README.md",
        "acoustic.safetensors",
        "config.json",
        "consistency.safetensors",
        "emo.safetensors",
        "fusion.json",
        "rgb.safetensors",
    ]
    loaded = Detector.from_pretrained(tmp_path / "detector")
    clip = folder / "synthav" / read_manifest(folder / "synthav" / "manifest.csv")[0].path
    first, second = loaded.predict(clip), loaded.predict(clip)
    assert isinstance(first, Verdict) and first == second  # deterministic
    assert first.label in ("real", "fake") and 0 <= first.probability <= 1
    assert first.label == ("fake" if first.llr >= first.threshold else "real")
    assert set(first.scores) == {"emo", "rgb", "acoustic", "consistency", "fused"}
    assert set(first.modalities) == {"face", "voice"} and loaded.fusion.inputs[-1] == "consistency"
    assert all(s.consistency is not None for s in first.segments)
    band = first.provenance["consistency_real_band"]  # where real calibration clips' windows lie
    assert band is not None and band[0] <= band[1]
    assert detector.meta["training"]["consistency"]["label"] == "real clips only"
    assert "trained on real clips only" in (tmp_path / "detector" / "README.md").read_text()
    assert first.segments and all(0 <= s.start_s < s.end_s <= first.duration_s + 1e-6 for s in first.segments)
    assert first.provenance["weights_sha256"] and first.provenance["operating_point"]["rule"] == "bayes"
    assert detector.meta["training"]["acoustic"]["label"] == "audio_fake" and detector.meta["data"]["calib_clips"] > 0
    data = json.loads(json.dumps(first.to_dict()))
    assert set(data) == detector_fixture.VERDICT_KEYS
    # the same verdict as the in-memory detector
    assert detector.predict(clip).probability == pytest.approx(first.probability, abs=1e-6)


def test_loading_a_detector_never_unpickles(setup, tmp_path, monkeypatch):
    import pickle

    import torch

    from emoboost.detector.detector import Detector

    folder, config = setup
    _train_detector(folder, config).save_pretrained(tmp_path / "d")
    for name in ("load", "loads"):
        monkeypatch.setattr(pickle, name, lambda *a, **k: pytest.fail("pickle used"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load used"))
    Detector.from_pretrained(tmp_path / "d")
    (tmp_path / "d" / "rgb.safetensors").write_bytes(b"\x80\x04 pickled?")
    with pytest.raises(Exception, match="unreadable weights|do not match"):
        Detector.from_pretrained(tmp_path / "d")


def test_emoboost_train_writes_a_detector_that_detect_loads(setup, tmp_path, capsys):
    import yaml

    from emoboost.cli import run
    from emoboost.config import to_dict

    folder, config = setup
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(to_dict(dataclasses.replace(config, train_trimmed=False))))
    fold = folder / "synthav" / "folds" / "RVFA.csv"
    code = run(
        [
            "train",
            "--manifest",
            str(fold),
            "--store",
            config.store,
            "--out",
            str(tmp_path / "det"),
            "--config",
            str(tmp_path / "bench.yaml"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "video_fake" in capsys.readouterr().out
    card = (tmp_path / "det" / "README.md").read_text()
    assert "held-out categories: RVFA" in card and "calibration" in card
    clip = folder / "synthav" / next(r.path for r in read_manifest(fold) if r.split == "test")
    assert run(["detect", str(clip), "--model", str(tmp_path / "det"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["label"] in ("real", "fake")


def test_the_consistency_detector_also_trains_on_real_clips_of_other_people(setup, tmp_path, extractor):
    from emoboost.benchmark.config import detector_configs
    from emoboost.data.synthav import SynthConfig, generate
    from emoboost.features.extract import extract_many
    from emoboost.training.detector import train_detector

    folder, config = setup
    extra = generate(tmp_path / "extra", SynthConfig(identities=3, clips_per_identity=1, seconds=2.0, seed=4), None,
                     ("real",))  # fmt: skip
    store = FeatureStore(config.store)
    assert not extract_many([tmp_path / "extra" / r.path for r in extra], store, extractor).failed
    configs = detector_configs(config, config.emo_config, config.seed)
    manifest = folder / "synthav" / "manifest.csv"
    extra_manifest = tmp_path / "extra" / "manifest.csv"
    detector = train_detector(
        manifest, configs, store, config.training_data(), folder / "synthav", extra_real=extra_manifest
    )
    entry = detector.meta["training"]["consistency"]
    assert entry["data"]["extra_real_clips"] == 3
    own = sum(1 for r in read_manifest(manifest) if r.label == 0)
    assert 3 < entry["data"]["train_clips"] < own + 3  # its split's real clips and the 3 others
    assert detector.meta["data"]["extra_real"]["identities"] == 3
    # the same clips again are not other people: refused
    with pytest.raises(ConfigError, match="clips also in"):
        train_detector(manifest, configs, store, config.training_data(), folder / "synthav", extra_real=manifest)


def _train_detector(folder, config):
    """The detector ``emoboost train`` makes from the set's manifest (no splits: every category)."""
    from emoboost.benchmark.config import detector_configs
    from emoboost.features.store import FeatureStore
    from emoboost.training.detector import train_detector

    configs = detector_configs(config, config.emo_config, config.seed)
    manifest = folder / "synthav" / "manifest.csv"
    return train_detector(manifest, configs, FeatureStore(config.store), config.training_data(), folder / "synthav")


def test_train_consistency_on_real_clips_then_a_detector_that_uses_it(setup, tmp_path, capsys):
    import yaml
    from safetensors.torch import load_file

    from emoboost.cli import run
    from emoboost.config import to_dict
    from emoboost.data.manifest import write_manifest

    folder, config = setup
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(to_dict(dataclasses.replace(config, train_trimmed=False))))
    manifest = folder / "synthav" / "manifest.csv"
    rows = read_manifest(manifest)
    left_out = sorted({r.identity for r in rows})[:2]
    write_manifest(tmp_path / "others.csv", [r for r in rows if r.identity in left_out])
    command = ["train-consistency", str(manifest), "--store", config.store, "--out", str(tmp_path / "c"),
               "--config", str(tmp_path / "bench.yaml"), "--exclude", str(tmp_path / "others.csv"),
               "--steps", "40", "--dataset", "synthav"]  # fmt: skip
    assert run(command) == 0, capsys.readouterr().err
    assert "best step" in capsys.readouterr().out
    written = json.loads((tmp_path / "c" / "config.json").read_text())
    assert written["real_data"]["excluded_identities"] == 2
    # where its clips come from, and which files they were (by content), for cross-dataset checks
    from emoboost.training.detector import pretrained_sources

    store = FeatureStore(config.store)
    trained_files = {store.content_hash(folder / "synthav" / r.path) for r in rows if r.label == 0}
    trained_files -= {store.content_hash(folder / "synthav" / r.path) for r in rows if r.identity in left_out}
    dataset, files = pretrained_sources(tmp_path / "c")
    assert dataset == "synthav" and files == trained_files and written["real_data"]["files"]["count"] == len(files)
    assert written["real_data"]["identities"] == len({r.identity for r in rows}) - 2
    assert not (tmp_path / "c" / "resume").exists()  # the training state goes once the model is written
    assert run(command) != 0 and "already holds" in capsys.readouterr().err  # never overwritten
    unknown = [*command[:5], str(tmp_path / "d"), *command[6:-1], "nope"]
    assert run(unknown) == 2 and "unknown dataset 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
    fold = folder / "synthav" / "folds" / "RVFA.csv"
    train = ["train", "--manifest", str(fold), "--store", config.store, "--out", str(tmp_path / "det"),
             "--config", str(tmp_path / "bench.yaml"), "--consistency", str(tmp_path / "c")]  # fmt: skip
    assert run(train) == 0, capsys.readouterr().err
    inside, alone = (
        load_file(str(tmp_path / "det" / "consistency.safetensors")),
        load_file(str(tmp_path / "c" / "consistency.safetensors")),
    )
    assert inside.keys() == alone.keys() and all(torch.equal(inside[k], alone[k]) for k in inside)
    assert "trained separately" in (tmp_path / "det" / "README.md").read_text()
    # a benchmark may use it in every fold instead of training one per fold, but only on people it never saw
    assert sorted(written["real_data"]["people"]) == sorted({r.identity for r in rows} - set(left_out))
    pretrained = dataclasses.replace(config, consistency_pretrained=str(tmp_path / "c"))
    model, entry = bench._pretrained_consistency(pretrained, "RVFA", read_manifest(tmp_path / "others.csv"), 5)
    assert entry["trained_separately"]["folder"] == str(tmp_path / "c")
    assert "people" not in entry["trained_separately"]["real_data"]  # the names stay in its own folder
    with pytest.raises(ConfigError, match="trained on 8 people of fold RVFA"):
        bench._pretrained_consistency(pretrained, "RVFA", read_manifest(fold), 5)
    assert bench._pretrained_consistency(config, "RVFA", read_manifest(fold), 5) is None  # default: trained per fold
    store = FeatureStore(config.store)
    prints = [bench.fold_fingerprint(c, read_manifest(fold), fold, store, folder / "synthav", (), "RVFA", 0)
              for c in (config, pretrained)]  # fmt: skip
    assert prints[0] != prints[1]
