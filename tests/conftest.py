"""Shared fixtures: generated media (session-scoped, made once) and the loaded extractor."""

from __future__ import annotations

import os
from pathlib import Path

import factory  # tests/ is on sys.path through pytest's `pythonpath` (pyproject.toml)
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True, warn_only=True)
    yield
    torch.use_deterministic_algorithms(False)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def talking_clip(media_dir) -> Path:
    """3 s, 25 fps, 320x240, a real face photo drifting, espeak-ng speech."""
    return factory.talking_clip(media_dir / "talking.mp4", seconds=3.0)


@pytest.fixture(scope="session")
def faceless_clip(media_dir) -> Path:
    return factory.talking_clip(media_dir / "faceless.mp4", seconds=2.0, face=False)


@pytest.fixture(scope="session")
def extractor():
    from emoboost.features.extract import FeatureExtractor

    return FeatureExtractor()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny trained detector folder (tests/detector_fixture.py), made once; copy it before changing it."""
    import detector_fixture

    return detector_fixture.tiny_detector(tmp_path_factory.mktemp("detector") / "tiny")
