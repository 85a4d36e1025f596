"""Detector directories: what a detector keeps and what belongs to the machine that loads it."""

import dataclasses

from emoboost.api import Detector
from emoboost.config import RuntimeConfig


def test_a_detector_does_not_carry_its_device_to_another_machine(tmp_path):
    # as saved on a GPU machine after Detector.to("cuda:1"), with eight threads
    detector = Detector.untrained()
    detector.extract_config = dataclasses.replace(detector.extract_config, runtime=RuntimeConfig(device="cuda:1", threads=8))
    detector.save_pretrained(tmp_path / "d")
    loaded = Detector.from_pretrained(tmp_path / "d")
    assert loaded.extract_config.runtime == RuntimeConfig()  # cpu, library thread defaults
    assert dataclasses.replace(loaded.extract_config, runtime=detector.extract_config.runtime) == detector.extract_config
    assert loaded.to("cpu:0").extract_config.runtime.device == "cpu"
