"""Every kind of input the field meets, generated: broken files that must fail with their own error,
and awkward but valid files that must get a verdict."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import factory

from emoboost import errors

AV1 = ("-c:v", "libaom-av1", "-cpu-used", "8", "-pix_fmt", "yuv420p")


def av1_test_pattern(path: Path) -> Path:
    """1.5 s of ffmpeg's test pattern in AV1, no audio."""
    return factory.lavfi("testsrc=size=160x120:rate=25", path, "-t", "1.5", *AV1)


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    path: Path
    error: type[errors.MediaError] | None = None  # None: a verdict is expected
    says: str = ""  # a fragment the one-line message must hold


def huge_frame(path: Path, size: str = "7776x4320") -> Path:
    """One grey frame of ``size``, no audio (0.1 MB: the header is what is refused)."""
    return factory.lavfi(
        f"color=c=gray:s={size}:r=25", path, "-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast"
    )


def broken(folder: Path, good: Path) -> list[Case]:
    """Inputs that cannot give a verdict (``good`` is a valid talking clip to cut and copy from)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "folder.mp4").mkdir(exist_ok=True)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "text.mp4").write_text("this is not a video\n" * 50)
    (folder / "truncated.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(good), "-vn", "-c:a", "copy", str(folder / "voice.m4a")],
        check=True,
    )
    return [
        Case("missing file", folder / "missing.mp4", errors.MissingFileError, "file not found"),
        Case("directory where a file was expected", folder / "folder.mp4", errors.NotAFileError, "is a directory"),
        Case("zero-byte file", folder / "empty.mp4", errors.EmptyFileError, "empty file"),
        Case("text file named .mp4", folder / "text.mp4", errors.CorruptMediaError, "not a video file"),
        Case("truncated MP4 (no moov)", folder / "truncated.mp4", errors.CorruptMediaError, "moov"),
        Case(
            "no audio track",
            factory.talking_clip(folder / "silent film.mp4", seconds=1.5, audio=False),
            errors.NoAudioError,
            "no audio track",
        ),
        Case("audio-only file", folder / "voice.m4a", errors.NoVideoStreamError, "no video"),
        Case(
            "frames above media.max_pixels (7776x4320, one frame)",
            huge_frame(folder / "huge.mp4"),
            errors.FrameTooLargeError,
            "larger than media.max_pixels",
        ),
        Case(
            "1-frame clip",
            factory.talking_clip(folder / "one frame.mp4", seconds=0.04),
            errors.TooShortError,
            "too short",
        ),
        Case(
            "very short clip (0.2 s)",
            factory.talking_clip(folder / "short.mp4", seconds=0.2),
            errors.TooShortError,
            "0.20 s",
        ),
    ]


def awkward(folder: Path) -> list[Case]:
    """Valid files of every common shape: each must get a verdict."""
    folder.mkdir(parents=True, exist_ok=True)
    clip = factory.talking_clip
    base = clip(folder / "base25.mp4", seconds=2.0)
    return [
        Case("60 fps", clip(folder / "sixty.mp4", seconds=2.0, fps=60)),
        Case("variable frame rate", factory.variable_frame_rate(base, folder / "vfr.mp4")),
        Case("8 kHz mono audio", clip(folder / "telephone.mp4", seconds=2.0, sample_rate=8000)),
        Case("48 kHz stereo audio", clip(folder / "stereo.mp4", seconds=2.0, sample_rate=48_000, channels=2)),
        Case("4K (3840x2160)", clip(folder / "uhd.mp4", seconds=1.2, size=(3840, 2160), face_side=900)),
        Case("vertical 360x640", clip(folder / "vertical.mp4", seconds=2.0, size=(360, 640))),
        Case("phone video (sideways frames + rotation metadata)", factory.phone_copy(base, folder / "phone.mp4")),
        Case("MKV (H.264 + AAC)", clip(folder / "matroska.mkv", seconds=2.0)),
        Case(
            "WebM (VP9 + Opus)",
            clip(
                folder / "web.webm",
                seconds=2.0,
                video_args=("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M"),
                audio_args=("-c:a", "libopus"),
            ),
        ),
        Case(
            "AVI (MPEG-4 Part 2 + MP3)",
            clip(
                folder / "old.avi",
                seconds=2.0,
                video_args=("-c:v", "mpeg4", "-q:v", "4"),
                audio_args=("-c:a", "libmp3lame"),
            ),
        ),
        Case("MOV (H.264 + AAC)", clip(folder / "camera.mov", seconds=2.0)),
        Case(
            "AV1 + Opus in MKV (decord cannot decode AV1; PyAV can)",
            clip(folder / "modern.mkv", seconds=2.0, video_args=AV1, audio_args=("-c:a", "libopus")),
        ),
        Case(
            "32 audio channels without a named layout (MKV, PCM)",
            clip(folder / "array.mkv", seconds=2.0, channels=32, audio_args=("-c:a", "pcm_s16le")),
        ),
        Case(
            "a decoy first video track (the recording is the second)",
            factory.second_video_track(1.2, base, folder / "two tracks.mkv"),
        ),
        Case("spaces in the name", clip(folder / "my interview clip.mp4", seconds=2.0)),
        Case("non-ASCII name", clip(folder / "entrevue_é_日本語_ß.mp4", seconds=2.0)),
    ]
