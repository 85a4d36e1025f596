"""RAVDESS and CREMA-D trees -> manifests with the acted emotion, identity = actor."""

from emoboost.cli import run
from emoboost.data.emotion_corpora import read_cremad, read_ravdess
from emoboost.data.manifest import read_manifest


def _touch(root, *names):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")


def test_ravdess_names(tmp_path):
    _touch(
        tmp_path,
        "Actor_12/01-01-06-01-02-01-12.mp4",  # audio-video speech, fearful, actor 12 (female)
        "Actor_01/01-02-03-02-01-02-01.mp4",  # audio-video song, happy, actor 1 (male)
        "Actor_01/02-01-05-01-01-01-01.mp4",  # video only: no voice to probe
        "Actor_01/01-01-09-01-01-01-01.mp4",  # emotion 09 does not exist
        "Actor_01/notes.mp4",
    )
    listing = read_ravdess(tmp_path)
    rows = {r.path: r for r in listing.rows}
    assert sorted(rows) == ["Actor_01/01-02-03-02-01-02-01.mp4", "Actor_12/01-01-06-01-02-01-12.mp4"]
    fearful = rows["Actor_12/01-01-06-01-02-01-12.mp4"]
    assert (fearful.emotion, fearful.identity, fearful.gender, fearful.method, fearful.label) == (
        "fearful",
        "ravdess12",
        "women",
        "speech",
        0,
    )
    assert (
        rows["Actor_01/01-02-03-02-01-02-01.mp4"].emotion == "happy"
        and rows["Actor_01/01-02-03-02-01-02-01.mp4"].method == "song"
    )
    assert len(listing.skipped) == 3 and "video only" not in str(listing.skipped) and "modality" in str(listing.skipped)


def test_cremad_names(tmp_path):
    _touch(
        tmp_path,
        "VideoFlash/1001_DFA_ANG_XX.flv",
        "VideoFlash/1091_WSI_SAD_LO.flv",
        "VideoFlash/1001_DFA_XYZ_XX.flv",
        "AudioWAV/1001_DFA_ANG_XX.wav",
    )
    listing = read_cremad(tmp_path)
    assert [(r.path, r.emotion, r.identity) for r in listing.rows] == [
        ("VideoFlash/1001_DFA_ANG_XX.flv", "angry", "cremad1001"),
        ("VideoFlash/1091_WSI_SAD_LO.flv", "sad", "cremad1091"),
    ]
    assert list(listing.skipped) == ["VideoFlash/1001_DFA_XYZ_XX.flv"]


def test_cli_writes_a_manifest_that_reads_back(tmp_path, capsys):
    _touch(tmp_path / "crema", "VideoFlash/1001_DFA_ANG_XX.flv", "VideoFlash/1002_IEO_HAP_HI.flv")
    code = run(["manifest", "emotion", "cremad", str(tmp_path / "crema"), "--out", str(tmp_path / "m")])
    assert code == 0 and "2 clips of 2 actors" in capsys.readouterr().out
    assert [r.emotion for r in read_manifest(tmp_path / "m" / "manifest.csv")] == ["angry", "happy"]
    assert run(["manifest", "emotion", "iemocap", str(tmp_path / "crema"), "--out", str(tmp_path / "m")]) == 2
