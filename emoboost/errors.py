"""Typed exceptions of emoboost.

Library code raises these; only the CLI turns them into one line and an exit code, the class's
``exit_code``: 2 for what the user must fix before anything can run (a configuration, a missing or
unreadable model), 1 for the data (an unusable input file, a feature store without the records a
step needs, a split without usable clips). Every media error carries the path it is about and a
short cause that reads well after ``"<path>: "``.
"""

from __future__ import annotations

from pathlib import Path


class EmoboostError(Exception):
    """Base class of every error emoboost raises on purpose."""

    exit_code = 1


class ConfigError(EmoboostError):
    """A configuration file or value is invalid (also: a bad option, no detector, no inputs found)."""

    exit_code = 2


class MediaError(EmoboostError):
    """A media file cannot be used. ``path`` names it, ``cause`` says why in a few words."""

    code = "unreadable_media"  # stable identifier for tools (JSON / CSV ``error_type``)
    kind = "unreadable media"

    def __init__(self, path: str | Path, cause: str | None = None):
        self.path = Path(path)
        self.cause = cause or self.kind
        super().__init__(f"{self.path}: {self.cause}")

    def __reduce__(self):  # pickled as (path, cause): a process pool or Ray sends it back intact
        return (type(self), (self.path, self.cause))


class MissingFileError(MediaError):
    code = "missing_file"
    kind = "file not found"


class NotAFileError(MediaError):
    code = "not_a_file"
    kind = "not a regular file"


class UnreadableFileError(MediaError):
    code = "permission_denied"
    kind = "permission denied"


class EmptyFileError(MediaError):
    code = "empty_file"
    kind = "empty file (0 bytes)"


class CorruptMediaError(MediaError):
    code = "corrupt_media"
    kind = "not a readable video (corrupt or truncated container, or not a video file)"


class UnsupportedCodecError(MediaError):
    code = "unsupported_codec"
    kind = "unsupported codec"


class NoVideoStreamError(MediaError):
    code = "no_video_stream"
    kind = "no video track (audio-only file?)"


class NoAudioError(MediaError):
    code = "no_audio"
    kind = "no audio track"


class TooShortError(MediaError):
    code = "too_short"
    kind = "clip too short"


class BrokenTimestampsError(MediaError):
    code = "broken_timestamps"
    kind = "broken timestamps"


class FrameTooLargeError(MediaError):
    code = "frame_too_large"
    kind = "frames larger than media.max_pixels"


class NoFaceError(MediaError):
    code = "no_face"
    kind = "no face found"


class WriteError(EmoboostError):
    """A file emoboost writes cannot be written (a full disk, a quota, an I/O error). The message names the file;
    what was written before is kept."""


def disk_is_full(exc: OSError) -> bool:
    """Whether ``exc`` says there is no room left (no space, or over quota): the next write fails too."""
    import errno

    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


class WeightsUnavailableError(EmoboostError):
    """Model weights are unreadable, or neither cached nor obtainable; the message says how to provide them."""

    exit_code = 2


class StoreError(EmoboostError):
    """The feature store is missing a record or is inconsistent."""


class DataError(EmoboostError):
    """The data cannot support a step: a split lacks usable clips (real and fake clips with features)."""
