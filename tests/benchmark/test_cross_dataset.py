"""Cross-dataset evaluation at quickstart size: a detector trained on a tiny SynthAV set (A), tested on the val split
of a generated AV-Deepfake1M-shaped tree (B) whose clips are real talking-face videos; and the identity rule.

B's tree has the dataset's structure (the metadata entries of tests/data/test_avdeepfake1m.py), its fake segments
inside the 2.4 s clips. The numbers are generated data's: they check the pipeline, nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import bench_fixture
import numpy as np
import pytest
import torch
import yaml
from data.test_avdeepfake1m import VARIANTS, entry

from emoboost.benchmark.cross_config import load_cross_dataset_config
from emoboost.benchmark.cross_identities import check_identities
from emoboost.cli import run
from emoboost.config import to_dict
from emoboost.data.avdeepfake1m import CATEGORIES as AVDF1M_CATEGORIES
from emoboost.data.demo import demo_clip
from emoboost.data.manifest import read_manifest, segments_of, write_manifest
from emoboost.data.synthav import SynthConfig, generate
from emoboost.features.extract import extract_many
from emoboost.features.store import FeatureStore
from emoboost.models.consistency import ConsistencyConfig

pytestmark = pytest.mark.slow

SYNTH_SPLITS = {"id00000": "train", "id00001": "train", "id00002": "val", "id00003": "calib"}
TEST_PEOPLE = (("id00020", "mnoPQR13579", "00002"), ("id00021", "stuVWX24680", "00004"))
TRAIN_PEOPLE = (  # id00020 is in both splits: the overlap case
    ("id00010", "abcDEF12345", "00001"),
    ("id00011", "ghiJKL67890", "00003"),
    ("id00020", "yzaBCD97531", "00007"),
)
SEGMENTS = {  # modify_type -> fake segments inside a 2.4 s clip (visual, audio: as VARIANTS has them)
    "real": [],
    "visual_modified": [[0.48, 0.86]],
    "audio_modified": [[1.0, 1.5]],
    "both_modified": [[0.4, 0.64], [1.2, 1.6]],
}
CLIP_S = 2.4
ROWS = ("emo", "rgb", "acoustic", "lowlevel", "fusion", "mean", "consistency", "fusion+consistency", "fusion_mixture")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One torch thread while these tests run: on a busy 2-core machine a second one spin-waits, and extraction
    takes several times as long (docs/decisions.md, timing projection)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def avdeepfake1m_tree(root: Path, clip_of) -> Path:
    """``val``: the four clips of one utterance per test person; ``train``: the same for the train people. Every
    entry is built by the AV-Deepfake1M reader test's ``entry`` (the README's fields); ``clip_of(split, number)``
    writes a clip and returns its path."""
    for split, people in (("train", TRAIN_PEOPLE), ("val", TEST_PEOPLE)):
        entries = []
        for person, video, utterance in people:
            folder = f"{person}/{video}/{utterance}"
            for modify_type, (name, _, _, _, model) in VARIANTS.items():
                fake = SEGMENTS[modify_type]
                visual = fake if modify_type in ("visual_modified", "both_modified") else []
                audio = fake if modify_type in ("audio_modified", "both_modified") else []
                original = f"dev/mp4/{folder}.mp4" if modify_type == "real" else f"{folder}/real.mp4"
                entries.append(entry(f"{folder}/{name}", modify_type, split, fake, visual, audio, original, model))
                target = root / split / folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(clip_of(split, len(entries)), target)
        (root / f"{split}_metadata.json").write_text(json.dumps(entries))
    return root


@pytest.fixture(scope="module")
def avdf1m(tmp_path_factory) -> tuple[Path, dict]:
    """B: the AV-Deepfake1M-shaped tree and its manifest (through `emoboost manifest avdeepfake1m`); the tiny
    benchmark recipe as YAML; the test side of a cross-dataset config."""
    folder = tmp_path_factory.mktemp("cross")
    clips = folder / "clips"

    def clip_of(split: str, number: int) -> Path:
        path = clips / f"{split}{number if split == 'val' else 0}.mp4"  # train clips: one file, never extracted
        return path if path.exists() else demo_clip(path, CLIP_S, 224, 160, variant=number if split == "val" else 99)

    tree = avdeepfake1m_tree(folder / "AV-Deepfake1M", clip_of)
    assert run(["manifest", "avdeepfake1m", str(tree), "--out", str(folder / "avdf1m")]) == 0
    # consistency windows of 1 s, so a 2 s clip has a shifted negative (val holds one person)
    recipe = dataclasses.replace(
        bench_fixture.tiny_config(folder), consistency_model=ConsistencyConfig(hidden=16, embed_dim=8, window_tokens=5)
    )
    (folder / "recipe.yaml").write_text(yaml.safe_dump(to_dict(recipe)))
    test = {"dataset": "avdeepfake1m", "manifest": str(folder / "avdf1m" / "manifest.csv"), "split": "val",
            "store": str(folder / "features_b"), "root": str(tree)}  # fmt: skip
    return folder, {"name": "synthav_to_avdeepfake1m", "test": test, "bootstrap": 50}


@pytest.fixture(scope="module")
def cross(avdf1m, extractor) -> tuple[Path, dict]:
    """A: 4 SynthAV identities (real + FVFA-WL: a fake face and voice), a fold file train / val / calib by identity,
    extracted; B's val clips extracted; the config."""
    folder, config = avdf1m
    rows = generate(folder / "synthav", SynthConfig(identities=4, clips_per_identity=1, seconds=2.0, seed=3),
                    categories=("real", "FVFA-WL"))  # fmt: skip
    fold = folder / "synthav" / "folds" / "cross.csv"
    write_manifest(fold, [dataclasses.replace(r, split=SYNTH_SPLITS[r.identity]) for r in rows])
    store_a = FeatureStore(folder / "features_a")
    assert not extract_many([folder / "synthav" / r.path for r in rows], store_a, extractor).failed
    test = config["test"]
    val = [Path(test["root"]) / r.path for r in read_manifest(test["manifest"]) if r.split == "val"]
    assert len(val) == 4 * len(TEST_PEOPLE)
    assert not extract_many(val, FeatureStore(test["store"]), extractor).failed
    config = {**config, "train": {"dataset": "synthav", "manifest": str(fold), "store": str(store_a.root),
                                  "benchmark": str(folder / "recipe.yaml")}}  # fmt: skip
    (folder / "cross.yaml").write_text(yaml.safe_dump(config))
    return folder, config


def tables_named(markdown: str, *names: str) -> list[str]:
    """The heading of each table of ``markdown`` whose heading or caption (the text between them) does not name
    every one of ``names``."""
    unnamed, context, inside = [], "", False
    for line in markdown.splitlines():
        if line.startswith("#"):
            context = line
        elif line.startswith("|") and not inside:
            if not all(name in context for name in names):
                unnamed.append(context.splitlines()[0])
        elif not line.startswith("|"):
            context += "\n" + line
        inside = line.startswith("|")
    return unnamed


def test_a_synthav_detector_tested_on_avdeepfake1m_val_writes_the_full_report(cross, capfd):
    folder, config = cross
    out = folder / "out"
    code = run(["cross-dataset", "--config", str(folder / "cross.yaml"), "--out", str(out)])
    captured = capfd.readouterr()
    assert code == 0, captured.err
    results = json.loads((out / "results.json").read_text())
    markdown = (out / "results.md").read_text()
    # both datasets named, at the top and in every table
    assert markdown.startswith("# Cross-dataset evaluation: trained on synthav, tested on avdeepfake1m")
    assert not tables_named(markdown, "synthav", "avdeepfake1m"), tables_named(markdown, "synthav", "avdeepfake1m")
    assert "publishes no test labels: its `val` split is the labelled held-out split" in markdown
    assert "they are not results of emoboost trained on real data" in markdown
    # SynthAV's drawn people and AV-Deepfake1M's VoxCeleb2 people cannot be compared: said, not guessed
    assert results["identities"]["checked"] is False
    assert "Identities could not be checked" in markdown and "Identities could not be checked" in captured.out
    # the detector was trained here on A's fold, and its own fusion is a row refitted on the same calib clips
    assert results["train"]["obtained"] == "trained here" and (out / "detector" / "config.json").is_file()
    assert results["train"]["rows"] == {"train": 6, "val": 3, "calib": 3}
    assert results["own_fusion"]["row"] == "fusion+consistency" and results["own_fusion"]["max_llr_difference"] < 1e-3
    # every row per category of B (its reals + that category's fakes), with Cllr and the identity-interval rule
    assert set(results["folds"]) == set(AVDF1M_CATEGORIES)
    for rows in results["folds"].values():
        assert set(ROWS) <= set(rows)
        assert rows["fusion"]["n_real"] == len(TEST_PEOPLE) and rows["fusion"]["n_fake"] == len(TEST_PEOPLE)
        for scores in rows.values():
            assert 0 <= scores["auc"] <= 1 and 0 < scores["ap"] <= 1 and "cllr" in scores["llr"]
            assert scores["auc_ci"] is None and scores["auc_ci_why"]  # two test people: no interval, and why
    assert results["overall"]["fusion"]["n_real"] == 2 and results["overall"]["fusion"]["n_fake"] == 6
    gain = results["gain"]
    assert (gain["base"], gain["boosted"]) == ("lowlevel", "fusion") and list(gain["folds"]) == list(results["folds"])
    assert results["consistency_gain"]["boosted"] == "lowlevel+consistency"
    assert results["mixture_gain"]["boosted"] == "fusion_mixture"
    assert results["overall_gain"]["folds"]["all"]["test_identities"] == len(TEST_PEOPLE)
    # temporal localisation from the window LLRs of every test clip, per category and over all of them
    localisation = results["localisation"]
    assert localisation["scored"] and set(localisation["sets"]) == {"all", *AVDF1M_CATEGORIES}
    every = localisation["sets"]["all"]
    manifest = [r for r in read_manifest(config["test"]["manifest"]) if r.split == "val"]
    assert every["segments"] == sum(len(segments_of(r.fake_segments)) for r in manifest) == 8
    assert every["clips"] == 8 and every["frames"] + every["unscored_frames"] == 8 * round(CLIP_S * 25)
    assert 0 < every["fake_frames"] < every["frames"]
    assert set(every["ap"]) == {"0.5", "0.75", "0.95"} and set(every["ar"]) == {"10", "20", "50", "100"}
    for value in (*every["ap"].values(), *every["ar"].values(), every["frame_auc"]):
        assert np.isnan(value) or 0 <= value <= 1
    assert localisation["sets"]["AVDF1M-AV"]["segments"] == 4 and "## Temporal localisation" in markdown
    assert "| all | 8 | 8 |" in markdown and "AP@0.75" in markdown and "AR@100" in markdown
    spread = localisation["window_llrs"]  # 3 calibration clips bound every LLR tightly: the report must say so
    assert spread["windows"] == 16 and (spread["distinct"] > 1) != ("no proposal or frame is ranked" in markdown)
    # provenance: code, settings and a fingerprint of each input
    provenance = results["provenance"]
    assert set(provenance["data_fingerprints"]) == {"train_data", "test_data", "detector", "protocol"}
    assert "Data fingerprints: train_data" in markdown and provenance["config_fingerprint"]
    scores = (out / "scores.csv").read_text().splitlines()
    assert scores[0].startswith("path,label,identity,") and len(scores) == 1 + 8
    for name in ("results.csv", "roc_all.png", "roc_AVDF1M-V.png", "llr_AVDF1M-A/tippett.png"):
        assert (out / name).stat().st_size > 0, name

    # the same detector given as a folder: nothing trains, every row scores the same
    again = folder / "again"
    code = run(["cross-dataset", "--config", str(folder / "cross.yaml"), "--out", str(again),
                "--detector", str(out / "detector")])  # fmt: skip
    assert code == 0, capfd.readouterr().err
    given = json.loads((again / "results.json").read_text())
    assert given["train"]["obtained"] == "given" and not (again / "detector").exists()
    assert given["folds"] == results["folds"] and given["localisation"] == results["localisation"]
    # ... but only with the manifest it was trained on
    other = folder / "other.csv"
    write_manifest(other, read_manifest(config["train"]["manifest"])[1:])
    changed = {**config, "train": {**config["train"], "manifest": str(other), "detector": str(out / "detector")}}
    (folder / "other.yaml").write_text(yaml.safe_dump(changed))
    capfd.readouterr()
    assert run(["cross-dataset", "--config", str(folder / "other.yaml"), "--out", str(folder / "o")]) == 2
    message = capfd.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and "trained on another manifest than train.manifest" in message


def test_a_test_person_among_the_training_people_refuses_the_run(avdf1m, capfd):
    """A and B in one identity space (AV-Deepfake1M's train split as A, its val split as B): id00020 is in both.
    Nothing is extracted: the rule is checked before any feature is read."""
    folder, config = avdf1m
    rows = read_manifest(config["test"]["manifest"])
    splits = {"id00010": "train", "id00011": "val", "id00020": "calib"}
    fold = folder / "avdf1m" / "folds" / "train.csv"
    write_manifest(fold, [dataclasses.replace(r, split=splits[r.identity]) for r in rows if r.split == "train"])
    train = {"dataset": "avdeepfake1m", "manifest": str(fold), "store": str(folder / "features_a"),
             "benchmark": str(folder / "recipe.yaml")}  # fmt: skip
    same_space = {**config, "train": train}
    (folder / "same_space.yaml").write_text(yaml.safe_dump(same_space))
    out = folder / "refused"
    assert run(["cross-dataset", "--config", str(folder / "same_space.yaml"), "--out", str(out)]) == 2
    message = capfd.readouterr().err.strip()
    assert len(message.splitlines()) == 1, message
    assert "1 of the 2 people of avdeepfake1m's val split are among the detector's training people" in message
    assert "first: id00020" in message and not out.exists()  # refused before anything trains or is written
    # without the shared person the same check passes, and says what it compared
    settings = load_cross_dataset_config(folder / "same_space.yaml")
    trained = [r for r in read_manifest(fold) if r.identity != "id00020"]
    tested = [r for r in rows if r.split == "val"]
    checked = check_identities(settings, trained, tested)
    assert checked["checked"] and checked["statement"].startswith("Identities checked: none of the 2 people tested")


def test_a_dataset_the_recipe_cannot_train_and_calibrate_on_is_refused_before_any_work(tmp_path):
    """No calib split (a dataset's own train / val only), or no fakes left under the recipe's categories: one line."""
    from emoboost.benchmark.cross_config import CrossDatasetConfig, TrainSide
    from emoboost.benchmark.cross_dataset import require_usable
    from emoboost.data.manifest import ManifestRow
    from emoboost.errors import ConfigError

    def row(i: int, label: int, split: str) -> ManifestRow:
        kind = "FVFA" if label else "RVRA"
        return ManifestRow(
            f"{i}.mp4", label, kind, "X" if label else "real", "m", f"id{i:05d}", (f"id{i:05d}",), split=split
        )

    config = CrossDatasetConfig(train=TrainSide(dataset="avdeepfake1m", manifest=str(tmp_path / "a.csv")))
    usable = [row(0, 0, "train"), row(1, 1, "train"), row(2, 0, "calib"), row(3, 1, "calib")]
    require_usable(usable, config)
    with pytest.raises(ConfigError, match=r"calib split has no clips .*categories kept: X, real"):
        require_usable(usable[:2], config)
    with pytest.raises(ConfigError, match=r"train split has only real clips"):
        require_usable([row(0, 0, "train"), *usable[2:]], config)


def test_a_test_category_that_is_not_a_plain_name_is_refused(tmp_path):
    """B's categories become file names and table cells: "../x" or "a|b" is refused in one line naming it."""
    from emoboost.benchmark.cross_config import CrossDatasetConfig, TestSide
    from emoboost.benchmark.cross_dataset import _split_rows
    from emoboost.data.manifest import ManifestRow, write_manifest
    from emoboost.errors import ConfigError

    for bad in ("../x", "a|b"):
        rows = [
            ManifestRow("r.mp4", 0, "RVRA", "real", "real", "id00001", ("id00001",), split="val"),
            ManifestRow("f.mp4", 1, "FVFA", bad, "m", "id00002", ("id00002",), split="val"),
        ]
        manifest = write_manifest(tmp_path / "m.csv", rows)
        config = CrossDatasetConfig(test=TestSide(dataset="avdeepfake1m", manifest=str(manifest), split="val"))
        with pytest.raises(ConfigError, match=r"is not a plain name"):
            _split_rows(config)


@pytest.mark.parametrize(
    "yaml_text,message",
    [
        ("localisation: {thresholds: [.nan]}", "thresholds must be finite"),
        ("localisation: {thresholds: [.inf, 0]}", "thresholds must be finite"),
        ("seed: -1", "seed must be >= 0"),
        ("bootstrap: 1000000000", "bootstrap must be in"),
    ],
)
def test_settings_that_would_fail_after_training_are_refused_when_read(tmp_path, yaml_text, message):
    from emoboost.benchmark.cross_config import load_cross_dataset_config
    from emoboost.errors import ConfigError

    path = tmp_path / "cross.yaml"
    sides = "train: {dataset: synthav, manifest: a.csv, store: s}\n"
    sides += "test: {dataset: avdeepfake1m, manifest: b.csv, store: t}\n"
    path.write_text(sides + yaml_text + "\n")
    with pytest.raises(ConfigError, match=message):
        load_cross_dataset_config(path).validate()


def test_people_a_separate_consistency_detector_shares_with_the_test_set_are_a_warning(monkeypatch):
    """Their dataset is not recorded, so a shared name is flagged as a possible leak when the test set's names are
    global ids (AV-Deepfake1M: VoxCeleb2's), and only counted when they are not."""
    import emoboost.benchmark.cross_report as cross_report

    monkeypatch.setattr(cross_report, "scope", lambda results: "scope")
    source = {"kind": "consistency detector trained separately", "source": "/m", "people": 10, "same_names_as_test": 2}

    def lines(dataset: str) -> str:
        identities = {"statement": "s", "test": {"dataset": dataset}, "other_sources": [source]}
        return "\n".join(cross_report._identity_lines({"identities": identities}))

    assert "possible identity leak" in lines("avdeepfake1m") and "2 test people share a name" in lines("avdeepfake1m")
    assert "possible identity leak" not in lines("synthav") and "2 share a name" in lines("synthav")


def test_a_separate_consistency_detector_that_learnt_a_test_person_or_file_is_refused(tmp_path, monkeypatch):
    """`emoboost train-consistency --dataset` records where its clips come from and their SHA-256: a test file among
    them is refused, and so is a test person where its dataset names people as the test set does (VoxCeleb2 ids for
    AV-Deepfake1M); without a recorded dataset a shared name stays a warning."""
    import emoboost.benchmark.cross_report as cross_report
    from emoboost.benchmark.cross_config import CrossDatasetConfig, TestSide
    from emoboost.benchmark.cross_identities import check_consistency_source
    from emoboost.data.manifest import ManifestRow
    from emoboost.errors import ConfigError
    from emoboost.files import sha256_file
    from emoboost.training.consistency import FORMAT
    from emoboost.training.detector import REAL_FILES

    def consistency_folder(name: str, dataset: str | None, people: list[str], files: list[str]) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / REAL_FILES).write_text("".join(f"{f}\n" for f in files))
        listed = {"list": REAL_FILES, "count": len(files), "sha256": sha256_file(folder / REAL_FILES)}
        real_data = {"people": people, "dataset": dataset, "files": listed}
        (folder / "config.json").write_text(json.dumps({"format": FORMAT, "real_data": real_data}))
        return folder

    config = CrossDatasetConfig(test=TestSide(dataset="avdeepfake1m", manifest="b.csv", split="val"))
    tested = [ManifestRow("val/id00020/a.mp4", 0, "RVRA", "real", "real", "id00020", ("id00020",), split="val")]
    records = [("val/id00020/a.mp4", "a" * 64, [])]
    vox = consistency_folder("vox", "voxceleb2", ["id00020", "id00030"], ["b" * 64])
    with pytest.raises(ConfigError, match=r"1 of the 1 people .* consistency detector .* \(voxceleb2; first: id00020"):
        check_consistency_source(vox, config, tested, records)
    disjoint = consistency_folder("disjoint", "voxceleb2", ["id00030"], ["b" * 64])
    entry = check_consistency_source(disjoint, config, tested, records)
    assert entry["checked"] and entry["files_checked"] and entry["same_names_as_test"] == 0
    same_file = consistency_folder("same_file", "lrs3", ["lrs3:x"], ["a" * 64, "b" * 64])
    with pytest.raises(ConfigError, match=r"val/id00020/a.mp4 is a real clip the consistency detector .* trained on"):
        check_consistency_source(same_file, config, tested, records)
    unknown = consistency_folder("unknown", None, ["id00020"], ["b" * 64])
    entry = check_consistency_source(unknown, config, tested, records)
    assert not entry["checked"] and entry["same_names_as_test"] == 1
    (unknown / REAL_FILES).write_text("c" * 64 + "\n")  # changed after training
    with pytest.raises(ConfigError, match="changed since training"):
        check_consistency_source(unknown, config, tested, records)

    monkeypatch.setattr(cross_report, "scope", lambda results: "scope")

    def report(source: dict) -> str:
        identities = {"statement": "s", "test": {"dataset": "avdeepfake1m"}, "other_sources": [source]}
        return "\n".join(cross_report._identity_lines({"identities": identities}))

    checked = report(check_consistency_source(disjoint, config, tested, records))
    assert "1 people of voxceleb2" in checked and "none is a test person" in checked and "leak" not in checked
    assert "None of its real clips is a test file" in checked
    (unknown / REAL_FILES).write_text("b" * 64 + "\n")
    assert "possible identity leak" in report(check_consistency_source(unknown, config, tested, records))
