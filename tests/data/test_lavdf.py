"""LAV-DF reading, on a tree with the dataset's structure made here (tiny real MP4s).

The structure is the one the authors' code reads (docs/decisions.md, "Other datasets"): ``<root>/metadata.json``,
one JSON list with ``file`` relative to the root (``train/014356.mp4``), ``split`` (train / dev / test),
``n_fakes``, ``fake_periods`` in seconds, ``modify_video`` / ``modify_audio``, ``original`` (null for a real
clip), ``duration``, ``video_frames``, ``audio_channels``, ``audio_frames``; the clips in ``train/``, ``dev/``,
``test/``. The full file's word ``timestamps`` and ``transcript`` are left out here: their form is not in the
sources read, and the reader does not read them. Files with no entry are a known trait of the release (the
authors' issue 1: 138,010 videos on disk, 136,304 entries).
"""

import json

import pytest

from emoboost.data.lavdf import read_lavdf
from emoboost.data.manifest import count_by, read_manifest, segments_of, write_manifest
from emoboost.errors import ConfigError


def entry(file, split, video=False, audio=False, periods=(), original=None, n_fakes=None):
    """One metadata object with the fields of the authors' ``Metadata`` class (dataset/lavdf.py)."""
    return {
        "file": file,
        "n_fakes": len(periods) if n_fakes is None else n_fakes,
        "fake_periods": [list(p) for p in periods],
        "duration": 4.224,
        "original": original,
        "modify_video": video,
        "modify_audio": audio,
        "split": split,
        "video_frames": 106,
        "audio_channels": 1,
        "audio_frames": 67584,
    }


ENTRIES = [
    entry("train/000001.mp4", "train"),
    entry("train/000002.mp4", "train", video=True, periods=[(1.2, 1.6)], original="train/000001.mp4"),
    entry("train/000003.mp4", "train", audio=True, periods=[(0.4, 0.88)], original="train/000001.mp4"),
    entry("train/000004.mp4", "train", True, True, [(2.0, 2.32), (3.0, 3.4)], original="train/000001.mp4"),
    entry("dev/000005.mp4", "dev"),
    entry("dev/000006.mp4", "dev", video=True, periods=[(0.12, 0.6)], original="dev/000005.mp4"),
    entry("test/000007.mp4", "test"),
    entry("test/000008.mp4", "test", True, True, [(1.0, 1.8)], original="test/000007.mp4"),
]
PROBLEMS = [
    entry("train/000009.mp4", "train"),  # its file is missing
    dict(ENTRIES[0]),  # a duplicate entry
    entry("train/000011.mp4", "train"),  # its file is empty
    entry("train/000012.mp4", "train", video=True, periods=[(1.0, 2.0)], n_fakes=2),
    entry("train/000013.mp4", "train", video=True),  # a fake with no periods
    entry("train/000014.mp4", "validation"),
    {**entry("train/000015.mp4", "train"), "modify_audio": "yes"},
    {**entry("train/000016.mp4", "train", audio=True), "n_fakes": 1, "fake_periods": [[1.0, "2.0"]]},
    entry("dev/000017.mp4", "dev", audio=True, periods=[(0.2, 0.4)], original="dev/999999.mp4"),  # kept, said
    entry("test/000018.mp4", "test", video=True, periods=[(0.2, 0.4)]),  # a fake with no original: kept, said
]


def make_tree(root, clip, metadata="metadata.json"):
    """The clips and the metadata above, plus one file on disk with no entry."""
    on_disk = [e["file"] for e in ENTRIES + PROBLEMS if e["file"] != "train/000009.mp4"] + ["dev/000010.mp4"]
    for relative in on_disk:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"" if relative == "train/000011.mp4" else clip)
    (root / metadata).write_text(json.dumps(ENTRIES + PROBLEMS))
    return root


@pytest.fixture
def tree(tmp_path, tiny_clip):
    return make_tree(tmp_path / "LAV-DF", tiny_clip)


def test_rows_carry_type_category_segments_and_split(tree):
    rows, report = read_lavdf(tree)
    assert report.metadata == ["metadata.json"] and report.rows == len(ENTRIES) + len(PROBLEMS) == 18
    assert len(rows) == 8 + 2
    assert count_by(rows, "category") == {"real": 3, "LAVDF-V": 3, "LAVDF-A": 2, "LAVDF-AV": 2}
    by_path = {r.path: r for r in rows}
    both = by_path["train/000004.mp4"]
    assert (both.type, both.label, both.video_fake, both.audio_fake) == ("FVFA", 1, True, True)
    assert both.fake_segments == "2.0:2.32;3.0:3.4" and segments_of(both.fake_segments) == [(2.0, 2.32), (3.0, 3.4)]
    assert both.video_fake_segments == both.audio_fake_segments == ""  # LAV-DF gives no per-modality periods
    assert (both.scenario, both.identity, both.ids) == ("train/000001.mp4", "lavdf:train/000001.mp4", both.ids)
    assert both.ids == ("lavdf:train/000001.mp4",) and both.split == "train"
    video = by_path["dev/000006.mp4"]
    assert (video.type, video.video_fake, video.audio_fake, video.category, video.split) == (
        "FVRA", True, False, "LAVDF-V", "val",
    )  # fmt: skip
    audio = by_path["train/000003.mp4"]
    assert (audio.type, audio.video_fake, audio.audio_fake, audio.fake_segments) == ("RVFA", False, True, "0.4:0.88")
    real = by_path["test/000007.mp4"]
    assert (real.label, real.video_fake, real.audio_fake, real.fake_segments, real.split) == (
        0,
        False,
        False,
        "",
        "test",
    )
    assert real.identity == by_path["test/000008.mp4"].identity == "lavdf:test/000007.mp4"  # a real and its fake


def test_every_problem_is_listed_once_and_left_out(tree):
    rows, report = read_lavdf(tree)
    assert report.missing_files == ["train/000009.mp4"]
    assert report.duplicate_rows == ["train/000001.mp4"]
    assert report.unreadable == [("train/000011.mp4", "empty file")]
    assert report.files_without_row == ["dev/000010.mp4"]
    assert report.unlisted_originals == ["dev/000017.mp4", "test/000018.mp4"]
    assert dict(report.invalid) == {
        "train/000012.mp4": "n_fakes 2 with 1 fake_periods",
        "train/000013.mp4": "modify_video true, modify_audio false with 0 fake_periods",
        "train/000014.mp4": "unknown split 'validation': not one of train, dev, test",
        "train/000015.mp4": "field 'modify_audio' is \"yes\", not bool",
        "train/000016.mp4": 'fake_periods: [1.0, "2.0"] is not [start, end] in seconds',
    }
    assert report.problems == 1 + 1 + 1 + 1 + 5 and not report.no_identity
    assert not {r.path for r in rows} & ({p for p, _ in report.invalid} | {"train/000009.mp4", "train/000011.mp4"})
    lines = report.lines()
    assert "files with no entry: 1" in lines and "  no metadata entry: dev/000010.mp4" in lines
    assert "  invalid entry: train/000012.mp4 (n_fakes 2 with 1 fake_periods)" in lines


def test_the_manifest_round_trips(tree, tmp_path):
    rows, _ = read_lavdf(tree)
    written = write_manifest(tmp_path / "manifest.csv", rows)
    assert sorted(read_manifest(written), key=lambda r: r.path) == rows
    assert "video_fake_segments" not in written.read_text().splitlines()[0]  # written only when some row has them


def test_the_min_file_is_read_only_without_the_full_one(tmp_path, tiny_clip):
    only_min = make_tree(tmp_path / "min", tiny_clip, metadata="metadata.min.json")
    rows, report = read_lavdf(only_min)
    assert report.metadata == ["metadata.min.json"] and len(rows) == 10
    both = make_tree(tmp_path / "both", tiny_clip)
    (both / "metadata.min.json").write_text("[]")
    rows, report = read_lavdf(both)
    assert report.metadata == ["metadata.json"] and len(rows) == 10
    assert report.notes == ["metadata.min.json is here too: not read (metadata.json is its source)"]


def test_not_a_lavdf_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no metadata.json"):
        read_lavdf(tmp_path)
