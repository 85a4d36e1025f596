"""DFDC reading, on a tree with the full training set's structure made here (tiny real MP4s).

The structure is the one the challenge's data page and the code that read it describe (docs/decisions.md, "Other
datasets"): ``<root>/dfdc_train_part_<N>/`` folders, each with its videos and a ``metadata.json`` object mapping
a file name to ``{"label": "REAL" | "FAKE", "split": "train", "original": <file name> | null}``. File names are
ten random letters as in the challenge's sample names; the reader reads nothing from them.
"""

import json

import pytest

from emoboost.data.dfdc import UNSTATED_MODALITY, part_folders, read_dfdc
from emoboost.data.manifest import count_by, read_manifest, write_manifest
from emoboost.errors import ConfigError

P0, P1, P2, P3, P10 = (f"dfdc_train_part_{n}" for n in (0, 1, 2, 3, 10))


def real(original=None):
    return {"label": "REAL", "split": "train", "original": original}


def fake(original):
    return {"label": "FAKE", "split": "train", "original": original}


PARTS = {
    P0: {
        "aaaaaaaaaa.mp4": real(),
        "bbbbbbbbbb.mp4": real("cccccccccc.mp4"),  # a real clip's original is not read
        "cccccccccc.mp4": fake("aaaaaaaaaa.mp4"),
        "dddddddddd.mp4": fake("bbbbbbbbbb.mp4"),
        "eeeeeeeeee.mp4": real(),  # its file is missing
        "ffffffffff.mp4": real(),  # its file is empty
        "gggggggggg.mp4": {"label": "MAYBE", "split": "train"},
        "hhhhhhhhhh.mp4": "oops",
        "../escaped.mp4": real(),
        "iiiiiiiiii.mp4": {"label": "FAKE", "split": "train"},  # a fake with no original: kept, said
        "jjjjjjjjjj.mp4": fake("zzzzzzzzzz.mp4"),  # its original is no entry: kept, said
        "kkkkkkkkkk.mp4": fake(7),
    },
    P1: {
        "mmmmmmmmmm.mp4": real(),
        "nnnnnnnnnn.mp4": fake("aaaaaaaaaa.mp4"),  # its original is in another part
        "aaaaaaaaaa.mp4": real(),  # a file name already listed in part 0
    },
    P10: {"qqqqqqqqqq.mp4": real(), "rrrrrrrrrr.mp4": fake("mmmmmmmmmm.mp4")},
}


def make_tree(root, clip):
    """Four part folders with metadata (part 3's unreadable), one without, every problem the reader reports, and
    what a working copy also holds beside the parts (a folder of face boxes, a CSV)."""
    for part, entries in PARTS.items():
        (root / part).mkdir(parents=True)
        (root / part / "metadata.json").write_text(json.dumps(entries))
        for name in entries:
            if name != "eeeeeeeeee.mp4" and ".." not in name:
                (root / part / name).write_bytes(b"" if name == "ffffffffff.mp4" else clip)
    (root / P0 / "llllllllll.mp4").write_bytes(clip)  # no entry
    (root / P2).mkdir()
    (root / P2 / "oooooooooo.mp4").write_bytes(clip)  # a part without metadata.json
    (root / P3).mkdir()
    (root / P3 / "metadata.json").write_text("[1, 2]")
    (root / P3 / "pppppppppp.mp4").write_bytes(clip)
    (root / "boxes").mkdir()
    (root / "boxes" / "aaaaaaaaaa.json").write_text("{}")
    (root / "folds.csv").write_text("video,fold\n")
    return root


@pytest.fixture
def tree(tmp_path, tiny_clip):
    return make_tree(tmp_path / "dfdc_train", tiny_clip)


def test_rows_carry_the_label_the_part_and_the_recording(tree):
    rows, report = read_dfdc(tree)
    assert [p.name for p in part_folders(tree)] == [P0, P1, P2, P3, P10]  # in part order, not name order
    assert report.metadata == [f"{p}/metadata.json" for p in (P0, P1, P10)] and report.rows == 12 + 3 + 2
    assert len(rows) == 10 and count_by(rows, "category") == {"DFDC-FAKE": 6, "real": 4}
    by_path = {r.path: r for r in rows}
    swap = by_path[f"{P0}/cccccccccc.mp4"]
    assert (swap.label, swap.type, swap.video_fake, swap.audio_fake) == (1, "FVFA", True, True)  # the clip label
    assert (swap.identity, swap.ids, swap.scenario) == ("dfdc:aaaaaaaaaa.mp4", ("dfdc:aaaaaaaaaa.mp4",), swap.scenario)
    assert swap.scenario == "aaaaaaaaaa.mp4" and (swap.method, swap.split, swap.fake_segments) == ("", "", "")
    source = by_path[f"{P0}/aaaaaaaaaa.mp4"]
    assert (source.label, source.type, source.category, source.video_fake, source.audio_fake) == (
        0, "RVRA", "real", False, False,
    )  # fmt: skip
    assert source.identity == swap.identity == by_path[f"{P1}/nnnnnnnnnn.mp4"].identity  # across parts
    assert by_path[f"{P0}/bbbbbbbbbb.mp4"].identity == "dfdc:bbbbbbbbbb.mp4"  # a real clip is its own recording
    assert by_path[f"{P10}/rrrrrrrrrr.mp4"].identity == by_path[f"{P1}/mmmmmmmmmm.mp4"].identity
    assert by_path[f"{P0}/iiiiiiiiii.mp4"].identity == "dfdc:iiiiiiiiii.mp4"


def test_every_problem_is_listed_once_and_left_out(tree):
    rows, report = read_dfdc(tree)
    assert report.missing_files == [f"{P0}/eeeeeeeeee.mp4"]
    assert report.duplicate_rows == [f"{P1}/aaaaaaaaaa.mp4"]
    assert report.files_without_row == [f"{P0}/llllllllll.mp4", f"{P2}/oooooooooo.mp4", f"{P3}/pppppppppp.mp4"]
    assert report.unreadable == [
        (f"{P3}/metadata.json", "not a JSON object of file names (a list); its videos are files with no entry"),
        (f"{P0}/ffffffffff.mp4", "empty file"),
    ]
    assert dict(report.invalid) == {
        f"{P0}/gggggggggg.mp4": "unknown label 'MAYBE': not REAL or FAKE",
        f"{P0}/hhhhhhhhhh.mp4": "not a JSON object",
        f"{P0}/../escaped.mp4": f"file name '../escaped.mp4' is not a file of {P0}",
        f"{P0}/kkkkkkkkkk.mp4": "field 'original' is 7, not str or null",
    }
    assert report.unlisted_originals == [f"{P0}/iiiiiiiiii.mp4", f"{P0}/jjjjjjjjjj.mp4"]  # kept, said
    assert {f"{P0}/iiiiiiiiii.mp4", f"{P0}/jjjjjjjjjj.mp4"} <= {r.path for r in rows}
    assert report.problems == 1 + 3 + 1 + 4 + 2 and not report.no_identity
    assert report.notes == [f"{P2}: no metadata.json: its videos are files with no entry", UNSTATED_MODALITY]
    lines = report.lines()
    assert "files with no entry: 3" in lines and f"  no metadata entry: {P2}/oooooooooo.mp4" in lines
    assert f"  note: {UNSTATED_MODALITY}" in lines
    assert not {r.path for r in rows} & ({p for p, _ in report.invalid} | set(report.duplicate_rows))


def test_the_manifest_round_trips_without_a_split_column(tree, tmp_path):
    rows, _ = read_dfdc(tree)
    written = write_manifest(tmp_path / "manifest.csv", rows)
    header = written.read_text().splitlines()[0].split(",")
    assert header[-1] == "scenario" and "split" not in header  # DFDC's split is always "train": not written
    assert sorted(read_manifest(written), key=lambda r: r.path) == rows


def test_without_verify_no_file_is_opened(tree):
    rows, report = read_dfdc(tree, verify=False)
    assert len(rows) == 11 and report.unreadable == [report.unreadable[0]]  # only part 3's metadata


def test_a_set_of_reals_only_has_no_modality_note(tmp_path, tiny_clip):
    (tmp_path / P0).mkdir()
    (tmp_path / P0 / "metadata.json").write_text(json.dumps({"aaaaaaaaaa.mp4": real()}))
    (tmp_path / P0 / "aaaaaaaaaa.mp4").write_bytes(tiny_clip)
    rows, report = read_dfdc(tmp_path)
    assert len(rows) == 1 and report.notes == [] and report.problems == 0


def test_not_a_dfdc_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no dfdc_train_part_<N> folders here$"):
        read_dfdc(tmp_path)
    (tmp_path / "metadata.json").write_text("{}")  # a part folder itself
    with pytest.raises(ConfigError, match="point to the folder that holds the part folders"):
        read_dfdc(tmp_path)
    with pytest.raises(ConfigError, match="no dfdc_train_part_<N> folders here"):
        read_dfdc(tmp_path / "absent")
