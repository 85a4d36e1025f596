"""Checkpoints: a directory with ``config.json``, safetensors weights and a ``README.md`` model card.

Nothing is ever unpickled: weights are safetensors, everything else is JSON. Loading checks
the format tag and rebuilds the network from the stored config before loading weights
strictly, so a mismatched file fails loudly instead of half-loading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

import emoboost
from emoboost.cache import atomic_path, write_json_atomic, write_text_atomic
from emoboost.config import from_dict, to_dict
from emoboost.errors import ConfigError, WeightsUnavailableError
from emoboost.models.emoforensics import EmoForensics, EmoForensicsConfig

EMOFORENSICS_FORMAT = "emoboost.emoforensics/1"
WEIGHTS = "emoforensics.safetensors"


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
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON ({exc})") from exc
    if config.get("format") != expected_format:
        raise ConfigError(f"{path}: format {config.get('format')!r}, expected {expected_format!r}")
    return config


def load_emoforensics(folder: str | Path) -> tuple[EmoForensics, dict[str, Any]]:
    """The model (in eval mode) and its ``config.json``."""
    config = read_config(folder, EMOFORENSICS_FORMAT)
    model = EmoForensics(from_dict(EmoForensicsConfig, config["model"], "model"), int(config["visual_dim"]), int(config["speech_dim"]))
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
    ]
    return "\n".join(lines)
