"""Stage 1: decoding. Any container decord reads -> RGB uint8 frames on a 25 fps grid + 16 kHz mono audio.

The time base of the whole package (declared in :mod:`emoboost.media.timebase`):

- grid frame ``i`` covers ``[i / FPS, (i + 1) / FPS)`` seconds and shows the source frame on
  screen at the middle of that interval (so 30/60 fps and variable-frame-rate sources map by
  their timestamps, not by their index);
- audio is float32 mono at ``SAMPLE_RATE``; grid frame ``i`` owns samples
  ``[i * SAMPLES_PER_FRAME, (i + 1) * SAMPLES_PER_FRAME)``. Audio is trimmed or zero-padded to
  the video's length, so ``len(audio) == n_frames * SAMPLES_PER_FRAME`` always holds.

Video is streamed frame by frame (:meth:`MediaReader.iter_frames`, decoding in bounded bursts) so
memory does not grow with the length of the video. Audio at 16 kHz mono is small (3.8 MB a minute)
and is decoded whole on first use, up to ``media.max_duration_s`` (115 MB at the default 30
minutes), never further.

Bounded work: only the first ``media.max_duration_s`` of a video is analysed (the verdict
says so), and a video whose frame times jump by more than ``media.max_frame_gap_s`` (a 2-frame
file whose second frame is stamped at 10 h) is refused as having broken timestamps rather
than decoded as hours of one held frame.

decord opens and probes the file (frame timestamps, size, the audio track) and classifies what
is wrong with a bad one; its FFmpeg and C++ log lines are captured at the file descriptor level,
used to classify the failure, and never shown raw. Frames are then streamed with PyAV, which
decodes only when asked: decord's threaded reader keeps decoding ahead without bound while its
caller is busy (the whole video ends up in memory), so it is never used to stream.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from emoboost import errors
from emoboost.config import MediaConfig
from emoboost.media.timebase import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME

TIMESTAMP_TOLERANCE_S = 1e-6
BURST_BYTES = 32 << 20  # a decoding burst: at most media.chunk_frames frames and about this many bytes

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp", ".ts")

# FFmpeg error codes that decord reports inside its messages.
_AVERROR_STREAM_NOT_FOUND = "-1381258232"
_AVERROR_DECODER_NOT_FOUND = "-1128613112"

logger = logging.getLogger(__name__)
_stderr_lock = threading.Lock()


@contextlib.contextmanager
def captured_native_stderr() -> Iterator[list[str]]:
    """Redirect file descriptor 2 (where decord's C++ and FFmpeg logs go) into a buffer.

    Yields a list that receives the captured lines when the block exits.
    """
    lines: list[str] = []
    with _stderr_lock, tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())


def _quiet_decord():
    import decord

    decord.logging.set_level(decord.logging.QUIET)
    return decord


def check_file(path: str | Path) -> Path:
    """Fail early, with a precise cause, on paths that are not readable non-empty files."""
    path = Path(path)
    try:
        return _check_file(path)
    except OSError as exc:  # a name too long for the file system, a loop of links, an I/O error
        raise errors.MediaError(path, f"cannot be opened ({exc.strerror or exc})") from exc


def _check_file(path: Path) -> Path:
    if not path.exists():
        raise errors.MissingFileError(path)
    if path.is_dir():
        raise errors.NotAFileError(path, "is a directory, expected a video file")
    if not path.is_file():
        raise errors.NotAFileError(path)
    if not os.access(path, os.R_OK):
        raise errors.UnreadableFileError(path)
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except PermissionError as exc:
        raise errors.UnreadableFileError(path) from exc
    if path.stat().st_size == 0:
        raise errors.EmptyFileError(path)
    return path


def _probe_codec(path: Path) -> str | None:
    """Name of the first video stream's codec, through ffprobe when it is installed."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    try:
        result = subprocess.run(
            [
                ffprobe,
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=codec_name",
                "-of",
                "csv=p=0",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    name = result.stdout.strip().splitlines()
    return name[0] if name else None


def _classify_open_error(path: Path, exc: Exception, log: list[str], stream: str) -> errors.MediaError:
    text = " ".join([str(exc), *log])
    if "No such file" in text:
        return errors.MissingFileError(path)
    if "Permission denied" in text:
        return errors.UnreadableFileError(path)
    if _AVERROR_DECODER_NOT_FOUND in text:
        codec = _probe_codec(path) if stream == "video" else None
        what = f"{stream} codec {codec!r}" if codec else f"{stream} codec"
        return errors.UnsupportedCodecError(path, f"unsupported {what} (no decoder for it in the bundled FFmpeg)")
    if _AVERROR_STREAM_NOT_FOUND in text or "Can't find audio stream" in text or "cannot find video stream" in text:
        return errors.NoAudioError(path) if stream == "audio" else errors.NoVideoStreamError(path)
    container = sniff_container(path)
    if container is None:
        return errors.CorruptMediaError(path, "not a video file (content is not a known container format)")
    if container == "MP4/MOV" and not mp4_has_moov(path):
        return errors.CorruptMediaError(
            path, "truncated or corrupt MP4/MOV container (no moov atom: the file index is missing)"
        )
    return errors.CorruptMediaError(path, f"corrupt {container} container (cannot be decoded)")


def mp4_has_moov(path: Path) -> bool:
    """Whether an MP4/MOV file has a complete top-level ``moov`` box (its index)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        offset = 0
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(16)
            box_size, box_type = int.from_bytes(header[:4], "big"), header[4:8]
            if box_size == 1:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8:
                return False
            if box_type == b"moov":
                return offset + box_size <= size
            offset += box_size
    return False


def sniff_container(path: Path) -> str | None:
    """Container family from the file's first bytes, or None when it looks like no video container."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "MP4/MOV"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "Matroska/WebM"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "AVI"
    if head.startswith(b"FLV"):
        return "FLV"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "MPEG-PS"
    if head.startswith(b"\x47"):
        return "MPEG-TS"
    if head.startswith(b"\x30\x26\xb2\x75"):
        return "ASF/WMV"
    if head.startswith(b"OggS"):
        return "Ogg"
    return None


@dataclasses.dataclass(frozen=True)
class MediaInfo:
    """What is known about a file once it is open."""

    path: Path
    n_frames: int  # T, grid frames
    duration_s: float
    width: int  # decoded frame size (after ``max_side`` scaling)
    height: int
    source_width: int
    source_height: int
    source_fps: float
    source_frames: int
    has_audio: bool
    audio_duration_s: float
    source_duration_s: (
        float  # the whole video track; more than ``duration_s`` when only the first media.max_duration_s is analysed
    )
    video_track: int = 0  # index among the file's video tracks of the one analysed (the one with the most frames)
    video_tracks: int = 1  # video tracks the file holds (cover pictures not counted)


def _openable_name(owner: object, path: Path) -> str:
    """``path`` as a string the decoders accept, always an absolute local file name: FFmpeg reads a name such
    as ``concat:a.mp4``, ``pipe:0`` or ``http:...`` as a protocol, so a relative name would let the file that
    was hashed and the bytes that are analysed differ. A name that is not UTF-8 (bytes the OS allows) is
    reached through a symlink with a plain name in a private temporary folder, removed when ``owner`` is
    collected."""
    name = os.path.abspath(os.fspath(path))  # starts with "/": never a protocol prefix
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        folder = tempfile.mkdtemp(prefix="emoboost-name-")
        alias = os.path.join(
            folder, "input" + "".join(c for c in path.suffix if c.isascii() and c.isalnum() or c == ".")
        )
        os.symlink(os.path.abspath(name), alias)
        weakref.finalize(owner, shutil.rmtree, folder, True)
        return alias


def check_timestamps(path: Path, timestamps: np.ndarray, max_gap_s: float) -> None:
    """Refuse a video whose frame times jump further than ``max_gap_s`` (e.g. a second frame stamped at 10 h):
    its length is a claim of the timestamps, not content, and following it means decoding hours of nothing."""
    starts = np.sort(np.asarray(timestamps, np.float64)[:, 0])
    if len(starts) < 2:
        return
    gaps = np.diff(starts)
    worst = int(np.argmax(gaps))
    if gaps[worst] > max_gap_s:
        raise errors.BrokenTimestampsError(
            path,
            f"broken timestamps: frame {worst + 2} of {len(starts)} is stamped {_span(gaps[worst])} "
            "after the one before "
            f"(more than media.max_frame_gap_s = {max_gap_s:g} s)",
        )


def _span(seconds: float) -> str:
    """``"10.0 h"``, ``"12.5 min"`` or ``"42.0 s"``."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


@dataclasses.dataclass(frozen=True)
class VideoTrack:
    """One video track as the container header describes it (nothing decoded)."""

    position: int  # among the file's video tracks (PyAV's ``container.streams.video[position]``)
    frames: int  # stored, else estimated from duration x rate; counted from packets when the file has several tracks
    width: int  # 0 when the header does not say
    height: int


def video_tracks(name: str, max_pixels: int = 0) -> list[VideoTrack]:
    """The file's video tracks without cover pictures (attached pictures), from the header; empty when PyAV
    cannot open the file (decord then says what is wrong with it). ``max_pixels`` goes to the decoders FFmpeg
    opens to probe the streams, so a frame above it is never decoded (probing a 16000x16000 frame took 590 MB;
    with the option, 85 MB), while the header's size is still read."""
    import av

    options = {"max_pixels": str(max_pixels)} if max_pixels else {}
    try:
        with av.open(name, options=options) as container:
            found = []
            for position, stream in enumerate(container.streams.video):
                if stream.disposition & av.stream.Disposition.attached_pic:
                    continue
                frames = int(stream.frames or 0)
                if not frames and stream.duration and stream.time_base and stream.average_rate:
                    frames = int(round(float(stream.duration * stream.time_base * stream.average_rate)))
                context = stream.codec_context
                found.append(VideoTrack(position, frames, int(context.width or 0), int(context.height or 0)))
            if len(found) > 1:  # which has the most frames: counted (MKV stores no count, and its durations can lie)
                position_of = {container.streams.video[t.position].index: t.position for t in found}
                counts = dict.fromkeys(position_of.values(), 0)
                for packet in container.demux([container.streams.video[t.position] for t in found]):
                    if packet.size and packet.stream.index in position_of:
                        counts[position_of[packet.stream.index]] += 1
                found = [dataclasses.replace(t, frames=counts.get(t.position, 0)) for t in found]
            return found
    except (av.error.FFmpegError, AttributeError, TypeError, ValueError):
        return []


def chosen_track(tracks: list[VideoTrack]) -> VideoTrack | None:
    """The track analysed: the one with the most frames (the first of those on a tie); None without tracks."""
    return max(tracks, key=lambda t: (t.frames, -t.position)) if tracks else None


_INTEGER_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2.0**31, "s64": 2.0**63}


def mono_frame(frame):  # av.AudioFrame -> av.AudioFrame
    """The mean of ``frame``'s channels as a mono float frame at its rate and time: for channel counts without a
    named layout, which swresample cannot mix."""
    import av

    data = frame.to_ndarray()
    name = frame.format.name.rstrip("p")
    channels = len(frame.layout.channels) or 1
    samples = data.reshape(channels, -1) if frame.format.is_planar else data.reshape(-1, channels).T
    values = samples.astype(np.float64)
    if name == "u8":
        values = (values - 128.0) / 128.0
    elif name in _INTEGER_SCALE:
        values = values / _INTEGER_SCALE[name]
    mono = av.AudioFrame.from_ndarray(
        values.mean(axis=0, keepdims=True).astype(np.float32), format="flt", layout="mono"
    )
    mono.sample_rate, mono.pts, mono.time_base = frame.sample_rate, frame.pts, frame.time_base
    return mono


def check_pixels(path: Path, width: int, height: int, max_pixels: int) -> None:
    """Refuse a frame size above ``media.max_pixels`` before anything is decoded at that size."""
    if max_pixels and width * height > max_pixels:
        raise errors.FrameTooLargeError(
            path,
            f"frames of {width}x{height} ({width * height / 1e6:.1f} megapixels) are larger than media.max_pixels "
            f"({max_pixels / 1e6:.1f} megapixels)",
        )


def _pyav_probe(path: Path, position: int = 0) -> tuple[np.ndarray, float, np.ndarray] | None:
    """``(frame start/end times [n, 2], average fps, first frame)`` of video track ``position`` read with PyAV, or
    None when it cannot decode the video either."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[position]
            if stream.time_base is None:  # no time base: PyAV cannot place the frames either
                return None
            base = float(stream.time_base)
            packet_starts: list[float] = []
            last_duration = 0.0
            for packet in container.demux(stream):
                if packet.pts is not None:
                    packet_starts.append(packet.pts * base)
                    last_duration = (packet.duration or 0) * base
            container.seek(0)
            frame = next(container.decode(stream), None)
            if frame is None or not packet_starts:
                return None
            first = frame.to_ndarray(format="rgb24")
            rate = float(stream.average_rate or 0)
    except (av.error.FFmpegError, IndexError, StopIteration):
        return None
    starts = np.sort(np.asarray(packet_starts, np.float64))
    ends = np.append(starts[1:], starts[-1] + (last_duration or (1.0 / rate if rate else 1.0 / FPS)))
    fps = rate or (len(starts) / max(ends[-1] - starts[0], 1e-9))
    return np.stack([starts, ends], axis=1), fps, first


def grid_source_indices(frame_starts: np.ndarray, n_frames: int) -> np.ndarray:
    """For each grid frame, the source frame on screen at the grid frame's centre.

    ``frame_starts`` are source presentation times in seconds (any order of rates, VFR included).
    """
    starts = np.asarray(frame_starts, dtype=np.float64)
    starts = starts - starts[0]
    centres = (np.arange(n_frames) + 0.5) / FPS
    # a frame starting exactly at a centre is on screen there; 1 us absorbs float noise in timestamps
    index = np.searchsorted(starts, centres + TIMESTAMP_TOLERANCE_S, side="right") - 1
    return np.clip(index, 0, len(starts) - 1).astype(np.int64)


def _scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    if max_side <= 0 or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    # even sizes keep swscale happy
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


class MediaReader:
    """An opened media file: ``info``, streamed video chunks and the whole audio track.

    Raises a :class:`~emoboost.errors.MediaError` subclass on open for every kind of bad input.
    ``require_audio=False`` accepts files without an audio track (their audio is silence and
    ``info.has_audio`` is False).
    """

    def __init__(
        self, path: str | Path, config: MediaConfig | None = None, require_audio: bool = True, threads: int = 0
    ):
        self.config = config or MediaConfig()
        self.threads = threads  # FFmpeg decoding threads for the frames (0: one per CPU)
        self.path = check_file(path)
        self._name = _openable_name(self, self.path)
        tracks = video_tracks(self._name, self.config.max_pixels)
        for listed in tracks:  # from the header: no track is ever decoded (or probed) at a size above the budget
            check_pixels(self.path, listed.width, listed.height, self.config.max_pixels)
        track = chosen_track(tracks)
        self._video_position = track.position if track is not None else 0
        if len(tracks) > 1 or self._video_position:
            # decord cannot be told which track to read: PyAV probes the chosen one
            probed = _pyav_probe(Path(self._name), self._video_position)
            if probed is None:
                raise errors.CorruptMediaError(
                    self.path, f"video track {self._video_position} (the one with the most frames) cannot be decoded"
                )
            timestamps, source_fps, first = probed
        else:
            timestamps, source_fps, first = self._decord_probe()
        source_height, source_width = first.shape[:2]
        check_pixels(self.path, source_width, source_height, self.config.max_pixels)  # a header without a size
        source_frames = len(timestamps)
        check_timestamps(self.path, timestamps, self.config.max_frame_gap_s)
        duration = float(timestamps[-1, 1] - timestamps[0, 0])
        n_frames = int(round(duration * FPS))
        if n_frames < 1 or duration < self.config.min_duration_s:
            raise errors.TooShortError(
                self.path, f"clip too short ({duration:.2f} s; at least {self.config.min_duration_s:g} s needed)"
            )
        if self.config.max_duration_s:
            n_frames = min(n_frames, int(round(self.config.max_duration_s * FPS)))  # the first max_duration_s only
        # phone videos store landscape frames with a display rotation: frames are turned upright
        # (PyAV's stored size and rotation; decord applies some rotation tags and not others)
        self._quarter_turns, stored_width, stored_height = self._stored_frame(source_width, source_height)
        self._size = _scaled_size(
            stored_width, stored_height, self.config.max_side
        )  # what swscale produces, before turning
        source_width, source_height = (
            (stored_height, stored_width) if self._quarter_turns % 2 else (stored_width, stored_height)
        )
        width, height = self._size[::-1] if self._quarter_turns % 2 else self._size
        self._source_index = grid_source_indices(timestamps[:, 0], n_frames)
        self._require_audio = require_audio
        self._audio: np.ndarray | None = None  # decoded on first use (a faceless video may never need it)
        has_audio, audio_duration = self._audio_track(require_audio)
        self.info = MediaInfo(
            path=self.path,
            n_frames=n_frames,
            duration_s=n_frames / FPS,
            width=width,
            height=height,
            source_width=source_width,
            source_height=source_height,
            source_fps=source_fps,
            source_frames=source_frames,
            has_audio=has_audio,
            audio_duration_s=audio_duration,
            source_duration_s=duration,
            video_track=self._video_position,
            video_tracks=max(1, len(tracks)),
        )

    def _decord_probe(self) -> tuple[np.ndarray, float, np.ndarray]:
        """``(frame start/end times [n, 2], average fps, first frame)`` through decord, or through PyAV for a codec
        decord's FFmpeg lacks; a file neither can read raises the error classified from decord's log."""
        decord = _quiet_decord()
        error: Exception | None
        with captured_native_stderr() as log:
            try:
                probe = decord.VideoReader(self._name, ctx=decord.cpu(0))
                first = probe[0].asnumpy()
                timestamps = probe.get_frame_timestamp(range(len(probe)))
                source_fps = float(probe.get_avg_fps())
                # decord's threaded decoder keeps decoding ahead, unbounded, whenever its caller is
                # busy (measured here; a known decord behaviour): it probes, never streams; frames come from PyAV
                del probe
            except Exception as exc:  # decord raises RuntimeError or DECORDError
                error = exc
            else:
                error = None
        if error is None:
            return timestamps, source_fps, first
        problem = _classify_open_error(self.path, error, log, "video")
        # decord's bundled FFmpeg lacks some decoders (AV1) that PyAV's has: probe with PyAV then
        probed = _pyav_probe(Path(self._name)) if isinstance(problem, errors.UnsupportedCodecError) else None
        if probed is None:
            raise problem from error
        return probed

    def _read_audio(self, n_frames: int, require_audio: bool) -> tuple[np.ndarray | None, float]:
        """The first audio track as mono float32 at 16 kHz, exactly ``n_frames * 640`` samples.

        Decoded and resampled (FFmpeg's swresample, through PyAV) packet by packet straight into
        the output array, so memory is the output plus a few packets (decord's AudioReader held
        about ten times the output while reading).
        """
        import av

        wanted = n_frames * SAMPLES_PER_FRAME
        samples = np.zeros(wanted, np.float32)
        filled = decoded = 0
        container = None
        try:
            container = av.open(self._name)
            if not container.streams.audio:
                if require_audio:
                    raise errors.NoAudioError(self.path)
                return None, 0.0
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

            def store(pieces) -> None:
                nonlocal decoded, filled
                for piece in pieces:
                    chunk = piece.to_ndarray().reshape(-1)
                    decoded += len(chunk)
                    take = min(len(chunk), wanted - filled)
                    samples[filled : filled + take] = chunk[:take]
                    filled += take

            mix_down = False
            for frame in container.decode(stream):
                if not mix_down:
                    try:
                        store(resampler.resample(frame))
                    except (av.error.ArgumentError, ValueError):
                        # a channel count without a named layout (32 microphones): swresample has no matrix for
                        # it; the channels are averaged here and resampled from mono
                        logger.info(
                            "%s: %d audio channels without a layout: averaged", self.path, len(frame.layout.channels)
                        )
                        mix_down = True
                        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
                if mix_down:
                    store(resampler.resample(mono_frame(frame)))
                if filled >= wanted:
                    break
            else:
                store(resampler.resample(None))  # what the resampler still holds
            audio_duration = decoded / SAMPLE_RATE
            if filled >= wanted and stream.duration is not None and stream.time_base is not None:
                audio_duration = max(audio_duration, float(stream.duration * stream.time_base))
        except av.error.FFmpegError as exc:
            raise errors.CorruptMediaError(
                self.path, f"corrupt audio stream ({exc.strerror or type(exc).__name__})"
            ) from exc
        finally:
            if container is not None:
                container.close()
        if decoded == 0:
            if require_audio:
                raise errors.NoAudioError(self.path, "the audio track holds no samples")
            return None, 0.0
        return samples, audio_duration

    def _audio_track(self, require_audio: bool) -> tuple[bool, float]:
        """``(has an audio track, its duration in seconds from the container, 0 when unknown)``, without decoding it."""
        import av

        try:
            with av.open(self._name) as container:
                if not container.streams.audio:
                    if require_audio:
                        raise errors.NoAudioError(self.path)
                    return False, 0.0
                stream = container.streams.audio[0]
                if stream.duration is not None and stream.time_base is not None:
                    return True, float(stream.duration * stream.time_base)
                return True, float(container.duration or 0) / av.time_base
        except av.error.FFmpegError as exc:
            raise errors.CorruptMediaError(
                self.path, f"corrupt audio stream ({exc.strerror or type(exc).__name__})"
            ) from exc

    @property
    def audio(self) -> np.ndarray:
        """Mono float32 audio at 16 kHz, exactly ``n_frames * 640`` samples (silence if there is no track).

        Decoded on first use, only as far as the analysed part (``n_frames``) goes."""
        if self._audio is None and self.info.has_audio:
            self._audio, _ = self._read_audio(self.info.n_frames, self._require_audio)
        if self._audio is None:
            return np.zeros(self.info.n_frames * SAMPLES_PER_FRAME, dtype=np.float32)
        return self._audio

    def _stored_frame(self, width: int, height: int) -> tuple[int, int, int]:
        """``(quarter turns counterclockwise to display, stored width, stored height)`` of the first frame.

        Falls back to no rotation and ``width`` x ``height`` when PyAV cannot tell."""
        import av

        try:
            with av.open(self._name) as container:
                frame = next(container.decode(container.streams.video[self._video_position]), None)
                if frame is None:
                    return 0, width, height
                return int(round(float(frame.rotation or 0) / 90.0)) % 4, frame.width, frame.height
        except (av.error.FFmpegError, AttributeError, TypeError, IndexError):
            return 0, width, height

    def _decode(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """Grid frames ``[start, stop)`` in order, as ``(grid index, frame)``, decoded in one forward pass.

        PyAV decodes synchronously (nothing is decoded ahead of what is asked), so memory is one
        chunk plus the codec's own few frames. Source frames no grid frame shows are decoded (the
        codec needs them) but never converted to RGB. A stream that ends before its index said
        repeats its last frame.
        """
        import av

        stop = min(stop, self.info.n_frames)
        if start >= stop:
            return
        index = self._source_index
        width, height = self._size
        grid, source = start, -1
        last: np.ndarray | None = None
        container = None
        try:
            container = av.open(self._name)
            stream = container.streams.video[self._video_position]
            stream.thread_type = "AUTO"
            stream.thread_count = self.threads
            for frame in container.decode(stream):
                source += 1
                if source < index[grid]:
                    continue
                last = None
                while grid < stop and index[grid] == source:
                    if last is None:
                        last = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
                        if self._quarter_turns:
                            last = np.ascontiguousarray(np.rot90(last, self._quarter_turns))
                    yield grid, last
                    grid += 1
                if grid >= stop:
                    return
        except av.error.FFmpegError as exc:
            raise errors.CorruptMediaError(
                self.path, f"corrupt video stream (decoding failed near {grid / FPS:.2f} s)"
            ) from exc
        finally:
            if container is not None:
                container.close()
        filler = last if last is not None else np.zeros((self.info.height, self.info.width, 3), np.uint8)
        if grid < stop:
            logger.info(
                "%s: the video stream ended %d grid frames early; its last frame is held", self.path, stop - grid
            )
        for g in range(grid, stop):
            yield g, filler

    def iter_frames(self) -> Iterator[np.ndarray]:
        """Stream every grid frame in order, uint8 ``[H, W, 3]``, in one decoding pass.

        Frames are decoded in bursts and then handed out one by one: FFmpeg's decoding threads get
        the CPU to themselves during a burst (interleaved frame by frame with torch work, decoding
        ran at half speed: torch's OpenMP workers spin-wait after each call and take the cores
        the decoder threads need). A burst is ``media.chunk_frames`` frames, fewer for large
        frames so that it stays within ``BURST_BYTES``, written into one array; the frames are
        views of it, so a caller may keep any of them, and the burst's memory goes back to the
        system whole once none is kept (one buffer per frame fragmented the heap: memory grew
        with the length of the file). Treat frames as read-only.
        """
        frame_bytes = self.info.width * self.info.height * 3
        size = max(1, min(self.config.chunk_frames, BURST_BYTES // frame_bytes))
        shape = (self.info.height, self.info.width, 3)
        burst, filled = np.empty((min(size, self.info.n_frames), *shape), np.uint8), 0
        for grid, frame in self._decode(0, self.info.n_frames):
            burst[filled] = frame
            filled += 1
            if filled == len(burst):
                yield from burst
                burst, filled = np.empty((min(size, self.info.n_frames - grid - 1), *shape), np.uint8), 0
