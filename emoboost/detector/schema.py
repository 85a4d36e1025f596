"""What a detector folder may contain, checked as data before anything is allocated or loaded.

A detector folder comes from elsewhere (a colleague, a download), so ``config.json`` and
``fusion.json`` are treated like any other untrusted input: every size the networks are
built from has a range (:data:`SIZE_LIMITS`: the largest value any emoboost detector needs,
far below what would exhaust a machine), ``fusion.json`` has a schema (:data:`FUSION_SCHEMA`:
one line per key, so a new key is one more line; keys it does not name are kept for newer
readers), encoders are limited to the names the user allows (:func:`check_encoders`), and the
shapes the networks would have are compared with the safetensors headers on torch's ``meta``
device (:func:`check_weight_shapes`), so a config that disagrees with its weights fails before
a single parameter is allocated. Every failure is a one-line
:class:`~emoboost.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from emoboost.errors import ConfigError
from emoboost.models.networks import NETWORK_NAMES, NETWORKS

# (minimum, maximum) of every size a detector's networks are built from, per config.json section
SIZE_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    "emo.settings": {
        "d_model": (1, 4096),
        "heads": (1, 64),
        "intra_layers": (0, 48),
        "inter_layers": (0, 48),
        "feedforward": (1, 16384),
        "alignment_dim": (1, 4096),
        "token_frames": (1, 250),  # 10 s per token at 25 fps
        "window_tokens": (1, 3000),  # 10 minutes at 5 Hz
        "hop_tokens": (1, 3000),
    },
    "emo.sizes": {"visual_dim": (1, 65536), "speech_dim": (1, 65536)},
    "rgb.settings": {"input_size": (32, 1024), "crops_per_video": (1, 4096), "width": (4, 1024)},
    "acoustic.settings": {"segment_frames": (16, 60000), "hop_frames": (1, 60000), "segments_per_video": (1, 4096)},
    "acoustic.sizes": {"n_mels": (8, 512)},
    "consistency.settings": {
        "hidden": (1, 4096),
        "embed_dim": (1, 4096),
        "kernel": (1, 63),
        "window_tokens": (1, 3000),
        "hop_tokens": (1, 3000),
        "min_shift_tokens": (1, 3000),
        "token_frames": (1, 250),
    },
    "consistency.sizes": {"face_dim": (1, 65536), "voice_dim": (1, 65536)},
}
CONSISTENCY_SIZES = ("face_dim", "voice_dim")
REQUIRED_SIZES = {f"{n.name}.sizes": n.sizes for n in NETWORKS}
CHANNEL_LIMIT = 1024  # acoustic CNN channels per block
DROPOUT_KEYS = {f"{name}.settings": "dropout" for name in NETWORK_NAMES}
REQUIRED_SECTIONS = ("extract", *NETWORK_NAMES, *(f"{name}.settings" for name in NETWORK_NAMES))
FUSION_INPUTS = (*NETWORK_NAMES, "consistency", "external")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _section(config: dict[str, Any], dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def check_detector_config(config: dict[str, Any], path: Path) -> None:
    """Required sections and every network size within :data:`SIZE_LIMITS` (types, ranges, upper bounds)."""
    for dotted in REQUIRED_SECTIONS:
        value = _section(config, dotted)
        if not isinstance(value, dict):
            found = "missing" if value is None else f"a {type(value).__name__}"
            raise ConfigError(f"{path}: '{dotted}' must be a JSON object, found {found}")
    for name in NETWORK_NAMES:
        if not isinstance(config[name].get("sizes", {}), dict):
            raise ConfigError(f"{path}: '{name}.sizes' must be a JSON object")
    consistency = "consistency" in config
    if consistency:  # optional: the real-only consistency detector
        for dotted in ("consistency", "consistency.settings", "consistency.sizes"):
            if not isinstance(_section(config, dotted), dict):
                raise ConfigError(f"{path}: '{dotted}' must be a JSON object")
        dropout = config["consistency"]["settings"].get("dropout", 0.0)
        if not _is_number(dropout) or not 0 <= dropout < 1:
            raise ConfigError(f"{path}: 'consistency.settings.dropout' must be a number in [0, 1), found {dropout!r}")
    required = {**REQUIRED_SIZES, **({"consistency.sizes": CONSISTENCY_SIZES} if consistency else {})}
    for dotted, limits in SIZE_LIMITS.items():
        section = _section(config, dotted) or {}
        for key, (low, high) in limits.items():
            if key not in section:
                if key in required.get(dotted, ()):
                    raise ConfigError(f"{path}: '{dotted}.{key}' is missing")
                continue  # a missing optional key takes its default; from_dict rejects unknown ones
            value = section[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{path}: '{dotted}.{key}' must be an integer, found {value!r}")
            if not low <= value <= high:
                raise ConfigError(f"{path}: '{dotted}.{key}' = {value} is outside [{low}, {high}]")
    for dotted, key in DROPOUT_KEYS.items():
        value = _section(config, dotted).get(key, 0.0)
        if not _is_number(value) or not 0 <= value < 1:
            raise ConfigError(f"{path}: '{dotted}.{key}' must be a number in [0, 1), found {value!r}")
    channels = config["acoustic"]["settings"].get("channels", [1])
    if not isinstance(channels, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= CHANNEL_LIMIT for c in channels
    ):
        raise ConfigError(
            f"{path}: 'acoustic.settings.channels' must be a list of integers in [1, {CHANNEL_LIMIT}], "
            f"found {channels!r}"
        )
    model = config["emo"]["settings"]
    if model.get("d_model", 1) % model.get("heads", 1):
        raise ConfigError(
            f"{path}: 'emo.settings.d_model' ({model['d_model']}) must be divisible by 'heads' ({model['heads']})"
        )


def _list_of(kind: Callable[[Any], bool], low: int = 1, high: int = 64) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and low <= len(value) <= high and all(kind(item) for item in value)


# key -> (required, check, what a valid value is). Keys not named here are accepted and left to the reader.
FUSION_SCHEMA: dict[str, tuple[bool, Callable[[Any], bool], str]] = {
    "format": (True, lambda v: isinstance(v, str), "a format tag"),
    "inputs": (
        True,
        _list_of(lambda v: v in FUSION_INPUTS),
        f"a list of detector names from {', '.join(FUSION_INPUTS)}",
    ),
    "weights": (True, _list_of(_is_number), "a list of finite numbers"),
    "bias": (True, _is_number, "a finite number"),
    "llr_threshold": (True, _is_number, "a finite number (natural-log LR)"),
    "threshold": (False, lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "operating_point": (True, lambda v: isinstance(v, dict), "a JSON object"),
    "method": (False, lambda v: v in ("logistic", "mean"), "logistic or mean"),
    "calibration": (False, lambda v: isinstance(v, dict), "a JSON object"),
    "subsets": (False, lambda v: isinstance(v, dict), "a JSON object (the fusions of the scores a clip may have)"),
}


def check_fusion(data: Any, path: Path) -> None:
    """``fusion.json`` against :data:`FUSION_SCHEMA`, and one weight per distinct input."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, found {type(data).__name__}")
    for key, (required, valid, what) in FUSION_SCHEMA.items():
        if key not in data:
            if required:
                raise ConfigError(f"{path}: '{key}' is missing (expected {what})")
        elif not valid(data[key]):
            raise ConfigError(f"{path}: '{key}' must be {what}, found {_short(data[key])}")
    inputs, weights = data["inputs"], data["weights"]
    if len(set(inputs)) != len(inputs):
        raise ConfigError(f"{path}: 'inputs' names a detector twice ({inputs})")
    if len(weights) != len(inputs):
        raise ConfigError(f"{path}: {len(weights)} weights for {len(inputs)} inputs")


def check_encoders(config: dict[str, Any], path: Path, allowed: Collection[str]) -> None:
    """The detector's feature encoders must be names the user allows (built-in ones, or listed by the user).

    An ``hf:`` name in a detector's config can point at any folder or repository, whose code and
    weights would then be loaded: it is never trusted because a detector says so."""
    described = config.get("encoders", {})
    if not isinstance(described, dict) or not all(isinstance(v, str) for v in described.values()):
        raise ConfigError(f"{path}: 'encoders' must be a JSON object of encoder names")
    encoders = _section(config, "extract.encoders")
    if encoders is None:
        return
    if not isinstance(encoders, dict):
        raise ConfigError(f"{path}: 'extract.encoders' must be a JSON object")
    for role in ("visual", "speech"):
        name = encoders.get(role)
        if name is None:
            continue
        if not isinstance(name, str):
            raise ConfigError(f"{path}: 'extract.encoders.{role}' must be a string, found {_short(name)}")
        if name not in allowed and not all(part in allowed for part in name.split("+")):  # a+b: every part allowed
            raise ConfigError(
                f"{path}: {role} encoder {_short(name)} is not one this machine trusts "
                f"(built-in: {', '.join(sorted(a for a in allowed if not a.startswith('hf:')))}); "
                "if you trust it, allow it with --trust-encoder (Python: trusted_encoders=)"
            )


def check_weight_shapes(build: Callable[[], Any], weights: Path) -> None:
    """Build the network on torch's ``meta`` device (no memory) and compare its tensors with the file's header."""
    import torch
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            stored = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except (OSError, ValueError, SafetensorError) as exc:
        raise ConfigError(f"{weights}: unreadable weights ({_first_line(exc)})") from exc
    with torch.device("meta"):
        expected = {name: tuple(tensor.shape) for name, tensor in build().state_dict().items()}
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    if missing or extra:
        what = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
        raise ConfigError(
            f"{weights}: weights do not match config.json ({what}; {len(missing)} missing, {len(extra)} unexpected)"
        )
    for name, shape in expected.items():
        if stored[name] != shape:
            raise ConfigError(
                f"{weights}: weights do not match config.json "
                f"({name} is {list(stored[name])}, the config needs {list(shape)})"
            )


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def allowed_encoders(trusted: Sequence[str] = ()) -> set[str]:
    """Built-in encoder names, the user's own configuration's encoders, and ``trusted``."""
    from emoboost.config import load_extract_config
    from emoboost.encoders import SPEECH_ENCODERS, VISUAL_ENCODERS

    own = load_extract_config().encoders
    return {*VISUAL_ENCODERS, *SPEECH_ENCODERS, own.visual, own.speech, *trusted}
