"""DeepfakeTIMIT listing, on a tree with the dataset's structure made here (tiny real AVIs).

The structure is the one the dataset's own per-folder checksum listings show (docs/decisions.md, "Other
datasets"): ``<quality>/<subject>/<sentence>-video-<other>.avi`` with ``<sentence>.wav`` beside each video and a
``.dircksum`` listing in each subject folder; a pair's two subjects each hold the other's name (``fadg0`` holds
``sa1-video-fram1.avi``, ``fram1`` holds ``sa1-video-fadg0.avi``).
"""

import pytest

from emoboost.data.deepfaketimit import LAYOUT, read_deepfaketimit
from emoboost.data.manifest import count_by, read_manifest, write_manifest
from emoboost.errors import ConfigError

PAIR = {"fadg0": "fram1", "fram1": "fadg0"}
SENTENCES = {"lower_quality": ("sa1", "sa2"), "higher_quality": ("sa1",)}
ODD = {
    "lower_quality/fadg0/si1199-video-fadg0.avi": (
        "names its own folder's subject (fadg0) as the other person of the pair"
    ),
    "lower_quality/fadg0/notes.avi": LAYOUT,
    "lower_quality/stray.avi": LAYOUT,
    "higher_quality/fadg0/extra/sa1-video-fram1.avi": LAYOUT,
    "higher_quality/fram1/sa3-video-fadg0.mp4": LAYOUT,  # the videos are AVI files
}


def make_tree(root, clip):
    """Both qualities of one swap pair, each video with its sentence's sound and every folder with its checksum
    listing, plus files laid out otherwise and one empty (unreadable) video."""
    for quality, sentences in SENTENCES.items():
        for subject, other in PAIR.items():
            folder = root / quality / subject
            folder.mkdir(parents=True)
            (folder / ".dircksum").write_text("# CKSUM[cksum] SIZE[bytes] DIRS[count] FILES[count] DATE[iso]\n")
            for sentence in sentences:
                (folder / f"{sentence}-video-{other}.avi").write_bytes(clip)
                (folder / f"{sentence}.wav").write_bytes(b"RIFF")
    for relative in ODD:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(clip)
    (root / "higher_quality/fram1/sx119-video-fadg0.avi").write_bytes(b"")
    (root / "lower_quality/readme.wav").write_bytes(b"RIFF")  # not in a subject folder: not counted
    return root


@pytest.fixture
def tree(tmp_path, tiny_avi):
    return make_tree(tmp_path / "DeepfakeTIMIT", tiny_avi)


def test_every_video_is_a_face_swap_of_both_people_of_its_pair(tree):
    rows, report = read_deepfaketimit(tree)
    assert len(rows) == 6 and count_by(rows, "category") == {"DFTIMIT-HQ": 2, "DFTIMIT-LQ": 4}
    assert {r.type for r in rows} == {"FVRA"} and all(r.label == 1 and r.video_fake and not r.audio_fake for r in rows)
    by_path = {r.path: r for r in rows}
    swap = by_path["lower_quality/fadg0/sa1-video-fram1.avi"]
    assert (swap.identity, swap.ids) == ("vidtimit:fadg0", ("vidtimit:fadg0", "vidtimit:fram1"))
    assert (swap.method, swap.category, swap.scenario, swap.split) == ("lower_quality", "DFTIMIT-LQ", "", "")
    other = by_path["higher_quality/fram1/sa1-video-fadg0.avi"]
    assert (other.identity, other.ids, other.category) == ("vidtimit:fram1", swap.ids, "DFTIMIT-HQ")
    assert report.qualities == ["lower_quality", "higher_quality"]
    assert (report.videos, report.sound_files) == (6 + len(ODD) + 1, 6)


def test_files_laid_out_otherwise_and_unreadable_ones_are_listed_once(tree):
    rows, report = read_deepfaketimit(tree)
    assert dict(report.laid_out_otherwise) == ODD
    assert report.unreadable == [("higher_quality/fram1/sx119-video-fadg0.avi", "empty file")]
    assert report.problems == len(ODD) + 1
    assert not {r.path for r in rows} & (set(ODD) | {"higher_quality/fram1/sx119-video-fadg0.avi"})
    lines = report.lines()
    assert lines[:5] == [
        "quality folders read: lower_quality, higher_quality",
        "video files: 12",
        "video files laid out otherwise: 5",
        "unreadable files: 1",
        "sound files (.wav) in the subject folders, not read: 6",
    ]
    assert "  note: no real videos: DeepfakeTIMIT's real recordings are VidTIMIT's, a separate download" in lines
    assert f"  laid out otherwise: lower_quality/stray.avi ({LAYOUT})" in lines


def test_the_manifest_round_trips(tree, tmp_path):
    rows, _ = read_deepfaketimit(tree)
    written = write_manifest(tmp_path / "manifest.csv", rows)
    assert sorted(read_manifest(written), key=lambda r: r.path) == rows


def test_one_quality_alone_is_read_and_the_other_noted(tree):
    import shutil

    shutil.rmtree(tree / "higher_quality")
    rows, report = read_deepfaketimit(tree, verify=False)
    assert {r.category for r in rows} == {"DFTIMIT-LQ"} and len(rows) == 4
    assert report.notes[0] == "higher_quality/ is not here: not read"


def test_not_a_deepfaketimit_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no lower_quality/ or higher_quality/ folder here"):
        read_deepfaketimit(tmp_path)
