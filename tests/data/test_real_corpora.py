"""VoxCeleb2, LRS3 and MEAD trees (their real layouts, generated) -> manifests of real clips with who speaks and
which recording; MEAD's separate picture and sound joined into one file that decodes with both."""

import numpy as np
import pytest

from emoboost.cli import run
from emoboost.data.manifest import read_manifest
from emoboost.data.real_corpora import read_lrs3, read_mead, read_voxceleb2
from emoboost.errors import ConfigError


def _touch(root, *names):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")


def test_voxceleb2_identity_recording_and_split(tmp_path):
    _touch(
        tmp_path,
        "dev/mp4/id00012/21Uxsk56VDQ/00001.mp4",
        "dev/mp4/id00012/21Uxsk56VDQ/00002.mp4",
        "dev/mp4/id00012/zzJRoMJTb8Q/00003.mp4",  # the same person, another video
        "test/mp4/ID00017/01dfn2spqyE/00001.mp4",  # upper case: the id FakeAVCeleb reads (lowercased)
        "dev/mp4/id00012/21Uxsk56VDQ/clip.mp4",  # not NNNNN.mp4
        "dev/mp4/speaker/abc/00001.mp4",  # not idNNNNN
        "dev/aac/id00012/21Uxsk56VDQ/00001.m4a",  # the audio-only release: not listed
    )
    listing = read_voxceleb2(tmp_path)
    rows = {r.path: r for r in listing.rows}
    assert sorted(rows) == [
        "dev/mp4/id00012/21Uxsk56VDQ/00001.mp4",
        "dev/mp4/id00012/21Uxsk56VDQ/00002.mp4",
        "dev/mp4/id00012/zzJRoMJTb8Q/00003.mp4",
        "test/mp4/ID00017/01dfn2spqyE/00001.mp4",
    ]
    first, other, test = (rows[p] for p in sorted(rows)[1:])
    assert (first.identity, first.scenario, first.split, first.label) == (
        "id00012", "id00012/21Uxsk56VDQ", "train", 0,
    )  # fmt: skip
    assert other.identity == first.identity and other.scenario != first.scenario
    assert (test.identity, test.split) == ("id00017", "test")
    assert len(listing.skipped) == 2
    # pointing at one mp4/ folder works too
    assert len(read_voxceleb2(tmp_path / "dev" / "mp4").rows) == 3


def test_lrs3_needs_the_transcript_beside_each_clip(tmp_path):
    _touch(
        tmp_path,
        "pretrain/0af00UcTOSc/00001.mp4", "pretrain/0af00UcTOSc/00001.txt",
        "trainval/0akiEFwtkyA/00002.mp4", "trainval/0akiEFwtkyA/00002.txt",
        "test/0Fi83BHQsMA/00003.mp4", "test/0Fi83BHQsMA/00003.txt",
        "test/0Fi83BHQsMA/00004.mp4",  # no transcript
        "other/0Fi83BHQsMA/00005.mp4", "other/0Fi83BHQsMA/00005.txt",  # not one of LRS3's sets
    )  # fmt: skip
    listing = read_lrs3(tmp_path)
    assert [(r.path, r.identity, r.split) for r in listing.rows] == [
        ("pretrain/0af00UcTOSc/00001.mp4", "lrs3:0af00UcTOSc", "train"),
        ("test/0Fi83BHQsMA/00003.mp4", "lrs3:0Fi83BHQsMA", "test"),
        ("trainval/0akiEFwtkyA/00002.mp4", "lrs3:0akiEFwtkyA", "train"),
    ]
    assert listing.skipped["test/0Fi83BHQsMA/00004.mp4"] == "no transcript (.txt) beside it"
    assert "other/0Fi83BHQsMA/00005.mp4" in listing.skipped


def _mead_tree(root):
    """Two MEAD clips of actor M003 with their m4a audio, one frontal clip without audio, one side view."""
    from emoboost.media.write import write_video

    frames = np.zeros((25, 32, 32, 3), np.uint8)
    tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(16_000) / 16_000)).astype(np.float32)
    for emotion, level, name in (("happy", "level_3", "008"), ("neutral", "level_1", "001")):
        write_video(root / "M003" / "video" / "front" / emotion / level / f"{name}.mp4", frames)
        write_video(
            root / "M003" / "audio" / emotion / level / f"{name}.m4a",
            frames[:1],
            audio=tone,
            video_args=("-vn",),
        )
    write_video(root / "M003" / "video" / "front" / "sad" / "level_2" / "005.mp4", frames)  # its audio is missing
    write_video(root / "M003" / "video" / "left_30" / "happy" / "level_3" / "008.mp4", frames)


def test_mead_pairs_each_frontal_video_with_its_audio_and_joins_them(tmp_path):
    import av

    _mead_tree(tmp_path / "mead")
    listing = read_mead(tmp_path / "mead")
    assert [(r.path, r.identity, r.emotion) for r in listing.rows] == [
        ("M003/happy/level_3/008.mp4", "mead:M003", "happy"),
        ("M003/neutral/level_1/001.mp4", "mead:M003", "neutral"),
    ]
    assert "no audio file M003/audio/sad/level_2/005.m4a" in listing.skipped.values()
    assert any("view left_30" in reason for reason in listing.skipped.values())
    code = run(["manifest", "real", "mead", str(tmp_path / "mead"), "--out", str(tmp_path / "m")])
    assert code == 0
    rows = read_manifest(tmp_path / "m" / "manifest.csv")
    assert [r.path for r in rows] == [r.path for r in listing.rows]
    with av.open(str(tmp_path / "m" / rows[0].path)) as joined:  # picture and sound in one file
        assert len(joined.streams.video) == 1 and len(joined.streams.audio) == 1
    # a rerun keeps what was joined
    before = (tmp_path / "m" / rows[0].path).stat().st_mtime_ns
    assert run(["manifest", "real", "mead", str(tmp_path / "mead"), "--out", str(tmp_path / "m")]) == 0
    assert (tmp_path / "m" / rows[0].path).stat().st_mtime_ns == before


def test_an_empty_or_missing_tree_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(ConfigError, match="corpus folder not found"):
        read_lrs3(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    assert run(["manifest", "real", "voxceleb2", str(tmp_path / "empty"), "--out", str(tmp_path / "m")]) != 0
    assert "no voxceleb2 clips found" in capsys.readouterr().err
    assert run(["manifest", "real", "timit", str(tmp_path / "empty"), "--out", str(tmp_path / "m")]) != 0
