"""Fixtures of the data tests: one tiny real MP4 (and one AVI) whose bytes the generated dataset trees copy."""

from __future__ import annotations

from pathlib import Path

import factory
import pytest


@pytest.fixture(scope="session")
def tiny_clip(media_dir: Path) -> bytes:
    """The bytes of a 0.2 s, 32x32, 25 fps H.264 MP4 (ffmpeg's test pattern): a file that passes the readers'
    readability check (container magic and MP4 index), made once per session."""
    path = factory.lavfi("testsrc=size=32x32:rate=25", media_dir / "tiny.mp4", "-t", "0.2", "-pix_fmt", "yuv420p")
    return path.read_bytes()


@pytest.fixture(scope="session")
def tiny_avi(media_dir: Path) -> bytes:
    """The bytes of a 0.2 s, 32x32, 25 fps MPEG-4 AVI (ffmpeg's test pattern): a file in the container
    DeepfakeTIMIT's videos use, passing the readers' readability check (RIFF/AVI magic)."""
    path = factory.lavfi("testsrc=size=32x32:rate=25", media_dir / "tiny.avi", "-t", "0.2")
    return path.read_bytes()
