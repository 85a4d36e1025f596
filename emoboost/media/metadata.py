"""What an examiner records about an exhibit before analysing it: intake hashes and file times, and the container's
own account of itself (format and brand, tags such as ``creation_time`` and ``encoder``, per-stream codec, frame
count, constant or variable frame rate, bit rates).

Container metadata is often the first authenticity clue (an encoder tag naming an editing tool, a creation time after
the claimed date, a variable frame rate from a screen recorder) and it is cheap: the file is demuxed once, never
decoded. Everything here is reported as the file states it; none of it is checked or trusted.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from pathlib import Path
from typing import Any

from emoboost.text import printable

HASH_CHUNK = 1 << 20
# ISO base media major brands -> what a person calls the file (ISO/IEC 14496-12 family; "qt  " is Apple QuickTime)
BRANDS = {
    "qt": "QuickTime movie (MOV)",
    "isom": "MP4 (ISO base media)",
    "iso2": "MP4 (ISO base media)",
    "iso4": "MP4 (ISO base media)",
    "iso5": "MP4 (ISO base media)",
    "iso6": "MP4 (ISO base media)",
    "mp41": "MP4 (version 1)",
    "mp42": "MP4 (version 2)",
    "avc1": "MP4 (AVC)",
    "m4v": "M4V (Apple MP4 video)",
    "m4a": "M4A (Apple MP4 audio)",
    "3gp4": "3GPP",
    "3gp5": "3GPP",
    "3gp6": "3GPP",
    "3g2a": "3GPP2",
    "mqt": "QuickTime (Sony)",
    "dash": "MPEG-DASH segment",
}
VFR_TOLERANCE = 0.01  # relative spread of frame intervals below which the rate is constant (timestamp rounding)


def _utc(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def intake(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Size, MD5, SHA-1 and SHA-256 (one read), and the file system's times: content modified, status changed
    (``ctime`` on POSIX), and created where the file system records it. Reading does not change them."""
    path = Path(path)
    before = path.stat()
    digests = {"md5": hashlib.md5(usedforsecurity=False), "sha1": hashlib.sha1(usedforsecurity=False)}
    digests["sha256"] = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            for digest in digests.values():
                digest.update(chunk)
    facts: dict[str, Any] = {
        "size_bytes": before.st_size,
        **{name: digest.hexdigest() for name, digest in digests.items()},
        "modified": _utc(before.st_mtime),
        "status_changed": _utc(before.st_ctime),
        "created": _utc(born) if (born := getattr(before, "st_birthtime", None)) is not None else None,
        "read_at": _utc(datetime.datetime.now(datetime.UTC).timestamp()),
    }
    after = path.stat()
    facts["changed_while_read"] = (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
    return facts


def _tags(metadata: Any) -> dict[str, str]:
    return {printable(k): printable(v) for k, v in dict(metadata or {}).items()}


def kind_of(format_name: str, brand: str | None) -> str:
    """What a person calls the container: the ISO brand's name (``isom`` -> MP4) where there is one, since FFmpeg's one
    demuxer for MOV and MP4 calls both "QuickTime / MOV"."""
    if brand:
        return BRANDS.get(brand.strip().lower(), f"ISO base media, brand {brand.strip()!r}")
    return format_name


def _frame_timing(container: Any, stream: Any) -> dict[str, Any]:
    """Frames counted from the demuxed packets, and whether their presentation times step evenly."""
    stamps = []
    for packet in container.demux(stream):
        if packet.size and packet.pts is not None:
            stamps.append(packet.pts)
    stamps.sort()
    timing: dict[str, Any] = {"packets": len(stamps), "rate_mode": "unknown", "interval_ms": None}
    if len(stamps) < 3 or stream.time_base is None:
        return timing
    base = float(stream.time_base)
    steps = [(b - a) * base for a, b in zip(stamps, stamps[1:], strict=False) if b > a]
    if not steps:
        return timing
    low, high = min(steps), max(steps)
    mean = sum(steps) / len(steps)
    timing["interval_ms"] = (low * 1000, high * 1000)
    timing["rate_mode"] = "constant" if high - low <= max(VFR_TOLERANCE * mean, base * 1.5) else "variable"
    return timing


def _stream(stream: Any) -> dict[str, Any]:
    context = stream.codec_context
    entry: dict[str, Any] = {
        "index": stream.index,
        "type": stream.type,
        "codec": printable(context.name or "unknown"),
        "codec_long": printable(getattr(context.codec, "long_name", "") or ""),
        "profile": printable(context.profile or ""),
        "bit_rate": stream.bit_rate or context.bit_rate or None,
        "frames_declared": stream.frames or None,
        "duration_s": float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None,
        "tags": _tags(stream.metadata),
    }
    if stream.type == "video":
        entry["size"] = f"{context.width}x{context.height}"
        entry["pixel_format"] = printable(getattr(context, "pix_fmt", None) or "unknown")
        entry["average_fps"] = float(stream.average_rate) if stream.average_rate else None
        entry["base_fps"] = float(stream.base_rate) if getattr(stream, "base_rate", None) else None
    elif stream.type == "audio":
        entry["sample_rate"] = context.sample_rate
        entry["channels"] = context.channels
        entry["layout"] = printable(getattr(context.layout, "name", "") or "")
    return entry


def container_facts(path: str | os.PathLike[str], video_track: int = 0) -> dict[str, Any]:
    """The container and its streams as the file states them (PyAV; demuxes ``video_track`` once, decodes nothing).
    ``error`` holds the reason where the file cannot be opened; every other field is then absent or ``None``."""
    import av

    facts: dict[str, Any] = {"error": None, "streams": [], "tags": {}}
    try:
        with av.open(os.path.abspath(path)) as container:  # a local file, never a protocol name
            tags = _tags(container.metadata)
            facts.update(
                format=printable(container.format.name),
                format_long=printable(container.format.long_name or container.format.name),
                kind=kind_of(printable(container.format.long_name or container.format.name), tags.get("major_brand")),
                tags=tags,
                duration_s=container.duration / 1e6 if container.duration else None,
                bit_rate=container.bit_rate or None,
                streams=[_stream(s) for s in container.streams],
            )
            videos = list(container.streams.video)
            if len(videos) > video_track:
                timing = _frame_timing(container, videos[video_track])
                for entry in facts["streams"]:
                    if entry["index"] == videos[video_track].index:
                        entry.update(timing, analysed=True)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        facts["error"] = printable(exc)
    return facts


def stream_summary(facts: dict[str, Any], kind: str) -> str:
    """One line for the first stream of ``kind`` ("video" / "audio"): ``"h264 640x480 @ 25 fps"``; "none"."""
    entry = next((s for s in facts.get("streams", []) if s["type"] == kind and s.get("analysed", True)), None)
    if entry is None:
        return "none"
    if kind == "video":
        fps = entry.get("average_fps")
        return f"{entry['codec']} {entry['size']}" + (f" @ {fps:.3g} fps" if fps else "")
    return f"{entry['codec']} {entry.get('sample_rate')} Hz, {entry.get('channels')} ch"
