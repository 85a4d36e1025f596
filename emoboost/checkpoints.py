"""Checkpoint files: safetensors weights and a format-checked ``config.json`` (the detector directory of
:class:`emoboost.api.Detector` is the one checkpoint format; its model card is :func:`emoboost.api.detector_card`).

Nothing is ever unpickled: weights are safetensors, everything else is JSON. Loading checks
the format tag and rebuilds the network from the stored config before loading weights
strictly, so a mismatched file fails loudly instead of half-loading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from emoboost.cache import atomic_path
from emoboost.errors import ConfigError, WeightsUnavailableError


def save_state(path: str | Path, module: torch.nn.Module, tag: str) -> Path:
    """A module's state dict as safetensors (atomic)."""
    from safetensors.torch import save_file

    state = {name: tensor.detach().contiguous() for name, tensor in module.state_dict().items()}
    with atomic_path(path) as part:
        save_file(state, str(part), metadata={"format": tag})
    return Path(path)


def load_state(path: str | Path, module: torch.nn.Module) -> torch.nn.Module:
    """Load safetensors weights into ``module`` strictly; a clear error when they are unreadable or do not fit."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise WeightsUnavailableError(f"{path}: unreadable weights ({exc})") from exc
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ConfigError(f"{path}: weights do not match config.json ({str(exc).splitlines()[0]})") from exc
    return module.eval()


def read_config(folder: str | Path, expected_format: str) -> dict[str, Any]:
    """``config.json`` of a checkpoint directory, with its format checked."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise ConfigError(f"{folder}: not a checkpoint directory (no config.json)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON ({exc})") from exc
    if config.get("format") != expected_format:
        raise ConfigError(f"{path}: format {config.get('format')!r}, expected {expected_format!r}")
    return config
