"""Hostile or broken detector folders are refused in one line, exit 2, before anything is built or run."""

import json
import math
import pickle

import detector_matrix
import pytest
import torch
from detector_fixture import tiny_detector, tiny_record

from emoboost import errors
from emoboost.cli import run
from emoboost.detector.detector import Detector


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return tiny_detector(tmp_path_factory.mktemp("detector") / "tiny")


@pytest.fixture(autouse=True)
def _nothing_unpickled(monkeypatch):
    for name in ("load", "loads"):
        monkeypatch.setattr(pickle, name, lambda *a, **k: pytest.fail("pickle used"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load used"))


@pytest.mark.parametrize("case", detector_matrix.CASES, ids=lambda c: c.name)
def test_hostile_folder_is_refused_in_one_line(good, tmp_path, case, monkeypatch, capsys):
    folder = detector_matrix.damaged_copy(good, tmp_path / "d", case)
    built = []
    monkeypatch.setattr(torch.nn.Module, "load_state_dict", lambda self, *a, **k: built.append(self))
    with pytest.raises(errors.ConfigError) as caught:
        Detector.from_pretrained(folder)
    message = str(caught.value)
    assert case.says in message and "\n" not in message and len(message) < 400
    assert not built  # refused before any weights were put in a network
    # the CLI: one line, exit 2, no traceback, before any input is looked at
    video = tmp_path / "never-read.mp4"
    assert run(["detect", str(video), "--model", str(folder)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error ") and case.says in lines[0]


def test_good_folder_loads_and_its_hash_covers_config(good):
    detector = Detector.from_pretrained(good)
    assert detector.weights_sha256 == json.loads((good / "config.json").read_text())["weights_sha256"]


def test_fusion_json_may_carry_keys_newer_readers_use(good, tmp_path):
    folder = detector_matrix.damaged_copy(
        good,
        tmp_path / "d",
        detector_matrix.Case(
            "extra", detector_matrix.fus(lambda f: f.update(prior=0.5, llr_calibration={"a": 1.0, "b": 0.0})), ""
        ),
    )
    assert Detector.from_pretrained(folder).fusion.inputs == ("emo", "rgb", "acoustic", "consistency")


def test_unhashed_folder_loads_only_when_allowed(good, tmp_path):
    folder = detector_matrix.damaged_copy(
        good, tmp_path / "d", detector_matrix.CASES[[c.name for c in detector_matrix.CASES].index("no hash")]
    )
    assert Detector.from_pretrained(folder, allow_unverified=True).weights_sha256


def test_trusted_hf_encoder_passes_the_check(good, tmp_path):
    from emoboost.detector.schema import allowed_encoders, check_encoders

    config = {"extract": {"encoders": {"visual": "hf:org/model", "speech": "egemaps"}}}
    with pytest.raises(errors.ConfigError, match="not one this machine trusts"):
        check_encoders(config, tmp_path, allowed_encoders())
    check_encoders(config, tmp_path, allowed_encoders(["hf:org/model"]))


@pytest.mark.parametrize("network", ["emo", "rgb", "acoustic"])
def test_non_finite_score_never_becomes_a_verdict(good, network):
    detector = Detector.from_pretrained(good)
    assert math.isfinite(detector.predict_record(tiny_record()).probability)
    module = {"emo": detector.emo.video_head, "rgb": detector.rgb, "acoustic": detector.acoustic}[network]
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.fill_(float("inf"))
    with pytest.raises(errors.ConfigError, match=f"{network} score is (nan|inf)"):
        detector.predict_record(tiny_record())


def test_cli_trusts_an_encoder_only_when_told(good, tmp_path, capfd):
    folder = detector_matrix.damaged_copy(
        good,
        tmp_path / "d",
        detector_matrix.Case(
            "hf", detector_matrix.cfg(lambda c: c["extract"]["encoders"].update(visual="hf:org/emotion-vit")), ""
        ),
    )
    missing = tmp_path / "missing.mp4"
    assert run(["detect", str(missing), "--model", str(folder)]) == 2
    assert "is not one this machine trusts" in capfd.readouterr().err
    # trusted: the folder loads and the encoder is looked for (tests run offline: it is not there, one line)
    run(["detect", str(missing), "--model", str(folder), "--trust-encoder", "hf:org/emotion-vit"])
    err = capfd.readouterr().err
    assert "not one this machine trusts" not in err and "'org/emotion-vit' not found" in err and err.count("\n") == 1


def test_combined_encoder_is_trusted_when_every_part_is(tmp_path):
    from emoboost.detector.schema import allowed_encoders, check_encoders

    combined = {"extract": {"encoders": {"visual": "faceapi-expression+fer-minixception", "speech": "egemaps"}}}
    check_encoders(combined, tmp_path, allowed_encoders())
    smuggled = {"extract": {"encoders": {"visual": "face-geometry+hf:org/model", "speech": "egemaps"}}}
    with pytest.raises(errors.ConfigError, match="not one this machine trusts"):
        check_encoders(smuggled, tmp_path, allowed_encoders())
    check_encoders(smuggled, tmp_path, allowed_encoders(["hf:org/model"]))
