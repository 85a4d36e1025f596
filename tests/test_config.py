import dataclasses
from pathlib import Path

import pytest
import yaml

from emoboost.config import (
    ExtractConfig,
    RuntimeConfig,
    from_dict,
    load_extract_config,
    load_yaml,
    packaged_configs,
    resolve_device,
    to_dict,
)
from emoboost.errors import ConfigError

PACKAGED = Path(str(packaged_configs()))
CROSS_DATASET = "cross_dataset"  # configs/benchmark/cross_dataset_*.yaml: cross-dataset evaluations, not benchmarks


def test_shipped_default_yaml_equals_code_defaults():
    assert load_extract_config(PACKAGED / "default.yaml") == ExtractConfig()
    # and it spells out every setting (a key left out would still load, as its default)
    written = yaml.safe_load((PACKAGED / "default.yaml").read_text())
    assert {section: set(values) for section, values in written.items()} == {
        section: set(values) for section, values in to_dict(ExtractConfig()).items()
    }


def test_config_references_work_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here: the packaged file is read
    assert load_extract_config("configs/default.yaml") == ExtractConfig()
    local = tmp_path / "configs" / "default.yaml"  # a local copy takes precedence over the packaged one
    local.parent.mkdir()
    local.write_text("faces: {stride: 3}\n")
    assert load_extract_config("configs/default.yaml").faces.stride == 3
    with pytest.raises(ConfigError, match="configs/nope.yaml: config file not found"):
        load_yaml("configs/nope.yaml")


def test_every_shipped_config_and_its_references_load(tmp_path, monkeypatch):
    from emoboost.benchmark.config import load_benchmark_config

    monkeypatch.chdir(tmp_path)
    shipped = sorted(PACKAGED.rglob("*.yaml"))
    assert {p.relative_to(PACKAGED).parts[0] for p in shipped} >= {
        "default.yaml",
        "benchmark",
        "emoforensics",
        "protocols",
    }
    for path in shipped:
        assert isinstance(load_yaml(f"configs/{path.relative_to(PACKAGED).as_posix()}"), dict)
    # every shipped config is valid as what it is, not only readable YAML (a 3-value protocol once slipped by)
    from emoboost.data.protocols import load_protocol
    from emoboost.models.lowlevel import RGBConfig
    from emoboost.training.detector import DetectorConfigs

    for path in sorted((PACKAGED / "protocols").glob("*.yaml")):
        load_protocol(f"configs/protocols/{path.name}").validate()
    for path in sorted((PACKAGED / "emoforensics").glob("*.yaml")):
        configs = DetectorConfigs.from_files(f"configs/emoforensics/{path.name}", RGBConfig(), None, None)
        configs.emo.validate()
        configs.emo_train.validate()
    for path in sorted((PACKAGED / "benchmark").glob("*.yaml")):
        if path.stem == "anchors":
            continue
        if path.stem.startswith(CROSS_DATASET):  # a cross-dataset config names the benchmark recipe it trains with
            from emoboost.benchmark.cross_config import load_cross_dataset_config

            load_benchmark_config(load_cross_dataset_config(f"configs/benchmark/{path.name}").train.benchmark)
            continue
        settings = load_benchmark_config(f"configs/benchmark/{path.name}")
        settings.validate()
        for reference in (settings.emo_config, *settings.ablations, settings.anchors):
            load_yaml(reference)  # e.g. configs/emoforensics/full.yaml, found without a checkout
        if settings.protocol:
            load_protocol(settings.protocol).validate()


def test_the_package_data_covers_every_shipped_config():
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    setuptools = pyproject["tool"]["setuptools"]
    assert setuptools["package-dir"]["emoboost.configs"] == "configs" and "emoboost.configs" in setuptools["packages"]
    patterns = setuptools["package-data"]["emoboost.configs"]
    covered = {p for pattern in patterns for p in PACKAGED.glob(pattern)}
    assert set(PACKAGED.rglob("*.yaml")) == covered


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


def test_the_shipped_configs_are_one_copy_the_checkouts_configs_folder(tmp_path, monkeypatch):
    from emoboost.config import packaged_configs, resolve_config

    monkeypatch.chdir(tmp_path)  # found from any folder
    shipped = Path(str(packaged_configs()))
    assert shipped.resolve() == (Path(__file__).resolve().parents[1] / "configs").resolve()
    assert resolve_config("configs/benchmark/synthav.yaml").is_file()
    assert not (Path(__file__).resolve().parents[1] / "emoboost" / "configs").exists()


def test_two_ablations_with_one_row_name_are_refused():
    from emoboost.benchmark.config import BenchmarkConfig

    config = BenchmarkConfig(
        ablations=("configs/emoforensics/intra_only.yaml", "configs/emoforensics/fakeavceleb/intra_only.yaml")
    )
    with pytest.raises(ConfigError, match="same row name"):
        config.validate()


def test_overrides_are_checked_like_a_files_values_and_reach_nested_sections():
    from emoboost.benchmark.config import load_benchmark_config

    config = ExtractConfig().override(encoders__visual="fer-minixception", media=None)
    assert config.encoders.visual == "fer-minixception" and config.media == ExtractConfig().media
    with pytest.raises(ConfigError, match="BenchmarkConfig.repeats"):
        load_benchmark_config("configs/benchmark/synthav.yaml").override(repeats="two")
    with pytest.raises(ConfigError, match="unknown"):
        ExtractConfig().override(encoders__visaul="fer-minixception")


@pytest.mark.parametrize("changes", [{"bootstrap": 10**12}, {"repeats": 10**6}, {"bootstrap": -1}])
def test_benchmark_counts_are_bounded_at_parse_time(changes):
    from emoboost.benchmark.config import load_benchmark_config

    with pytest.raises(ConfigError, match="benchmark."):
        load_benchmark_config("configs/benchmark/synthav.yaml").override(**changes)


def test_manifest_rows_that_leave_the_dataset_root_are_refused(tmp_path):
    from emoboost.media.inputs import expand_inputs

    manifest = tmp_path / "data" / "manifest.csv"
    manifest.parent.mkdir()
    for text in ("../../etc/passwd", "/etc/passwd", "a/../../x.mp4"):
        manifest.write_text(f"path\n{text}\n")
        with pytest.raises(ConfigError, match="line 2: path .* leaves the dataset root"):
            expand_inputs([str(manifest)])
        assert expand_inputs([str(manifest)], allow_outside_root=True)  # read when the user says so
    manifest.write_text("path\nsub/../clip.mp4\n")
    assert expand_inputs([str(manifest)]) == [tmp_path / "data" / "sub/../clip.mp4"]


ABLATED = {"modalities", "intra_layers", "inter_layers"}  # what an ablation may change; the rest must match


def test_every_shipped_ablation_matches_its_benchmarks_model_except_the_ablated_part():
    """An ablation row is an ablation only when it is the benchmark's own model with one part taken away: the
    SynthAV ablations once trained the full-size model (d 256, 40-token windows, lr 3e-4) beside a d 64 one."""
    import dataclasses

    from emoboost.benchmark.config import load_benchmark_config
    from emoboost.config import load_section
    from emoboost.models.emoforensics import EmoForensicsConfig
    from emoboost.training.loop import TrainConfig

    for path in sorted((PACKAGED / "benchmark").glob("*.yaml")):
        if path.stem == "anchors" or path.stem.startswith(CROSS_DATASET):
            continue
        settings = load_benchmark_config(f"configs/benchmark/{path.name}")
        model = dataclasses.asdict(load_section(EmoForensicsConfig, settings.emo_config, "model"))
        train = load_section(TrainConfig, settings.emo_config, "train")
        ablations = (*settings.ablations, *settings.ablation_set)
        assert ablations, path.name  # every shipped benchmark has a matched ablation set
        for ablation in ablations:
            other = dataclasses.asdict(load_section(EmoForensicsConfig, ablation, "model"))
            changed = {k for k in model if model[k] != other[k]}
            assert changed and changed <= ABLATED, (path.name, ablation, changed)
            assert load_section(TrainConfig, ablation, "train") == train, (path.name, ablation)


def test_a_config_can_start_from_another(tmp_path):
    from emoboost.config import load_yaml

    (tmp_path / "a.yaml").write_text("model: {d_model: 64, dropout: 0.2}\ntrain: {lr: 0.001}\n")
    (tmp_path / "b.yaml").write_text(f"base: {tmp_path / 'a.yaml'}\nmodel: {{inter_layers: 0}}\n")
    assert load_yaml(tmp_path / "b.yaml") == {
        "model": {"d_model": 64, "dropout": 0.2, "inter_layers": 0},
        "train": {"lr": 0.001},
    }
    (tmp_path / "a.yaml").write_text(f"base: {tmp_path / 'b.yaml'}\n")
    with pytest.raises(ConfigError, match="form a cycle"):
        load_yaml(tmp_path / "b.yaml")
    (tmp_path / "c.yaml").write_text("base: 3\n")
    with pytest.raises(ConfigError, match="base must name a config file"):
        load_yaml(tmp_path / "c.yaml")


def test_the_ablations_flag_adds_the_benchmarks_own_matched_set():
    from emoboost.benchmark.config import BenchmarkConfig, load_benchmark_config

    synthav = load_benchmark_config("configs/benchmark/synthav.yaml").with_ablation_set()
    assert [a.split("/")[-2] for a in synthav.ablations] == ["synthav"] * 4
    assert synthav.emo_row_names()[1:] == ["emo:visual_only", "emo:speech_only", "emo:intra_only", "emo:inter_only"]
    fakeavceleb = load_benchmark_config("configs/benchmark/fakeavceleb.yaml")
    assert fakeavceleb.with_ablation_set().ablations == fakeavceleb.ablations  # its matched set, not doubled
    with pytest.raises(ConfigError, match="names no ablations"):
        BenchmarkConfig(name="bare", folds="f", store="s").with_ablation_set()
