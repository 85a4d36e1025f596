"""FakeAVCeleb reading and the leave-one-category-out protocol, on a FakeAVCeleb-shaped tree made here."""

import csv
import dataclasses
import os
import subprocess
import sys

import pytest
from fakeavceleb_shape import TYPE_DIR, clip_folder, meta_row

from emoboost.data.fakeavceleb import read_fakeavceleb
from emoboost.data.manifest import CATEGORIES, read_manifest
from emoboost.data.protocols import ProtocolConfig, check_fold, make_folds
from emoboost.errors import ConfigError

METHODS = {"B": ["rtvc"], "C": ["wav2lip", "faceswap", "fsgan"], "D": ["wav2lip", "faceswap-wav2lip", "fsgan-wav2lip"]}


def _partner(n: int, identities: int) -> int:
    """The swap partner of identity ``n``: another identity of its ethnicity x gender group (the parity of ``n``
    here), in pairs: FakeAVCeleb swaps faces and voices only inside a group."""
    partner = n + 2 if (n // 2) % 2 == 0 else n - 2
    return partner if 0 <= partner < identities else n - 2


def make_tree(root, clip_bytes, identities=30):
    """A FakeAVCeleb-shaped tree: per identity a real clip, an RVFA clip, FVRA and FVFA clips
    with a second identity in the file name. Plus a row whose file is missing, a file with no
    row, a duplicate row and an unreadable (empty) file."""
    rows = []
    for n in range(identities):
        identity = f"id{n:05d}"
        race, gender = ("African", "men") if n % 2 else ("Asian (East)", "women")
        other = f"id{_partner(n, identities):05d}"
        entries = [("A", "real", f"{n:05d}.mp4", "-")]
        entries += [("B", "rtvc", f"{n:05d}_{other}_fake.mp4", other)]
        for method in METHODS["C"]:
            entries.append(("C", method, f"{n:05d}_{other}_{method}.mp4", other))
        for method in METHODS["D"]:
            entries.append(("D", method, f"{n:05d}_3_{other}_{method}.mp4", other))
        for category, method, name, target in entries:
            folder = clip_folder(category, race, gender, identity)
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / name).write_bytes(clip_bytes)
            rows.append(meta_row(identity, target, method, category, race, gender, name))
    missing = [
        "id00000",
        "-",
        "-",
        "real",
        "A",
        TYPE_DIR["A"],
        "Asian (East)",
        "women",
        "99999.mp4",
        f"FakeAVCeleb/{TYPE_DIR['A']}/Asian (East)/women/id00000",
    ]
    rows.append(missing)
    rows.append(rows[0])  # duplicate
    extra = root / TYPE_DIR["A"] / "African" / "men" / "id00001" / "extra_clip.mp4"
    extra.write_bytes(clip_bytes)
    broken = root / TYPE_DIR["A"] / "African" / "men" / "id00003" / "00003.mp4"
    broken.write_bytes(b"")
    with open(root / "meta_data.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "target1", "target2", "method", "category", "type", "race", "gender", "path", ""])
        writer.writerows(rows)
    return root


@pytest.fixture
def tree(tmp_path, talking_clip):
    return make_tree(tmp_path / "FakeAVCeleb_v1.2", talking_clip.read_bytes())


def test_manifest_counts_categories_and_problems(tree):
    rows, report = read_fakeavceleb(tree)
    assert report.rows == 30 * 8 + 2
    assert report.missing_files == [f"{TYPE_DIR['A']}/Asian (East)/women/id00000/99999.mp4"]
    assert report.files_without_row == [f"{TYPE_DIR['A']}/African/men/id00001/extra_clip.mp4"]
    assert report.duplicate_rows == [f"{TYPE_DIR['A']}/Asian (East)/women/id00000/00000.mp4"]
    assert report.unreadable == [(f"{TYPE_DIR['A']}/African/men/id00003/00003.mp4", "empty file")]
    assert len(rows) == 30 * 8 - 1
    counts = {}
    for row in rows:
        counts[row.category] = counts.get(row.category, 0) + 1
    assert counts == {
        "real": 29,
        "RVFA": 30,
        "FVRA-WL": 30,
        "faceswap": 30,
        "fsgan": 30,
        "FVFA-FS": 30,
        "FVFA-GAN": 30,
        "FVFA-WL": 30,
    }
    fake = next(r for r in rows if r.path.endswith("00005_3_id00007_wav2lip.mp4"))  # id00005 and id00007 are partners
    assert fake.type == "FVFA" and fake.video_fake and fake.audio_fake and fake.label == 1
    assert fake.identity == "id00005" and fake.ids == ("id00005", "id00007")
    real = next(r for r in rows if r.category == "real")
    assert real.label == 0 and not real.video_fake and not real.audio_fake and len(real.ids) == 1


def test_folds_are_identity_disjoint_and_hold_out_one_category(tree):
    rows, _ = read_fakeavceleb(tree)
    folds = make_folds(rows, ProtocolConfig(seed=3))
    assert [f.held_out for f in folds] == list(CATEGORIES)
    for fold in folds:
        check_fold(fold)
        test = [r for r in fold.rows if r.split == "test"]
        train = [r for r in fold.rows if r.split == "train"]
        assert {r.category for r in test} <= {"real", fold.held_out}
        assert fold.held_out not in {r.category for r in train}
        assert any(r.category == fold.held_out for r in test)
        assert {r.category for r in train} == {"real", *CATEGORIES} - {fold.held_out}
        test_ids = {i for r in test for i in r.ids}
        assert not test_ids & {i for r in fold.rows if r.split != "test" for i in r.ids}
        assert not {r.category for r in fold.rows} & {"faceswap", "fsgan"}
    # the same seed gives the same folds; seeds give different partitions
    assert make_folds(rows, ProtocolConfig(seed=3))[0].rows == folds[0].rows
    assert len({make_folds(rows, ProtocolConfig(seed=seed))[0].rows for seed in range(6)}) > 1


def test_missing_category_is_an_error(tree):
    rows, _ = read_fakeavceleb(tree)
    with pytest.raises(ConfigError, match="no clips of category FVFA-GAN"):
        make_folds([r for r in rows if r.category != "FVFA-GAN"])


def test_cli_writes_manifest_folds_and_report(tree, tmp_path):
    out = tmp_path / "manifests"
    result = subprocess.run(
        [sys.executable, "-m", "emoboost.cli", "manifest", "fakeavceleb", str(tree), "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert len(read_manifest(out / "manifest.csv")) == 30 * 8 - 1
    for category in CATEGORIES:
        fold_rows = read_manifest(out / "folds" / f"{category}.csv")
        assert {r.split for r in fold_rows} == {"train", "val", "calib", "test"}
    from emoboost.data.protocols import FAKEAVCELEB_PROTOCOL, load_protocol, stored_protocol

    assert stored_protocol(out / "folds") == load_protocol(FAKEAVCELEB_PROTOCOL)  # what drew them, beside them
    report = (out / "report.txt").read_text()
    assert "files with no row: 1" in report
    assert "fold FVFA-GAN: identities/clips per group and split" in report and "African x men" in report
    assert "FVFA-GAN" in result.stdout and "4 problems" in result.stdout


def test_folds_a_benchmark_cannot_use_are_one_line_each_and_exit_1(tmp_path, talking_clip, capfd):
    from emoboost.cli import run

    tree = make_tree(tmp_path / "small", talking_clip.read_bytes(), identities=8)  # too few people for four splits
    code = run(["manifest", "fakeavceleb", str(tree), "--out", str(tmp_path / "m")])
    err = capfd.readouterr().err.splitlines()
    warnings = [line for line in err if line.startswith("warning fold ")]
    assert code == 1 and len(warnings) == 5 and "Traceback" not in "".join(err)
    assert "warning fold FVFA-FS: val has no fake clips; calib has no fake clips; test has no fake FVFA-FS clips" in err
    assert err[-1].startswith("error 5 of 5 folds in ") and "cannot be benchmarked" in err[-1]
    assert len(list((tmp_path / "m" / "folds").glob("*.csv"))) == 5  # written, to be read


def test_not_a_fakeavceleb_folder(tmp_path):
    with pytest.raises(ConfigError, match="no meta_data.csv"):
        read_fakeavceleb(tmp_path)


def _row(path, *ids, category="FVFA-FS"):
    from emoboost.data.manifest import ManifestRow

    return ManifestRow(
        path, int(category != "real"), "RVRA" if category == "real" else "FVFA", category, "", ids[0], tuple(ids)
    )


def test_identities_linked_by_clips_stay_together():
    from emoboost.data.protocols import identity_components, partition_identities

    rows = []
    for pair in range(10):  # people swapped in pairs: ten small components
        a, b = f"id{2 * pair:05d}", f"id{2 * pair + 1:05d}"
        rows += [_row(f"{a}.mp4", a, category="real"), _row(f"{b}.mp4", b, category="real"), _row(f"{a}_{b}.mp4", a, b)]
    assert len(identity_components(rows)) == 10
    assignment = partition_identities(rows, ProtocolConfig(seed=1))
    for pair in range(10):
        assert assignment[f"id{2 * pair:05d}"] == assignment[f"id{2 * pair + 1:05d}"]
    sizes = {s: sum(v == s for v in assignment.values()) for s in ("train", "val", "calib", "test")}
    assert sizes == {"train": 10, "val": 2, "calib": 2, "test": 6}  # 50 / 10 / 10 / 30 % of 20 identities


def test_a_giant_component_is_cut_in_proportion_and_stays_disjoint():
    from emoboost.data.protocols import partition_identities, split_of

    ids = [f"id{i:05d}" for i in range(40)]
    rows = [_row(f"{a}.mp4", a, category="real") for a in ids]
    rows += [_row(f"{a}_{b}.mp4", a, b) for a, b in zip(ids, ids[1:], strict=False)]  # a chain links everyone
    assignment = partition_identities(rows, ProtocolConfig(seed=0))
    assert {s: sum(v == s for v in assignment.values()) for s in ("train", "val", "calib", "test")} == {
        "train": 20,
        "val": 4,
        "calib": 4,
        "test": 12,
    }
    for row in rows:
        split = split_of(row, assignment)
        assert split is None or all(assignment[i] == split for i in row.ids)
    cut = sum(split_of(row, assignment) is None for row in rows)
    assert cut <= 6  # the chain is cut in runs (at most one link per run boundary), not identity by identity


def test_a_full_disk_is_one_line_naming_the_file_meant(tree, tmp_path, capfd, monkeypatch):
    import emoboost.files
    from emoboost.cli import run

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(emoboost.files.tempfile, "mkstemp", no_space)
    code = run(["manifest", "fakeavceleb", str(tree), "--out", str(tmp_path / "m")])
    err = capfd.readouterr().err.splitlines()
    assert code == 1 and len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith(f"error {tmp_path / 'm'}/") and err[0].endswith(".csv: No space left on device")


def test_every_person_in_a_row_links_identities_whatever_the_case(tree):
    """A FVFA row naming a third person only in ``target2``, and ids written in upper case, still link the people
    they name: the partition keeps them in one split, so a clip cannot leak its third person across splits."""
    meta = tree / "meta_data.csv"
    with open(meta, newline="") as handle:
        records = list(csv.reader(handle))
    header = records[0]
    column = {name: i for i, name in enumerate(header) if name}
    chosen = next(r for r in records[1:] if r[column["path"]] == "00004_3_id00006_wav2lip.mp4")
    chosen[column["target2"]] = "ID00011"  # a person of another pair, named only here
    chosen[column["source"]] = chosen[column["source"]].upper()
    with open(meta, "w", newline="") as handle:
        csv.writer(handle).writerows(records)
    rows, _ = read_fakeavceleb(tree)
    row = next(r for r in rows if r.path.endswith("00004_3_id00006_wav2lip.mp4"))
    assert row.ids == ("id00004", "id00006", "id00011") and row.identity == "id00004"
    for fold in make_folds(rows, ProtocolConfig(seed=0)):
        assert len({fold.assignment[p] for p in ("id00004", "id00006", "id00011")}) == 1  # linked: one split
        for placed in fold.rows:
            assert {fold.assignment[p] for p in placed.ids if p in fold.assignment} == {placed.split}


LOGO_TEST_FAKES = {
    "rtvc": {"RVFA", "FVFA-FS", "FVFA-GAN", "FVFA-WL"},
    "wav2lip": {"FVRA-WL", "FVFA-FS", "FVFA-GAN", "FVFA-WL"},
    "faceswap": {"faceswap", "FVFA-FS"},
    "fsgan": {"fsgan", "FVFA-GAN"},
}


def test_leave_one_generator_out_folds_hold_out_every_category_of_the_generator(tree):
    """RTVC is in four categories and Wav2Lip in four: holding out a generator removes all of them from training,
    and the FakeVideo-RealAudio faceswap / fsgan clips (unused by the category protocol) are trained and tested on."""
    from emoboost.data.protocols import load_protocol
    from emoboost.training.folds import check_fold_rows

    rows, _ = read_fakeavceleb(tree)
    folds = make_folds(rows, load_protocol("configs/protocols/fakeavceleb_logo.yaml"))
    assert [f.held_out for f in folds] == list(LOGO_TEST_FAKES)
    all_categories = {"RVFA", "FVRA-WL", "faceswap", "fsgan", "FVFA-FS", "FVFA-GAN", "FVFA-WL"}
    for fold in folds:
        check_fold(fold)
        check_fold_rows(fold.held_out, fold.rows, lambda r: None, fold.held_out_categories)
        test = {r.category for r in fold.rows if r.split == "test" and r.label == 1}
        trained = {r.category for r in fold.rows if r.split != "test" and r.label == 1}
        assert test == LOGO_TEST_FAKES[fold.held_out] and trained == all_categories - test, fold.held_out
    trained_row = next(r for r in folds[0].rows if r.split == "train")
    gan = next(r for r in folds[0].rows if r.category == "FVFA-GAN")
    leak = dataclasses.replace(gan, path="leak.mp4", split="train", identity=trained_row.identity, ids=trained_row.ids)
    with pytest.raises(ConfigError, match="a held-out category appears in train"):
        check_fold(dataclasses.replace(folds[0], rows=(*folds[0].rows, leak)))
    with pytest.raises(ConfigError, match="held-out category FVFA-GAN appears in train"):
        check_fold_rows("rtvc", (*folds[0].rows, leak), lambda r: None, folds[0].held_out_categories)


def test_a_generator_fold_naming_an_unknown_category_is_refused():
    from emoboost.data.protocols import HeldOut

    with pytest.raises(ConfigError, match="FVRA-XX not in protocol.categories"):
        ProtocolConfig(categories=("RVFA", "FVRA-WL"), held_out=(HeldOut("x", ("FVRA-XX",)),)).validate()
    with pytest.raises(ConfigError, match="holds out every category"):
        ProtocolConfig(categories=("RVFA", "FVRA-WL"), held_out=(HeldOut("x", ("RVFA", "FVRA-WL")),)).validate()


def test_the_manifest_command_writes_generator_folds(tree, tmp_path):
    out = tmp_path / "logo"
    result = subprocess.run(
        [sys.executable, "-m", "emoboost.cli", "manifest", "fakeavceleb", str(tree), "--out", str(out),
         "--protocol", "configs/protocols/fakeavceleb_logo.yaml"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name, categories in LOGO_TEST_FAKES.items():
        test = {r.category for r in read_manifest(out / "folds" / f"{name}.csv") if r.split == "test" and r.label}
        assert test == categories
    from emoboost.data.protocols import stored_protocol

    assert stored_protocol(out / "folds").fold_names() == tuple(LOGO_TEST_FAKES)
