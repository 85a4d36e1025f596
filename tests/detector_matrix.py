"""Hostile and broken detector folders, generated from a tiny valid one: each must be refused in one line.

A hostile author recomputes the folder's hash after editing (``rehash=True``), so that the check
under test is the schema, not the hash. Used by tests/test_detector_schema.py.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emoboost.detector.checkpoints import folder_hash
from emoboost.detector.files import HASH_KEY, hashed_files


def edit_config(folder: Path, change: Callable[[dict[str, Any]], Any], rehash: bool = True) -> None:
    config = json.loads((folder / "config.json").read_text())
    replaced = change(config)
    config = config if replaced is None else replaced
    if rehash and isinstance(config, dict):
        config[HASH_KEY] = folder_hash(folder, hashed_files(config), config, HASH_KEY)
    (folder / "config.json").write_text(json.dumps(config))


def edit_fusion(folder: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    fusion = json.loads((folder / "fusion.json").read_text())
    replaced = change(fusion)
    (folder / "fusion.json").write_text(json.dumps(fusion if replaced is None else replaced))
    rehash(folder)


def rehash(folder: Path) -> None:
    edit_config(folder, lambda config: None)


def write_and_rehash(name: str, data: bytes) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        (folder / name).write_bytes(data)
        if name != "config.json":
            rehash(folder)

    return change


def nan_weights(folder: Path) -> None:
    from safetensors.numpy import load_file, save_file

    state = load_file(str(folder / "emo.safetensors"))
    save_file(
        {k: np.full_like(v, np.nan) if v.dtype.kind == "f" else v for k, v in state.items()},
        str(folder / "emo.safetensors"),
    )
    rehash(folder)


def pickled_hf_encoder(folder: Path) -> None:
    """config.json points the visual encoder at a folder inside the detector whose weights are a pickle."""
    inner = folder / "encoder"
    inner.mkdir()
    (inner / "config.json").write_text('{"model_type": "vit"}')
    (inner / "pytorch_model.bin").write_bytes(b"\x80\x04cos\nsystem\n(S'echo pwned'\ntR.")
    edit_config(folder, lambda c: c["extract"]["encoders"].update(visual=f"hf:{inner}"))


def set_key(section: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        target = config
        for part in section.split(".") if section else []:
            target = target[part]
        target[key] = value

    return change


def drop_key(section: str, key: str) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        target = config
        for part in section.split(".") if section else []:
            target = target[part]
        del target[key]

    return change


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    damage: Callable[[Path], None]
    says: str  # a fragment the one-line message must hold


def cfg(change: Callable[[dict[str, Any]], Any], rehash_it: bool = True) -> Callable[[Path], None]:
    return lambda folder: edit_config(folder, change, rehash_it)


def fus(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    return lambda folder: edit_fusion(folder, change)


CASES = [
    # config.json
    Case(
        "config.json missing a section",
        cfg(drop_key("", "emo")),
        "'emo' must be a JSON object, found missing",
    ),
    Case(
        "config.json section of the wrong type",
        cfg(set_key("", "rgb", [1, 2])),
        "'rgb' must be a JSON object, found a list",
    ),
    Case("config.json not UTF-8", write_and_rehash("config.json", b'{"format": "\xff\xfe"}'), "not UTF-8"),
    Case("config.json a list", write_and_rehash("config.json", b"[1, 2, 3]"), "expected a JSON object, found list"),
    Case(
        "config.json truncated",
        write_and_rehash("config.json", b'{"format": "emoboost.detector/1", "ext'),
        "invalid JSON",
    ),
    Case("config.json with NaN", cfg(set_key("emo.settings", "dropout", float("nan"))), "NaN is not a JSON number"),
    Case("heads: 0", cfg(set_key("emo.settings", "heads", 0)), "'emo.settings.heads' = 0 is outside"),
    Case("negative size", cfg(set_key("emo.settings", "feedforward", -64)), "feedforward' = -64 is outside"),
    Case("d_model 10^9", cfg(set_key("emo.settings", "d_model", 10**9)), "d_model' = 1000000000 is outside"),
    Case(
        "window_tokens 10^9",
        cfg(set_key("emo.settings", "window_tokens", 10**9)),
        "window_tokens' = 1000000000 is outside",
    ),
    Case("size as a string", cfg(set_key("rgb.settings", "width", "8")), "'rgb.settings.width' must be an integer"),
    Case(
        "size as a float", cfg(set_key("acoustic.sizes", "n_mels", 64.5)), "'acoustic.sizes.n_mels' must be an integer"
    ),
    Case("d_model not divisible by heads", cfg(set_key("emo.settings", "d_model", 33)), "divisible"),
    Case("visual_dim missing", cfg(drop_key("emo.sizes", "visual_dim")), "'emo.sizes.visual_dim' is missing"),
    Case("dropout 2", cfg(set_key("rgb.settings", "dropout", 2)), "'rgb.settings.dropout' must be a number in [0, 1)"),
    Case(
        "huge acoustic channels",
        cfg(set_key("acoustic.settings", "channels", [8, 10**6, 8])),
        "'acoustic.settings.channels'",
    ),
    Case("unknown key", cfg(set_key("rgb.settings", "layers", 3)), "unknown key(s) layers"),
    Case(
        "config disagrees with the weights",
        cfg(set_key("rgb.settings", "width", 16)),
        "weights do not match config.json",
    ),
    Case("hf: encoder inside the folder (pickled weights)", pickled_hf_encoder, "is not one this machine trusts"),
    Case(
        "unknown encoder name",
        cfg(lambda c: c["extract"]["encoders"].update(speech="wav2vec-evil")),
        "is not one this machine trusts",
    ),
    Case("config.json of 5 MB", cfg(set_key("", "notes", "x" * (5 << 20))), "more than the"),
    Case(
        "config.json nested too deeply", write_and_rehash("config.json", b"[" * 100000 + b"]" * 100000), "invalid JSON"
    ),
    # the consistency detector's section (optional, but checked like the rest when there)
    Case(
        "consistency hidden 10^9",
        cfg(set_key("consistency.settings", "hidden", 10**9)),
        "'consistency.settings.hidden' = 1000000000 is outside",
    ),
    Case(
        "consistency face_dim missing",
        cfg(drop_key("consistency.sizes", "face_dim")),
        "'consistency.sizes.face_dim' is missing",
    ),
    Case("consistency sizes a list", cfg(set_key("consistency", "sizes", [1])), "'consistency.sizes' must be a JSON"),
    Case(
        "consistency dropout 2",
        cfg(set_key("consistency.settings", "dropout", 2)),
        "'consistency.settings.dropout' must be a number in [0, 1)",
    ),
    Case(
        "consistency config disagrees with its weights",
        cfg(set_key("consistency.settings", "embed_dim", 12)),
        "consistency.safetensors: weights do not match config.json",
    ),
    Case(
        "consistency weights missing",
        lambda f: (f / "consistency.safetensors").unlink(),
        "consistency.safetensors is missing",
    ),
    Case(
        "fusion reads consistency, config has none",
        cfg(drop_key("", "consistency")),
        "reads a consistency score; config.json has no consistency",
    ),
    # hash
    Case("no hash", cfg(drop_key("", HASH_KEY), rehash_it=False), "has no weights_sha256"),
    Case(
        "config.json edited after saving",
        cfg(set_key("", "model_id", "renamed"), rehash_it=False),
        "do not match the weights_sha256",
    ),
    Case(
        "README.md edited after saving",
        lambda f: (f / "README.md").write_text("# mine\n"),
        "do not match the weights_sha256",
    ),
    Case(
        "weights replaced after saving",
        lambda f: (f / "rgb.safetensors").write_bytes(b"\x80\x04 pickled?"),
        "do not match the weights_sha256",
    ),
    Case("weights file missing", lambda f: (f / "acoustic.safetensors").unlink(), "acoustic.safetensors is missing"),
    # weights
    Case("weights a pickle", write_and_rehash("rgb.safetensors", b"\x80\x04 pickled?"), "unreadable weights"),
    Case("weights all NaN", nan_weights, "NaN or infinite"),
    # fusion.json
    Case("fusion.json missing", lambda f: (f / "fusion.json").unlink(), "fusion.json is missing"),
    Case("fusion.json not UTF-8", write_and_rehash("fusion.json", b'{"format": "\xff"}'), "not UTF-8"),
    Case("fusion.json a list", write_and_rehash("fusion.json", b"[]"), "expected a JSON object, found list"),
    Case(
        "fusion weights of the wrong type",
        fus(set_key("", "weights", "1,2,3")),
        "'weights' must be a list of finite numbers",
    ),
    Case("fusion bias missing", fus(drop_key("", "bias")), "'bias' is missing"),
    Case("fewer weights than inputs", fus(set_key("", "weights", [1.0])), "1 weights for 4 inputs"),
    Case("fusion threshold 5", fus(set_key("", "threshold", 5)), "'threshold' must be a number in [0, 1]"),
    Case("fusion input unknown", fus(set_key("", "inputs", ["emo", "rgb", "vibes"])), "'inputs' must be a list"),
    Case("fusion input twice", fus(set_key("", "inputs", ["emo", "emo", "acoustic"])), "names a detector twice"),
    Case("fusion format wrong", fus(set_key("", "format", "other/9")), "fusion format"),
    Case(
        "fusion format of before calibrated LLRs",
        fus(set_key("", "format", "emoboost.fusion/1")),
        "retrain the detector",
    ),
    Case(
        "fusion LLR threshold NaN",
        write_and_rehash("fusion.json", b'{"llr_threshold": NaN}'),
        "NaN is not a JSON number",
    ),
    Case(
        "fusion LLR threshold a string",
        fus(set_key("", "llr_threshold", "0")),
        "'llr_threshold' must be a finite number",
    ),
]


def damaged_copy(good: Path, folder: Path, case: Case) -> Path:
    shutil.copytree(good, folder)
    case.damage(folder)
    return folder
