"""Checkpoints: a directory with ``config.json``, safetensors weights and a ``README.md`` model card.

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

import emoboost
from emoboost.cache import HASH_BLOCK, atomic_path, write_json_atomic, write_text_atomic
from emoboost.config import from_dict, to_dict
from emoboost.encoders import attributions
from emoboost.errors import ConfigError, WeightsUnavailableError
from emoboost.models.emoforensics import EmoForensics, EmoForensicsConfig

EMOFORENSICS_FORMAT = "emoboost.emoforensics/1"
WEIGHTS = "emoforensics.safetensors"
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


def save_emoforensics(folder: str | Path, model: EmoForensics, meta: dict[str, Any]) -> Path:
    """Write ``model`` and ``meta`` (training data, config, metrics) to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "format": EMOFORENSICS_FORMAT,
        "emoboost_version": emoboost.__version__,
        "model": to_dict(model.config),
        "visual_dim": model.visual_dim,
        "speech_dim": model.speech_dim,
        **meta,
    }
    save_state(folder / WEIGHTS, model, EMOFORENSICS_FORMAT)
    write_json_atomic(folder / "config.json", config)
    write_text_atomic(folder / "README.md", model_card(config))
    return folder


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


def load_emoforensics(folder: str | Path) -> tuple[EmoForensics, dict[str, Any]]:
    """The model (in eval mode) and its ``config.json``."""
    config = read_config(folder, EMOFORENSICS_FORMAT)
    model = EmoForensics(
        from_dict(EmoForensicsConfig, config["model"], "model"), int(config["visual_dim"]), int(config["speech_dim"])
    )
    return load_state(Path(folder) / WEIGHTS, model), config


def model_card(config: dict[str, Any]) -> str:
    """A short README for a checkpoint: what it is, what it was trained on, how well it did."""
    data, metrics, encoders = config.get("data", {}), config.get("metrics", {}), config.get("encoders", {})
    model = config["model"]
    lines = [
        "# EmoForensics checkpoint",
        "",
        "Emotion-consistency transformer of emoboost: face and voice emotion tokens in, a fake logit per",
        "window, per token (timeline) and per modality out. Load it with",
        "`emoboost.checkpoints.load_emoforensics(path)`; weights are safetensors, nothing is pickled.",
        "",
        "## Inputs",
        f"- visual encoder: `{encoders.get('visual', '?')}` ({encoders.get('visual_version', '?')}), {config['visual_dim']} dims",
        f"- speech encoder: `{encoders.get('speech', '?')}` ({encoders.get('speech_version', '?')}), {config['speech_dim']} dims",
        f"- tokens: {model['token_frames']} frames at 25 fps each; windows of {model['window_tokens']} tokens, hop {model['hop_tokens']}",
        f"- modalities: {', '.join(model['modalities'])}; intra layers {model['intra_layers']}, inter blocks {model['inter_layers']}, d_model {model['d_model']}",
        "",
        "## Training data",
        f"- manifest: `{data.get('manifest', '?')}` (SHA-256 {data.get('manifest_sha256', '?')})",
        f"- clips: {data.get('train_clips', '?')} train, {data.get('val_clips', '?')} validation; {data.get('missing', 0)} manifest rows had no features",
        f"- held-out category: {data.get('held_out') or 'none'}",
        "",
        "## Validation",
        f"- best epoch {metrics.get('best_epoch', '?')} of {metrics.get('epochs_run', '?')}; validation AUC {metrics.get('val_auc', float('nan')):.4f}",
        "",
        "Validation AUC is on clips of the training categories; cross-manipulation results are in the",
        "benchmark report. A model trained on SynthAV checks the pipeline and is not a FakeAVCeleb detector.",
        "",
        "## Encoder weights (attribution and licences)",
        *(f"- {line}" for line in attributions(str(encoders.get("visual", "")), str(encoders.get("speech", "")))),
        "",
    ]
    return "\n".join(lines)
