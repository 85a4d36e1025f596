"""Checkpoint files: safetensors weights, a size-bounded format-checked ``config.json`` and the folder hash (the
detector directory of :class:`emoboost.detector.detector.Detector` is the one checkpoint format; its model card is
:func:`emoboost.detector.files.detector_card`).

Nothing is ever unpickled: weights are safetensors, everything else is JSON. Loading checks
the format tag and rebuilds the network from the stored config before loading weights
strictly, so a mismatched file fails loudly instead of half-loading.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from emoboost.errors import ConfigError, WeightsUnavailableError
from emoboost.files import HASH_BLOCK, atomic_path

MAX_JSON_BYTES = 4 << 20  # config.json / fusion.json of a checkpoint; real ones are a few KB


def save_state(path: str | Path, module: torch.nn.Module, tag: str) -> Path:
    """A module's state dict as safetensors (atomic)."""
    from safetensors.torch import save_file

    state = {name: tensor.detach().contiguous() for name, tensor in module.state_dict().items()}
    with atomic_path(path) as part:
        save_file(state, str(part), metadata={"format": tag})
    return Path(path)


def load_state(path: str | Path, module: torch.nn.Module) -> torch.nn.Module:
    """Load safetensors weights into ``module`` strictly; a clear error when they are unreadable, do not fit,
    or hold NaN / infinite values (what a diverged training run saves)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (OSError, ValueError, SafetensorError) as exc:
        raise WeightsUnavailableError(f"{path}: unreadable weights ({_first_line(exc)})") from exc
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ConfigError(
                f"{path}: weights hold NaN or infinite values ({name}); the training run that saved them diverged"
            )
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ConfigError(f"{path}: weights do not match config.json ({_first_line(exc)})") from exc
    return module.eval()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_json_object(path: Path, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """A small JSON object from a file that may come from anyone: size, UTF-8, syntax, no NaN, an object."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ConfigError(f"{path}: {size} bytes, more than the {max_bytes} a detector file may have")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc

    def refuse(constant: str) -> None:
        raise ConfigError(f"{path}: {constant} is not a JSON number")

    try:
        data = json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: invalid JSON (nested too deeply)") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def read_config(folder: str | Path, expected_format: str) -> dict[str, Any]:
    """``config.json`` of a checkpoint directory, with its format checked."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise ConfigError(f"{folder}: not a checkpoint directory (no config.json)")
    config = read_json_object(path)
    if config.get("format") != expected_format:
        raise ConfigError(f"{path}: format {config.get('format')!r}, expected {expected_format!r}")
    return config


def folder_hash(folder: Path, files: Sequence[str], config: dict[str, Any], hash_key: str) -> str:
    """SHA-256 over ``files`` (name, size and bytes each) and ``config`` without ``hash_key`` (canonical JSON).

    ``config.json`` holds the hash, so it is covered through its content rather than its bytes."""
    digest = hashlib.sha256()
    for name in sorted(files):
        path = folder / name
        try:
            digest.update(f"{name}\0{path.stat().st_size}\0".encode())
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(HASH_BLOCK), b""):
                    digest.update(block)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    canonical = {key: value for key, value in config.items() if key != hash_key}
    digest.update(json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode())
    return digest.hexdigest()
