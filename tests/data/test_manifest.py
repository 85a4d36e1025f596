"""The manifest's fake-segment columns: written only when used, read back exactly, checked on read; manifests
written before them still read."""

import pytest

from emoboost.data.manifest import ManifestRow, format_segments, read_manifest, segments_of, write_manifest
from emoboost.errors import ConfigError

BASE = "path,label,type,category,method,identity,ids,race,gender,video_fake,audio_fake"


def test_a_manifest_written_before_the_segment_columns_still_reads(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text(
        f"{BASE},emotion,split\n"
        "RealVideo-RealAudio/African/men/id00001/00001.mp4,0,RVRA,real,real,id00001,id00001,African,men,0,0,happy,test\n"
    )
    (row,) = read_manifest(old)
    assert (row.identity, row.emotion, row.split) == ("id00001", "happy", "test")
    assert row.fake_segments == row.video_fake_segments == row.audio_fake_segments == ""
    again = write_manifest(tmp_path / "again.csv", [row])
    assert "fake_segments" not in again.read_text()  # rows without segments write no segment column


def test_segments_round_trip_bit_exactly_and_keep_their_order():
    segments = [(4.4, 4.64), (0.48, 0.86), (1e-05, 0.1 + 0.2)]  # out of time order, as a dataset may list them
    text = format_segments(segments)
    assert text == "4.4:4.64;0.48:0.86;1e-05:0.30000000000000004"
    assert segments_of(text) == segments and segments_of("") == []


def test_rows_with_segments_round_trip(tmp_path):
    row = ManifestRow(
        "train/a.mp4", 1, "FVFA", "AVDF1M-AV", "both_modified", "id00010", ("id00010",),
        fake_segments="4.4:4.64;5.0:5.2", video_fake_segments="4.4:4.64", audio_fake_segments="5.0:5.2",
    )  # fmt: skip
    real = ManifestRow("train/b.mp4", 0, "RVRA", "real", "real", "id00010", ("id00010",))
    assert read_manifest(write_manifest(tmp_path / "m.csv", [row, real])) == [row, real]


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("1.0-2.0", "is not start:end in seconds"),
        ("2.0:1.0", r"segment \[2.0, 1.0\] is not 0 <= start < end"),
        ("-1:2", r"segment \[-1.0, 2.0\] is not 0 <= start < end"),
        ("nan:2", "is not finite"),
        ("1:x", "is not start:end in seconds"),
    ],
)
def test_a_bad_segment_cell_is_one_line_naming_the_row_and_column(tmp_path, cell, why):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{BASE},fake_segments\nx.mp4,1,FVRA,AVDF1M-V,m,id00001,id00001,,,1,0,{cell}\n")
    with pytest.raises(ConfigError, match=rf"bad.csv:2: fake_segments: .*{why}"):
        read_manifest(bad)


def test_a_file_name_that_is_not_utf8_round_trips(tmp_path):
    """The OS allows any bytes in a name; the manifest writes them back as read (surrogateescape), never a traceback."""
    import os

    from emoboost.data.manifest import ManifestRow, read_manifest, write_manifest

    name = os.fsdecode(b"f\xe4dg0/clip.avi")  # Latin-1 bytes: not UTF-8
    row = ManifestRow(name, 1, "FVRA", "X", "m", "id00001", ("id00001",))
    assert read_manifest(write_manifest(tmp_path / "m.csv", [row]))[0].path == name
