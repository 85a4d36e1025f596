"""The quickstart and the command line away from the checkout: configs come from the package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emoboost import errors
from emoboost.cli import run

REPO = Path(__file__).resolve().parents[2]


def test_quickstart_checks_every_config_before_the_long_steps(tmp_path, monkeypatch, capfd):
    from emoboost.config import load_yaml

    monkeypatch.chdir(tmp_path)
    import emoboost.data.synthav as synthav

    monkeypatch.setattr(synthav, "generate", lambda *a, **k: (_ for _ in ()).throw(AssertionError("long step started")))
    broken = {**load_yaml("configs/benchmark/synthav.yaml"), "emo_config": "configs/emoforensics/missing.yaml"}
    (tmp_path / "configs" / "benchmark").mkdir(parents=True)  # a local copy takes precedence over the packaged one
    (tmp_path / "configs" / "benchmark" / "synthav.yaml").write_text(yaml.safe_dump(broken))
    assert run(["quickstart", "--out", "q"]) == 2
    assert "configs/emoforensics/missing.yaml: config file not found" in capfd.readouterr().err
    assert not (tmp_path / "q").exists()


def test_quickstart_config_is_found_from_an_empty_folder(tmp_path, monkeypatch):
    from emoboost.benchmark.quickstart import check_quickstart

    monkeypatch.chdir(tmp_path)
    settings = check_quickstart(Path("q"))
    assert settings.name == "synthav" and settings.store == str(Path("q") / "features")
    assert settings.emo_config == "configs/emoforensics/synthav.yaml"  # read from the package, not from here
    assert not (tmp_path / "configs").exists()


def test_commands_run_from_another_folder(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "EMOBOOST_CACHE": str(tmp_path / "cache")}

    def emoboost(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "emoboost.cli", *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    # `train` reads its default config (configs/emoforensics/full.yaml) first, then fails on the missing fold file
    trained = emoboost("train", "--manifest", "fold.csv", "--store", "store", "--out", "out")
    assert trained.returncode == 2 and trained.stderr.strip() == "error fold.csv: manifest not found"
    # `detect` defaults to the named detector the quickstart saves in the user cache, not to a folder here
    detected = emoboost("detect", "clip.mp4")
    assert detected.returncode == 2 and "quickstart: not a detector directory" in detected.stderr
    assert "run `emoboost quickstart` to train one" in detected.stderr


def test_help_shows_placeholders_not_python_types(capfd):
    for command in ([], ["extract"], ["detect"], ["quickstart"], ["benchmark"]):
        assert run([*command, "--help"]) == 0
        text = capfd.readouterr().out
        assert not any(noise in text for noise in ("<bool>", "<list[str]>", "<str>", "<path>", "{inputs}", "<int")), (
            text
        )
    run(["extract", "--help"])
    text = capfd.readouterr().out
    assert "INPUTS..." in text and "PATH" in text and "emoboost[ray]" in text


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.ConfigError("x.yaml: config file not found"), 2),
        (errors.WeightsUnavailableError("w.safetensors: unreadable weights"), 2),
        (errors.DataError("fold RVFA: the val split needs real and fake clips with features (0 found)"), 1),
        (errors.StoreError("a.mp4: no features in store"), 1),
        (errors.NoFaceError("a.mp4"), 1),
    ],
)
def test_each_error_class_has_one_exit_code(error, code, tmp_path, monkeypatch, capfd):
    import emoboost.benchmark.quickstart

    monkeypatch.setattr(emoboost.benchmark.quickstart, "check_quickstart", lambda out: (_ for _ in ()).throw(error))
    assert run(["quickstart", "--out", str(tmp_path / "q")]) == code == type(error).exit_code
    assert capfd.readouterr().err.strip() == f"error {error}"
