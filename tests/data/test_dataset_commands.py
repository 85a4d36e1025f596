"""`emoboost manifest avdeepfake1m | lavdf | dfdc | deepfaketimit` through the command line, on the generated trees
of the readers' own tests (tests/data/test_avdeepfake1m.py, test_lavdf.py, test_dfdc.py, test_deepfaketimit.py):
what is written, what is printed, the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_avdeepfake1m import make_tree as make_avdeepfake1m
from test_avdeepfake1m import utterance
from test_deepfaketimit import make_tree as make_deepfaketimit
from test_dfdc import make_tree as make_dfdc
from test_lavdf import make_tree as make_lavdf

from emoboost.cli import run
from emoboost.data.avdeepfake1m import read_avdeepfake1m
from emoboost.data.deepfaketimit import read_deepfaketimit
from emoboost.data.dfdc import UNSTATED_MODALITY, read_dfdc
from emoboost.data.lavdf import read_lavdf
from emoboost.data.manifest import read_manifest

AVDF1M_PROTOCOL = Path(__file__).parents[2] / "configs" / "protocols" / "avdeepfake1m_loco.yaml"


def manifest(capfd, *args) -> tuple[int, list[str], list[str]]:
    """Run ``emoboost manifest ARGS``: the exit code, stdout lines and stderr lines (never a traceback)."""
    code = run(["manifest", *map(str, args)])
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out.splitlines(), captured.err.splitlines()


@pytest.fixture
def avdf1m(tmp_path, tiny_clip):
    return make_avdeepfake1m(tmp_path / "AV-Deepfake1M", tiny_clip)


@pytest.fixture
def lavdf(tmp_path, tiny_clip):
    return make_lavdf(tmp_path / "LAV-DF", tiny_clip)


def test_avdeepfake1m_writes_the_readers_rows_and_report(avdf1m, tmp_path, capfd):
    out = tmp_path / "m"
    code, stdout, err = manifest(capfd, "avdeepfake1m", avdf1m, "--out", out)
    assert code == 0 and not err
    rows, report = read_avdeepfake1m(avdf1m)
    assert sorted(read_manifest(out / "manifest.csv"), key=lambda r: r.path) == rows  # segments and splits too
    assert (out / "report.txt").read_text().splitlines() == report.lines()  # every problem, one line each
    assert sorted(p.name for p in out.iterdir()) == ["manifest.csv", "report.txt"]  # no temporary file left
    assert stdout[0] == (
        f"13 videos (AVDF1M-A 4, AVDF1M-AV 3, AVDF1M-V 3, real 3); split train 9, val 4 -> {out / 'manifest.csv'}"
    )
    assert stdout[1] == f"12 problems (left out of the manifest; see {out / 'report.txt'})"
    assert "  invalid entries: 7" in stdout and "  unreadable files: 1" in stdout
    assert "  note: test: 2 files in test_files.txt, whose labels are not published: not read" in stdout
    assert not [line for line in stdout if "invalid entry:" in line]  # the problems themselves: in report.txt


def test_lavdf_writes_the_readers_rows_and_its_split(lavdf, tmp_path, capfd):
    out = tmp_path / "m"
    code, stdout, err = manifest(capfd, "lavdf", lavdf, "-o", out)
    assert code == 0 and not err
    rows, report = read_lavdf(lavdf)
    written = read_manifest(out / "manifest.csv")
    assert sorted(written, key=lambda r: r.path) == rows
    assert {r.split for r in written} == {"train", "val", "test"}  # dev written as val
    assert (out / "report.txt").read_text().splitlines() == report.lines()
    assert "  no metadata entry: dev/000010.mp4" in (out / "report.txt").read_text().splitlines()
    assert stdout[0].startswith("10 videos (LAVDF-A 2, LAVDF-AV 2, LAVDF-V 3, real 3); split test 3, train 4, val 3")
    assert stdout[1].startswith("9 problems")


def test_no_verify_keeps_files_it_did_not_open(avdf1m, tmp_path, capfd):
    code, stdout, _ = manifest(capfd, "avdeepfake1m", avdf1m, "--out", tmp_path / "m", "--no-verify")
    assert code == 0 and stdout[0].startswith("14 videos") and "  unreadable files: 0" in stdout
    assert "train/id00011/ghiJKL67890/00004/real.mp4" in {r.path for r in read_manifest(tmp_path / "m/manifest.csv")}


def test_nothing_usable_is_one_error_line_and_exit_1_with_the_report_written(tmp_path, capfd):
    root = tmp_path / "LAV-DF"
    root.mkdir()
    (root / "metadata.json").write_text('[{"file": "train/000001.mp4"}]')  # an entry with no split, and no file
    out = tmp_path / "m"
    (out).mkdir()
    (out / "manifest.csv").write_text("path,label\nold.mp4,0\n")  # an earlier run's: replaced, not left beside
    code, stdout, err = manifest(capfd, "lavdf", root, "--out", out)
    assert code == 1 and len(err) == 1
    assert err[0] == f"error {root}: no usable LAV-DF clips (1 problems: see {out / 'report.txt'})"
    assert read_manifest(out / "manifest.csv") == []
    assert "  invalid entry: train/000001.mp4 (no field 'split')" in (out / "report.txt").read_text().splitlines()
    assert stdout[0] == f"0 videos (none) -> {out / 'manifest.csv'}"


def test_dfdc_writes_the_readers_rows_and_says_the_modality_is_not_stated(tmp_path, tiny_clip, capfd):
    tree = make_dfdc(tmp_path / "dfdc_train", tiny_clip)
    out = tmp_path / "m"
    code, stdout, err = manifest(capfd, "dfdc", tree, "--out", out)
    assert code == 0 and not err
    rows, report = read_dfdc(tree)
    assert sorted(read_manifest(out / "manifest.csv"), key=lambda r: r.path) == rows
    assert (out / "report.txt").read_text().splitlines() == report.lines()
    assert stdout[0] == f"10 videos (DFDC-FAKE 6, real 4) -> {out / 'manifest.csv'}"  # no split of its own
    assert stdout[1].startswith("11 problems") and f"  note: {UNSTATED_MODALITY}" in stdout
    assert "  files with no entry: 3" in stdout


def test_deepfaketimit_writes_the_listing_and_its_report(tmp_path, tiny_avi, capfd):
    tree = make_deepfaketimit(tmp_path / "DeepfakeTIMIT", tiny_avi)
    out = tmp_path / "m"
    code, stdout, err = manifest(capfd, "deepfaketimit", tree, "--out", out)
    assert code == 0 and not err
    rows, report = read_deepfaketimit(tree)
    assert read_manifest(out / "manifest.csv") == rows
    assert (out / "report.txt").read_text().splitlines() == report.lines()
    assert stdout[0] == f"6 videos (DFTIMIT-HQ 2, DFTIMIT-LQ 4) -> {out / 'manifest.csv'}"
    assert stdout[1].startswith("6 problems") and "  sound files (.wav) in the subject folders, not read: 6" in stdout


def test_a_deepfaketimit_copy_with_no_usable_video_exits_1(tmp_path, capfd):
    (tmp_path / "DeepfakeTIMIT" / "lower_quality" / "fadg0").mkdir(parents=True)
    (tmp_path / "DeepfakeTIMIT" / "lower_quality" / "fadg0" / "sa1-video-fram1.avi").write_bytes(b"")
    code, stdout, err = manifest(capfd, "deepfaketimit", tmp_path / "DeepfakeTIMIT", "--out", tmp_path / "m")
    assert code == 1 and len(err) == 1 and "no usable DeepfakeTIMIT clips (1 problems" in err[0]
    assert "  unreadable: lower_quality/fadg0/sa1-video-fram1.avi (empty file)" in (
        (tmp_path / "m" / "report.txt").read_text().splitlines()
    )


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("avdeepfake1m", "no train_metadata.json or val_metadata.json here"),
        ("lavdf", "no metadata.json"),
        ("dfdc", "no dfdc_train_part_<N> folders here"),
        ("deepfaketimit", "no lower_quality/ or higher_quality/ folder here"),
    ],
)
def test_a_folder_that_is_not_the_dataset_is_one_line_and_exit_2(command, says, tmp_path, capfd):
    code, stdout, err = manifest(capfd, command, tmp_path, "--out", tmp_path / "m")
    assert code == 2 and len(err) == 1 and says in err[0] and not (tmp_path / "m").exists()


def test_a_full_disk_is_one_line_naming_the_file_meant(lavdf, tmp_path, capfd, monkeypatch):
    import emoboost.files

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(emoboost.files.tempfile, "mkstemp", no_space)
    code, _, err = manifest(capfd, "lavdf", lavdf, "--out", tmp_path / "m")
    assert code == 1 and err == [f"error {tmp_path / 'm' / 'manifest.csv'}: No space left on device"]


def avdeepfake1m_people(root, clip: bytes, people: int):
    """An AV-Deepfake1M-shaped copy with ``people`` people, one utterance (real + three kinds of fake) each, a
    quarter of them in the val split."""
    entries = {"train": [], "val": []}
    for number in range(people):
        split = "val" if number % 4 == 3 else "train"
        entries[split] += utterance(f"id{number + 100:05d}", "abcDEF12345", "00001", split)
    for split, listed in entries.items():
        for e in listed:
            (root / split / e["file"]).parent.mkdir(parents=True, exist_ok=True)
            (root / split / e["file"]).write_bytes(clip)
        (root / f"{split}_metadata.json").write_text(json.dumps(listed))
    return root


def test_avdeepfake1m_with_a_protocol_writes_identity_disjoint_leave_one_kind_out_folds(tmp_path, tiny_clip, capfd):
    root = avdeepfake1m_people(tmp_path / "AV-Deepfake1M", tiny_clip, 40)
    out = tmp_path / "m"
    code, stdout, err = manifest(capfd, "avdeepfake1m", root, "--out", out, "--protocol", AVDF1M_PROTOCOL)
    assert code == 0, err
    manifest_rows = read_manifest(out / "manifest.csv")
    assert {r.split for r in manifest_rows} == {"train", "val"}  # the dataset's own split stays in the manifest
    assert sorted(p.name for p in (out / "folds").iterdir()) == [
        "AVDF1M-A.csv", "AVDF1M-AV.csv", "AVDF1M-V.csv", "protocol.json"
    ]  # fmt: skip
    for held_out in ("AVDF1M-V", "AVDF1M-A", "AVDF1M-AV"):
        rows = read_manifest(out / "folds" / f"{held_out}.csv")
        people = {split: {r.identity for r in rows if r.split == split} for split in ("train", "val", "calib", "test")}
        assert all(people.values()), people
        assert all(not people[a] & people[b] for a in people for b in people if a < b)  # no person in two splits
        test_fakes = {r.category for r in rows if r.split == "test" and r.label == 1}
        trained = {r.category for r in rows if r.split != "test" and r.label == 1}
        assert test_fakes == {held_out} and held_out not in trained and len(trained) == 2
    report = (out / "report.txt").read_text()
    assert "leave-one-category-out folds" in report and "AVDF1M-AV" in report
    assert any("leave-one-category-out folds" in line for line in stdout)


def test_a_protocol_of_another_dataset_is_refused_in_one_line(tmp_path, tiny_clip, capfd):
    root = avdeepfake1m_people(tmp_path / "AV-Deepfake1M", tiny_clip, 8)
    fakeavceleb = Path(__file__).parents[2] / "configs" / "protocols" / "fakeavceleb_loco.yaml"
    code, _, err = manifest(capfd, "avdeepfake1m", root, "--out", tmp_path / "m", "--protocol", fakeavceleb)
    assert code == 2 and len(err) == 1, err
    assert "categories RVFA, FVRA-WL, FVFA-FS, FVFA-GAN, FVFA-WL are not in this AV-Deepfake1M copy" in err[0]
    assert not (tmp_path / "m" / "folds").exists()
