"""Detector directories: what a detector keeps and what belongs to the machine that loads it."""

import dataclasses

import detector_matrix

from emoboost.config import RuntimeConfig
from emoboost.detector.detector import Detector


def test_a_detector_does_not_carry_its_device_to_another_machine(tmp_path):
    # as saved on a GPU machine after Detector.to("cuda:1"), with eight threads
    detector = Detector.untrained()
    detector.extract_config = dataclasses.replace(
        detector.extract_config, runtime=RuntimeConfig(device="cuda:1", threads=8)
    )
    detector.save_pretrained(tmp_path / "d")
    loaded = Detector.from_pretrained(tmp_path / "d")
    assert loaded.extract_config.runtime == RuntimeConfig()  # cpu, library thread defaults
    assert (
        dataclasses.replace(loaded.extract_config, runtime=detector.extract_config.runtime) == detector.extract_config
    )
    assert loaded.to("cpu:0").extract_config.runtime.device == "cpu"


def test_scope_is_stated_and_old_fusions_are_refused(tmp_path):
    import json

    import numpy as np
    import pytest

    from emoboost.errors import ConfigError
    from emoboost.models.fusion import Fusion

    detector = Detector.untrained()
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(30), np.ones(90)].astype(int)
    detector.fusion = Fusion.fit(
        np.stack([labels + rng.normal(0, 1, 120)] * 3, axis=1), labels, ("emo", "rgb", "acoustic")
    )
    detector.meta["data"] = {"dataset": "synthav", "train_clips": 80, "val_clips": 20}
    folder = detector.save_pretrained(tmp_path / "d")
    config = json.loads((folder / "config.json").read_text())
    assert config["training_data"] == {
        "dataset": "synthav",
        "clips": 100,
        "generated": True,
        "calibration_real": 30,
        "calibration_fake": 90,
    }
    card = (folder / "README.md").read_text()
    assert "generated: yes" in card and "Cllr" in card and "Cllr_min" in card and "ECE at the balanced prior" in card
    warnings = Detector.from_pretrained(folder).scope_warnings()
    assert any("verdicts on real footage are not validated" in w for w in warnings)
    assert any("30 real / 90 fake" in w and "fewer than 50 per class" in w for w in warnings)
    old = json.loads((folder / "fusion.json").read_text())
    (folder / "fusion.json").write_text(json.dumps({**old, "format": "emoboost.fusion/1"}))
    detector_matrix.rehash(folder)  # as if saved so by an older emoboost (the hash covers fusion.json)
    with pytest.raises(ConfigError, match="fusion.json: .*not likelihood ratios.*retrain"):
        Detector.from_pretrained(folder)


def test_verdict_says_how_much_of_a_long_faceless_file_was_analysed(tmp_path):
    from detector_fixture import tiny_detector, tiny_record

    record = tiny_record()
    record.arrays["face_mask"][:] = False
    record.meta.update(source_duration_s=36000.0, face_scanned_s=1.0)  # a 10-hour file, given up after 1 s
    verdict = Detector.from_pretrained(tiny_detector(tmp_path / "d")).predict_record(record)
    assert "only the first 4 s of 36000 s analysed (media.max_duration_s)" in verdict.warnings
    assert len(verdict.warning_codes) == len(verdict.warnings)  # one stable code per warning, in order
    assert {"partly_analysed", "no_face_scanned", "unknown_training"} <= set(verdict.warning_codes)
    assert verdict.warnings[verdict.warning_codes.index("partly_analysed")].startswith("only the first 4 s")
    assert any(w.startswith("no face found in the first 1 s, the rest was not scanned") for w in verdict.warnings)


def test_the_package_exports_the_api_and_the_detector_folder_has_one_file_per_network():
    import emoboost
    from emoboost.detector import detector as api
    from emoboost.detector import verdict
    from emoboost.detector.files import HASHED_FILES
    from emoboost.models.networks import NETWORKS

    assert emoboost.Verdict is verdict.Verdict and emoboost.Detector is api.Detector
    assert [n.weights_file for n in NETWORKS] == ["emo.safetensors", "rgb.safetensors", "acoustic.safetensors"]
    assert set(HASHED_FILES) >= {n.weights_file for n in NETWORKS}


def test_the_lr_is_bounded_by_what_its_calibration_clips_support(tmp_path):
    import math

    import numpy as np
    import pytest
    from detector_fixture import tiny_detector, tiny_record

    from emoboost.calibration import elub_bounds
    from emoboost.models.fusion import Fusion

    detector = Detector.from_pretrained(tiny_detector(tmp_path / "d"))
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(8), np.ones(40)].astype(int)  # the quickstart's calibration size
    detector.fusion = Fusion.fit(
        np.stack([2 * labels - 1 + rng.normal(0, 1, 48)] * 3, axis=1), labels, ("emo", "rgb", "acoustic")
    )
    real, fake = detector.fusion.calibration_llrs()
    low, high = elub_bounds(np.r_[np.zeros(len(real)), np.ones(len(fake))], np.r_[real, fake])
    assert -math.log(41) - 1e-9 <= low < 0 < high <= math.log(9) + 1e-9  # never beyond the clip counts allow
    fitted = detector.fusion
    for bias, bound in ((-60.0, low), (60.0, high)):  # far beyond every calibration clip
        detector.fusion = dataclasses.replace(fitted, bias=bias)
        verdict = detector.predict_record(tiny_record())
        fused = verdict.scores["fused"]
        assert abs(fused) > 50 and verdict.llr == pytest.approx(bound, abs=1e-3)  # bounds are stored to 1e-4
        assert verdict.provenance["llr_unbounded"] == fused
        assert verdict.label == ("fake" if fused >= verdict.threshold else "real")
        assert verdict.provenance["llr_bounds"] == pytest.approx([low, high], abs=1e-3)
        shares = verdict.provenance["llr_contributions"]
        assert set(shares) == {"emo", "rgb", "acoustic", "bias"} and sum(shares.values()) == pytest.approx(
            fused, abs=1e-4
        )
        assert all(low - 1e-3 <= s.llr <= high + 1e-3 for s in verdict.segments)  # windows too
        assert any(
            w.startswith("the fused score (LR ") and "outside every calibration clip's" in w for w in verdict.warnings
        )
        assert all("; " not in w for w in verdict.warnings)  # CSV cells and the table's notes join warnings so
        assert any(
            w.startswith("reported as LR ") and "8 real / 40 fake calibration clips support (ELUB" in w
            for w in verdict.warnings
        )
    detector.fusion = fitted
    inside = detector.predict_record(tiny_record())
    assert (inside.llr == inside.scores["fused"]) == (not any("ELUB" in w for w in inside.warnings))


def test_a_detector_trained_only_on_generated_clips_gives_no_verbal_strength(tmp_path):
    from detector_fixture import tiny_detector, tiny_record

    from emoboost.calibration import verbal

    detector = Detector.from_pretrained(tiny_detector(tmp_path / "d"))
    assert detector.predict_record(tiny_record()).lr_verbal == verbal(detector.predict_record(tiny_record()).llr)
    detector.meta["data"] = {"dataset": "synthav", "train_clips": 10}
    verdict = detector.predict_record(tiny_record())
    assert verdict.lr_verbal == "not validated for this material" and isinstance(verdict.llr, float)  # the number stays
    assert any("no verbal strength is given" in w for w in verdict.warnings)


def test_driven_by_names_the_share_that_moved_the_llr_its_way():
    from emoboost.detector.case_report import driven_by

    assert driven_by({"emo": -0.5, "rgb": -0.3, "acoustic": -5.0, "bias": -0.3}) == "acoustic (-5.00 of -6.10)"
    assert (
        driven_by({"emo": -0.46, "rgb": 0.01, "acoustic": -0.1, "bias": 0.69}) == "the fusion's offset (+0.69 of +0.14)"
    )
    assert driven_by({"emo": 1.0, "rgb": -1.0, "bias": 0.0}) == "n/a"  # an LLR of 0 went nowhere


def test_the_operating_point_is_said_in_words_in_the_headline():
    from emoboost.detector.case_report import _verdict_html
    from emoboost.detector.verdict import operating_point_words

    point = {"rule": "bayes", "fpr": 0.5, "tpr": 0.825, "real_clips": 8, "fake_clips": 40}
    words = operating_point_words(point)
    assert words == "the threshold calls 4 of 8 real calibration clips (50%) fake and 33 of 40 fake ones (82%)"
    assert operating_point_words({"fpr": None, "tpr": None, "real_clips": 0, "fake_clips": 0}) == ""

    class Shown:  # the fields the headline reads
        label, llr, log10_lr, lr_verbal, prior, probability, threshold = "real", -1.0, -0.434, "weak", 0.5, 0.27, 0.0
        provenance = {"threshold_source": "Bayes decision at the prior", "operating_point": point}

    assert f"Operating point: {words}." in _verdict_html(Shown())
