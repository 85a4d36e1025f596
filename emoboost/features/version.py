"""The version of the extraction code, the first part of every feature record's key.

Bump :data:`EXTRACTION_VERSION` with any change that alters the features of a file (decoding,
face tracking, cropping, an encoder's pre-processing, audio levels, log-mel). Records written by
another version stay on disk but are no longer found (:meth:`FeatureStore.keys_for` lists only
keys of this version), so every file is extracted again instead of silently reusing old features.
"""

from __future__ import annotations

EXTRACTION_VERSION = 3  # 2: audio mask (Silero VAD), voiced-only pitch, visual groups; 3: the video track with the
# most frames (was the first for frames, decord's choice for times), audio of any channel count


def key_prefix() -> str:
    """The start of every record key written by this version of the extraction code (``v<N>-``)."""
    return f"v{EXTRACTION_VERSION}-"
