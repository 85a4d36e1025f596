"""AV-Deepfake1M reading, on a tree with the dataset's structure made here (tiny real MP4s).

The structure is the one the authors' README and SDK read (docs/decisions.md, "Other datasets"):
``<root>/{train,val}_metadata.json`` (a JSON list per split), the clips under ``<root>/<split>/<file>``
with ``file`` like ``id06744/_c3CCbnZEbU/00011/real_video_fake_audio.mp4``, a per-clip JSON copy under
``<split>_metadata/``, and the unlabelled test split (``test_files.txt`` and ``test/``). The four clip
names per utterance are those of that path and of public loaders; the reader never reads labels from them.
"""

import json

import pytest

from emoboost.data.avdeepfake1m import read_avdeepfake1m
from emoboost.data.manifest import count_by, read_manifest, segments_of, write_manifest
from emoboost.errors import ConfigError

TRAIN_PEOPLE = (("id00010", "abcDEF12345", "00001"), ("id00011", "ghiJKL67890", "00003"))
VAL_PEOPLE = (("id00020", "mnoPQR13579", "00002"),)
# modify_type -> (clip name, fake, visual, audio segments, audio_model)
VARIANTS = {
    "real": ("real.mp4", [], [], [], None),
    "visual_modified": ("fake_video_real_audio.mp4", [[0.48, 0.86]], [[0.48, 0.86]], [], "yourtts"),
    "audio_modified": ("real_video_fake_audio.mp4", [[1.0, 1.5]], [], [[1.0, 1.5]], "vits"),
    "both_modified": (
        "fake_video_fake_audio.mp4",
        [[4.4, 4.64], [5.0, 5.2]],
        [[4.4, 4.64], [5.0, 5.2]],
        [[4.4, 4.64], [5.0, 5.2]],
        "yourtts",
    ),
}


def entry(file, modify_type, split, fake=(), visual=(), audio=(), original=None, audio_model=None):
    """One metadata object with every field the README lists."""
    return {
        "file": file,
        "original": original,
        "split": split,
        "modify_type": modify_type,
        "audio_model": audio_model,
        "fake_segments": list(fake),
        "audio_fake_segments": list(audio),
        "visual_fake_segments": list(visual),
        "video_frames": 161,
        "audio_frames": 102656,
    }


def utterance(person, video, number, split):
    """The four clips of one utterance: the real one and its visual, audio and audio-visual fakes."""
    folder = f"{person}/{video}/{number}"
    out = []
    for modify_type, (name, fake, visual, audio, model) in VARIANTS.items():
        # a real clip's original is its VoxCeleb2 path; its exact form is not in the sources read, and the reader
        # uses it only when `file` names no idNNNNN folder
        original = f"dev/mp4/{folder}.mp4" if modify_type == "real" else f"{folder}/real.mp4"
        out.append(entry(f"{folder}/{name}", modify_type, split, fake, visual, audio, original, model))
    return out


def make_tree(root, clip):
    """Two people in train and one in val, four clips each, plus one of every problem the reader reports."""
    train = [e for p in TRAIN_PEOPLE for e in utterance(*p, "train")]
    val = [e for p in VAL_PEOPLE for e in utterance(*p, "val")]
    on_disk = [f"train/{e['file']}" for e in train] + [f"val/{e['file']}" for e in val]
    odd = "id00011/ghiJKL67890"
    train += [
        entry("id00010/abcDEF12345/00002/real.mp4", "real", "train"),  # its file is missing
        dict(train[0]),  # a duplicate entry
        entry(f"{odd}/00004/real.mp4", "real", "train"),  # its file is empty
        entry(f"{odd}/00005/real.mp4", "geometry_modified", "train"),
        entry(f"{odd}/00006/fake_video_real_audio.mp4", "visual_modified", "train"),  # a fake with no segments
        entry(f"{odd}/00007/fake_video_real_audio.mp4", "visual_modified", "train", [[1, 2]], [[1, 2]], [[1, 2]]),
        entry(f"{odd}/00008/fake_video_fake_audio.mp4", "both_modified", "train", [[3.0, 2.0]], [[3.0, 2.0]]),
        entry(f"{odd}/00009/real.mp4", "real", "val"),  # in train_metadata.json
        "oops",  # not an object: entry 16
        entry("../../outside.mp4", "real", "train"),
        entry("misc/yt/00001/real.mp4", "real", "train"),  # no idNNNNN anywhere: no identity
        entry(  # its original is no entry: kept, said
            f"{odd}/00010/real_video_fake_audio.mp4", "audio_modified", "train", [[1.0, 1.5]], [], [[1.0, 1.5]],
            f"{odd}/00099/real.mp4", "vits",
        ),
    ]  # fmt: skip
    on_disk += [f"train/{e['file']}" for e in train[10:] if isinstance(e, dict) and ".." not in e["file"]]
    on_disk += [f"train/{odd}/00011/real.mp4", "test/000001.mp4", "test/000002.mp4"]  # no entry; the test split
    for relative in on_disk:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"" if relative.endswith("00004/real.mp4") else clip)
    (root / "train_metadata.json").write_text(json.dumps(train))
    (root / "val_metadata.json").write_text(json.dumps(val))
    (root / "test_files.txt").write_text("000001.mp4\n000002.mp4\n")
    copy = root / "train_metadata" / train[0]["file"].replace(".mp4", ".json")  # the per-clip copy: not read
    copy.parent.mkdir(parents=True)
    copy.write_text(json.dumps(train[0]))
    return root


@pytest.fixture
def tree(tmp_path, tiny_clip):
    return make_tree(tmp_path / "AV-Deepfake1M", tiny_clip)


def test_rows_carry_type_category_segments_identity_and_recording(tree):
    rows, report = read_avdeepfake1m(tree)
    assert len(rows) == 3 * 4 + 1 and report.rows == 20 + 4
    assert report.metadata == ["train_metadata.json", "val_metadata.json"]
    assert count_by(rows, "category") == {"real": 3, "AVDF1M-V": 3, "AVDF1M-A": 4, "AVDF1M-AV": 3}
    by_path = {r.path: r for r in rows}
    both = by_path["train/id00010/abcDEF12345/00001/fake_video_fake_audio.mp4"]
    assert (both.type, both.label, both.video_fake, both.audio_fake) == ("FVFA", 1, True, True)
    assert both.fake_segments == both.video_fake_segments == both.audio_fake_segments == "4.4:4.64;5.0:5.2"
    assert segments_of(both.fake_segments) == [(4.4, 4.64), (5.0, 5.2)]  # seconds, in the dataset's order
    assert (both.identity, both.ids, both.split) == ("id00010", ("id00010",), "train")
    assert both.scenario == "id00010/abcDEF12345/00001/real.mp4" == by_path[f"train/{both.scenario}"].scenario
    assert (both.method, both.generator) == ("both_modified", "yourtts")
    visual = by_path["val/id00020/mnoPQR13579/00002/fake_video_real_audio.mp4"]
    assert (visual.type, visual.video_fake, visual.audio_fake, visual.category) == ("FVRA", True, False, "AVDF1M-V")
    assert (visual.fake_segments, visual.video_fake_segments, visual.audio_fake_segments) == (
        "0.48:0.86",
        "0.48:0.86",
        "",
    )
    assert visual.generator == "" and visual.split == "val"  # audio_model names a voice generator: real voice here
    audio = by_path["val/id00020/mnoPQR13579/00002/real_video_fake_audio.mp4"]
    assert (audio.type, audio.video_fake, audio.audio_fake, audio.generator) == ("RVFA", False, True, "vits")
    real = by_path["val/id00020/mnoPQR13579/00002/real.mp4"]
    assert (real.label, real.video_fake, real.audio_fake, real.fake_segments) == (0, False, False, "")
    assert real.scenario == "id00020/mnoPQR13579/00002/real.mp4" and real.identity == "id00020"


def test_every_problem_is_listed_once_and_left_out(tree):
    rows, report = read_avdeepfake1m(tree)
    odd = "train/id00011/ghiJKL67890"
    assert report.missing_files == ["train/id00010/abcDEF12345/00002/real.mp4"]
    assert report.duplicate_rows == ["train/id00010/abcDEF12345/00001/real.mp4"]
    assert report.unreadable == [(f"{odd}/00004/real.mp4", "empty file")]
    assert report.files_without_row == [f"{odd}/00011/real.mp4"]  # the test split is not a labelled one
    assert report.no_identity == ["train/misc/yt/00001/real.mp4"]
    assert report.unlisted_originals == [f"{odd}/00010/real_video_fake_audio.mp4"]
    assert f"{odd}/00010/real_video_fake_audio.mp4" in {r.path for r in rows}  # said, kept
    assert dict(report.invalid) == {
        f"{odd}/00005/real.mp4": "unknown modify_type 'geometry_modified': "
        "not one of real, visual_modified, audio_modified, both_modified",
        f"{odd}/00006/fake_video_real_audio.mp4": "modify_type visual_modified with 0 fake_segments",
        f"{odd}/00007/fake_video_real_audio.mp4": "modify_type visual_modified with 1 visual and 1 audio fake segments",
        f"{odd}/00008/fake_video_fake_audio.mp4": "fake_segments: segment [3.0, 2.0] is not 0 <= start < end",
        f"{odd}/00009/real.mp4": "split field 'val' in train_metadata.json",
        "train/../../outside.mp4": "file '../../outside.mp4' is not a path inside the dataset",
        "train_metadata.json[16]": "not a JSON object",
    }
    assert report.problems == 1 + 1 + 1 + 1 + 1 + 7
    lines = report.lines()
    assert "entries whose file is missing: 1" in lines and "invalid entries: 7" in lines
    assert "  note: test: 2 files in test_files.txt, whose labels are not published: not read" in lines
    assert f"  invalid entry: {odd}/00009/real.mp4 (split field 'val' in train_metadata.json)" in lines
    assert f"  unreadable: {odd}/00004/real.mp4 (empty file)" in lines
    assert not {r.path for r in rows} & ({p for p, _ in report.invalid} | set(report.missing_files))


def test_the_manifest_round_trips_every_column(tree, tmp_path):
    rows, _ = read_avdeepfake1m(tree)
    written = write_manifest(tmp_path / "manifest.csv", rows)
    header = written.read_text().splitlines()[0].split(",")
    assert header[-4:] == ["fake_segments", "video_fake_segments", "audio_fake_segments", "split"]
    assert sorted(read_manifest(written), key=lambda r: r.path) == rows


def test_one_split_alone_is_read_and_the_other_noted(tree):
    (tree / "train_metadata.json").unlink()
    rows, report = read_avdeepfake1m(tree)
    assert {r.split for r in rows} == {"val"} and len(rows) == 4
    assert "train_metadata.json is not here: the train split is not read" in report.notes
    assert not report.files_without_row  # the train folder is not listed when its metadata is not read


def test_without_verify_no_file_is_opened(tree):
    rows, report = read_avdeepfake1m(tree, verify=False)
    assert not report.unreadable and len(rows) == 14


def test_not_an_avdeepfake1m_folder_or_not_json_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no train_metadata.json or val_metadata.json here"):
        read_avdeepfake1m(tmp_path)
    (tmp_path / "val_metadata.json").write_text("[{")
    with pytest.raises(ConfigError, match="val_metadata.json is not valid JSON"):
        read_avdeepfake1m(tmp_path)
    (tmp_path / "val_metadata.json").write_text('{"file": "a.mp4"}')
    with pytest.raises(ConfigError, match="is not a JSON list of clips"):
        read_avdeepfake1m(tmp_path)
