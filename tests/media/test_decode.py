import itertools
import os
import subprocess
import sys
from pathlib import Path

import factory
import media_matrix
import numpy as np
import pytest

from emoboost import errors
from emoboost.config import MediaConfig
from emoboost.media.decode import FPS, SAMPLES_PER_FRAME, MediaReader, grid_source_indices

MARK_S = 1.6  # flash + beep start; grid frame 40


def _all_frames(reader: MediaReader, count: int | None = None) -> np.ndarray:
    """The first ``count`` (default: every) grid frames, stacked ``[t, H, W, 3]``."""
    return np.stack(list(itertools.islice(reader.iter_frames(), count)))


def _flash_and_beep_frames(reader: MediaReader) -> tuple[np.ndarray, np.ndarray]:
    frames = _all_frames(reader)
    bright = np.flatnonzero(frames.mean(axis=(1, 2, 3)) > 128)
    level = np.sqrt((reader.audio.reshape(-1, SAMPLES_PER_FRAME) ** 2).mean(axis=1))
    loud = np.flatnonzero(level > 0.1)
    return bright, loud


@pytest.mark.parametrize(
    "source",
    [
        {"fps": 25, "sample_rate": 16_000, "channels": 1},
        {"fps": 30, "sample_rate": 44_100, "channels": 2},
        {"fps": 60, "sample_rate": 48_000, "channels": 2},
        {"fps": 30, "sample_rate": 48_000, "channels": 1, "vfr": True},
    ],
    ids=["25fps-16k", "30fps-44k-stereo", "60fps-48k-stereo", "vfr"],
)
def test_grid_length_and_audio_video_alignment(tmp_path, source):
    path = factory.sync_clip(tmp_path / "sync.mp4", MARK_S, seconds=4.0, **source)
    reader = MediaReader(path)
    assert abs(reader.info.n_frames - 4.0 * FPS) <= 1
    assert reader.audio.dtype == np.float32 and reader.audio.ndim == 1
    assert len(reader.audio) == reader.info.n_frames * SAMPLES_PER_FRAME
    bright, loud = _flash_and_beep_frames(reader)
    # the flash and the beep start on the same grid frame (within one), at MARK_S
    assert abs(bright[0] - MARK_S * FPS) <= 1
    assert abs(loud[0] - MARK_S * FPS) <= 1
    assert abs(int(bright[0]) - int(loud[0])) <= 1


def test_source_frames_map_by_timestamp_not_index():
    # 10 fps source: grid frame i shows the source frame on screen at its centre (i + 0.5) / 25
    starts = np.arange(10) / 10
    expected = [min(9, int(np.floor((i + 0.5) / FPS * 10 + 1e-9))) for i in range(25)]
    assert grid_source_indices(starts, 25).tolist() == expected
    assert expected[:6] == [0, 0, 1, 1, 1, 2]
    # irregular (VFR) timestamps: a long-held frame fills every grid frame it covers
    irregular = np.array([0.0, 0.5, 0.52, 0.54])
    assert grid_source_indices(irregular, 15).tolist() == [0] * 12 + [1, 3, 3]
    # timestamps starting late are measured from the first frame
    assert grid_source_indices(starts + 3.0, 25).tolist() == grid_source_indices(starts, 25).tolist()


def test_bursts_of_any_size_stream_the_same_frames(talking_clip):
    reader = MediaReader(talking_clip, MediaConfig(chunk_frames=7))
    streamed = _all_frames(reader)
    assert streamed.shape == (reader.info.n_frames, 240, 320, 3)
    np.testing.assert_array_equal(streamed, _all_frames(MediaReader(talking_clip, MediaConfig(chunk_frames=50))))


def test_frames_are_decoded_in_bursts_bounded_by_bytes(talking_clip, monkeypatch):
    import emoboost.media.decode as decode

    reader = MediaReader(talking_clip, MediaConfig(chunk_frames=50))
    frame_bytes = reader.info.width * reader.info.height * 3
    monkeypatch.setattr(decode, "BURST_BYTES", 4 * frame_bytes)  # room for 4 frames of this size
    decoded = []
    original = reader._decode

    def counting(start, stop):
        for grid, frame in original(start, stop):
            decoded.append(grid)
            yield grid, frame

    monkeypatch.setattr(reader, "_decode", counting)
    frames = reader.iter_frames()
    first = next(frames)
    assert len(decoded) == 4  # the first frame comes once its burst of 4 is decoded, not 50
    kept = [first, *frames]  # frames kept across later bursts are never overwritten
    assert len(kept) == reader.info.n_frames == len(decoded)
    np.testing.assert_array_equal(np.stack(kept), _all_frames(MediaReader(talking_clip)))


def test_large_frames_are_scaled_to_max_side(tmp_path):
    path = factory.talking_clip(tmp_path / "big.mp4", seconds=1.2, size=(1280, 720), audio=True)
    reader = MediaReader(path, MediaConfig(max_side=640))
    assert (reader.info.width, reader.info.height) == (640, 360)
    assert (reader.info.source_width, reader.info.source_height) == (1280, 720)
    assert next(reader.iter_frames()).shape == (360, 640, 3)


def test_display_rotation_is_applied(tmp_path, talking_clip):
    phone = factory.phone_copy(talking_clip, tmp_path / "phone.mp4")  # stored sideways, displayed upright
    upright, turned = MediaReader(talking_clip), MediaReader(phone)
    assert (turned.info.width, turned.info.height) == (upright.info.width, upright.info.height) == (320, 240)
    difference = np.abs(_all_frames(turned, 10).astype(int) - _all_frames(upright, 10).astype(int)).mean()
    assert difference < 3, difference  # the same picture, up to one more encoding


def _bad_inputs(tmp_path: Path, good: Path) -> dict[str, tuple[Path, type]]:
    return {case.name: (case.path, case.error) for case in media_matrix.broken(tmp_path, good)}


def test_each_bad_input_raises_its_own_error(tmp_path, talking_clip):
    for case in media_matrix.broken(tmp_path, talking_clip):
        with pytest.raises(case.error) as info:
            MediaReader(case.path)
        assert info.value.path == case.path, case.name
        assert str(info.value).startswith(f"{case.path}: "), case.name
        assert case.says in info.value.cause, (case.name, info.value.cause)


def test_a_codec_neither_decoder_reads_is_unsupported(tmp_path, monkeypatch):
    av1 = media_matrix.av1_test_pattern(tmp_path / "av1.mkv")
    assert MediaReader(av1, require_audio=False).info.n_frames == 38  # decord cannot, PyAV can
    monkeypatch.setattr("emoboost.media.decode._pyav_probe", lambda path: None)  # as if PyAV could not either
    with pytest.raises(errors.UnsupportedCodecError, match="unsupported video codec 'av1'"):
        MediaReader(av1, require_audio=False)


def test_unreadable_file(tmp_path, talking_clip, monkeypatch):
    # CI runs as root, who reads anything: make the permission check itself say no
    path = tmp_path / "locked.mp4"
    path.write_bytes(talking_clip.read_bytes())
    monkeypatch.setattr("emoboost.media.decode.os.access", lambda p, mode: Path(p) != path)
    with pytest.raises(errors.UnreadableFileError, match="locked.mp4: permission denied"):
        MediaReader(path)


def test_audio_track_optional_when_asked(tmp_path):
    path = factory.talking_clip(tmp_path / "mute.mp4", seconds=1.5, audio=False)
    reader = MediaReader(path, require_audio=False)
    assert not reader.info.has_audio
    assert not reader.audio.any() and len(reader.audio) == reader.info.n_frames * SAMPLES_PER_FRAME


def test_cli_shows_one_clean_line_per_bad_file(tmp_path, talking_clip):
    cases = _bad_inputs(tmp_path, talking_clip)
    del cases["directory where a file was expected"]  # a folder given to extract is searched for videos, not decoded
    paths = [str(path) for path, _ in cases.values()]
    result = subprocess.run(
        [sys.executable, "-m", "emoboost.cli", "extract", *paths, "--out", str(tmp_path / "store")],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == len(cases), result.stderr
    for line, path in zip(sorted(lines), sorted(paths), strict=False):
        assert line.startswith(f"error {path}: ")
    for noise in ("[mov", ".cc:", "Traceback", "moov atom not found\n", "DECORDError"):
        assert noise not in result.stderr + result.stdout
    assert f"0 done, 0 skipped, {len(cases)} failed" in result.stdout
    assert not list((tmp_path / "store").rglob("*.safetensors"))


# -- bounded work: a file's claims about its length never decide how much work is done --------------


def test_second_frame_stamped_at_ten_hours_is_refused_at_once(tmp_path):
    import time

    path = factory.runaway_timestamps(tmp_path / "runaway.mp4")
    assert path.stat().st_size < 100_000
    start = time.perf_counter()
    with pytest.raises(errors.BrokenTimestampsError, match=r"frame 2 of 2 is stamped 10\.0 h after the one before"):
        MediaReader(path)
    assert time.perf_counter() - start < 10


def test_frames_a_few_seconds_apart_are_kept(tmp_path):
    path = factory.runaway_timestamps(tmp_path / "slides.mp4", stamps_s=(0.0, 5.0, 10.0), audio_s=12.0)
    reader = MediaReader(path)
    assert reader.info.source_frames == 3 and 10.0 <= reader.info.duration_s <= 15.1
    with pytest.raises(errors.BrokenTimestampsError, match="more than media.max_frame_gap_s = 4 s"):
        MediaReader(path, MediaConfig(max_frame_gap_s=4.0))


def test_only_the_first_max_duration_is_decoded(talking_clip):
    reader = MediaReader(talking_clip, MediaConfig(max_duration_s=2.0))
    assert reader.info.n_frames == 50 and reader.info.source_duration_s == pytest.approx(3.0, abs=0.05)
    assert len(reader.audio) == 50 * SAMPLES_PER_FRAME
    assert sum(1 for _ in reader.iter_frames()) == 50
    assert MediaReader(talking_clip, MediaConfig(max_duration_s=0)).info.n_frames == 75  # 0: no limit


def test_audio_is_decoded_only_when_used(talking_clip, monkeypatch):
    reader = MediaReader(talking_clip)
    assert reader.info.has_audio and reader._audio is None
    calls = []
    original = MediaReader._read_audio
    monkeypatch.setattr(MediaReader, "_read_audio", lambda self, *a: calls.append(1) or original(self, *a))
    assert reader.audio.any() and reader.audio is reader.audio and calls == [1]


def test_non_utf8_file_name_is_decoded(talking_clip, tmp_path):
    name = os.fsdecode(b"caf\xe9 \xff.mp4")  # Latin-1 bytes, not UTF-8
    path = tmp_path / name
    path.write_bytes(talking_clip.read_bytes())
    reader = MediaReader(path)
    assert reader.path == path and reader.info.n_frames == 75 and sum(1 for _ in reader.iter_frames()) == 75


@pytest.mark.parametrize("prefix", ["concat:", "file:", "pipe:", "subfile:", "data:", "http:", "tcp:", "async:"])
def test_a_name_that_looks_like_an_ffmpeg_protocol_is_opened_as_the_local_file_it_names(
    talking_clip, tmp_path, monkeypatch, prefix
):
    """The bytes that are hashed are the bytes that are analysed: a text file named ``concat:a.mp4`` beside a
    real ``a.mp4`` is refused as the text file it is, never decoded as ``a.mp4`` (or a URL, or stdin)."""
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copy(talking_clip, "a.mp4")
    decoy = Path(f"{prefix}a.mp4")
    decoy.write_text("not a video\n")
    with pytest.raises(errors.MediaError) as caught:
        MediaReader(decoy)
    assert str(decoy) in str(caught.value)
    real = Path(f"{prefix}b.mp4")  # a real video under such a name is read from its own bytes
    shutil.copy(talking_clip, real)
    assert MediaReader(real).info.n_frames == MediaReader(Path("a.mp4")).info.n_frames


def test_frames_above_max_pixels_are_refused_from_the_header(talking_clip, monkeypatch):
    assert MediaReader(talking_clip, MediaConfig(max_pixels=320 * 240)).info.width == 320  # at the budget: read
    monkeypatch.setattr("emoboost.media.decode._quiet_decord", lambda: pytest.fail("a frame was decoded"))
    with pytest.raises(errors.FrameTooLargeError) as info:
        MediaReader(talking_clip, MediaConfig(max_pixels=320 * 240 - 1))
    assert info.value.code == "frame_too_large" and "frames of 320x240 (0.1 megapixels)" in info.value.cause
    assert "media.max_pixels (0.1 megapixels)" in info.value.cause


def test_a_channel_count_without_a_layout_is_averaged_to_mono(tmp_path):
    mono = factory.talking_clip(tmp_path / "mono.mkv", seconds=2.0, audio_args=("-c:a", "pcm_s16le"))
    array = factory.talking_clip(tmp_path / "array.mkv", seconds=2.0, channels=32, audio_args=("-c:a", "pcm_s16le"))
    expected, found = MediaReader(mono).audio, MediaReader(array).audio
    assert found.shape == expected.shape and np.abs(found - expected).max() < 1e-3 and expected.std() > 0.01


def test_the_video_track_with_the_most_frames_is_analysed(tmp_path, talking_clip):
    both = factory.second_video_track(1.2, talking_clip, tmp_path / "two tracks.mkv")
    alone, reader = MediaReader(talking_clip), MediaReader(both)
    assert (reader.info.video_track, reader.info.video_tracks) == (1, 2)
    assert reader.info.n_frames == alone.info.n_frames and (reader.info.width, reader.info.height) == (320, 240)
    assert np.array_equal(_all_frames(reader), _all_frames(alone))  # the same stream, copied: the same frames


def test_a_cover_picture_is_not_a_video_track(tmp_path, talking_clip):
    cover = tmp_path / "cover.png"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=blue:s=64x64", "-frames:v", "1", str(cover)],
        check=True,
    )
    target = tmp_path / "with cover.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(talking_clip), "-i", str(cover), "-map", "0", "-map", "1"]
        + ["-c", "copy", "-disposition:v:1", "attached_pic", str(target)],
        check=True,
    )
    reader = MediaReader(target)
    assert (reader.info.video_track, reader.info.video_tracks) == (0, 1)
    assert reader.info.n_frames == MediaReader(talking_clip).info.n_frames


def test_a_track_above_max_pixels_is_refused_even_when_another_would_be_analysed(tmp_path, talking_clip):
    big = factory.lavfi("color=c=gray:s=640x480:r=25", tmp_path / "big.mkv", "-frames:v", "2", "-c:v", "libx264")
    both = tmp_path / "both.mkv"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(talking_clip), "-i", str(big)]
        + ["-map", "0:v", "-map", "0:a", "-map", "1:v", "-codec", "copy", str(both)],
        check=True,
    )
    assert MediaReader(both).info.video_tracks == 2
    with pytest.raises(errors.FrameTooLargeError, match="frames of 640x480"):
        MediaReader(both, MediaConfig(max_pixels=320 * 240))


def test_media_errors_survive_pickling_with_path_and_cause():
    """Ray workers and process pools send errors back pickled: the class, the path and the cause must arrive.
    ``copy.deepcopy`` rebuilds an exception through the same ``__reduce__`` that pickling uses."""
    import copy

    from emoboost import errors

    for kind in (errors.CorruptMediaError, errors.NoAudioError, errors.TooShortError, errors.NoFaceError):
        original = kind(Path("/data/a b.mp4"), "a cause")
        rebuilt = copy.deepcopy(original)
        assert type(rebuilt) is kind
        assert (rebuilt.path, rebuilt.cause, str(rebuilt)) == (original.path, "a cause", "/data/a b.mp4: a cause")
    assert copy.deepcopy(errors.NoAudioError("x.mp4")).cause == errors.NoAudioError.kind
