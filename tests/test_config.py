from pathlib import Path

import pytest

from emoboost.config import ExtractConfig, from_dict, load_extract_config, to_dict
from emoboost.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_default_yaml_equals_code_defaults():
    assert load_extract_config(ROOT / "configs" / "default.yaml") == ExtractConfig()


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
