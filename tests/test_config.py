from pathlib import Path

import pytest

import dataclasses

import yaml

from emoboost.config import ExtractConfig, RuntimeConfig, from_dict, load_extract_config, resolve_device, to_dict
from emoboost.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_default_yaml_equals_code_defaults():
    assert load_extract_config(ROOT / "configs" / "default.yaml") == ExtractConfig()
    # and it spells out every setting (a key left out would still load, as its default)
    written = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    assert {section: set(values) for section, values in written.items()} == {section: set(values) for section, values in to_dict(ExtractConfig()).items()}


def test_round_trip_through_plain_data():
    config = ExtractConfig()
    assert from_dict(ExtractConfig, to_dict(config)) == config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"faces": {"strid": 3}}, "faces: unknown key(s) strid"),
        ({"faces": {"stride": "5"}}, "faces.stride: expected an integer"),
        ({"faces": {"stride": 0}}, "faces.stride must be >= 1"),
        ({"faces": {"thresholds": [0.6, 0.7]}}, "faces.thresholds: expected 3 values"),
        ({"media": {"min_duration_s": True}}, "media.min_duration_s: expected a number"),
    ],
)
def test_invalid_values_are_named(data, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        from_dict(ExtractConfig, data)


def test_config_file_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("faces: {stride: -1}\n")
    with pytest.raises(ConfigError, match="bad.yaml: faces.stride must be >= 1"):
        load_extract_config(path)
    with pytest.raises(ConfigError, match="config file not found"):
        load_extract_config(tmp_path / "missing.yaml")


def test_devices_are_checked_against_this_machine(monkeypatch):
    import torch

    assert resolve_device("cpu") == "cpu" and resolve_device("cpu:0") == "cpu"
    with pytest.raises(ConfigError, match="'gpu0': not a device name"):
        resolve_device("gpu0")
    with pytest.raises(ConfigError, match="runs on cpu or cuda, not mps"):
        resolve_device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="cuda: no CUDA device is visible"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda") == "cuda" and resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(ConfigError, match="cuda:3: torch sees 1 CUDA device"):
        resolve_device("cuda:3")


def test_extractor_refuses_a_device_this_machine_lacks(monkeypatch):
    import torch

    from emoboost.features.extract import FeatureExtractor

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA device"):
        FeatureExtractor(dataclasses.replace(ExtractConfig(), runtime=RuntimeConfig(device="cuda")))
