"""External score files are checked against every fold's calibration and test clips before anything trains."""

import dataclasses

import pytest

from emoboost.benchmark import runner as bench
from emoboost.benchmark.config import BenchmarkConfig
from emoboost.data.manifest import CATEGORIES, ManifestRow, write_manifest
from emoboost.errors import ConfigError


def _folds(folder):
    rows = []
    for split in ("train", "val", "calib", "test"):
        for k in range(2):
            rows.append(
                ManifestRow(f"real/{split}{k}.mp4", 0, "RVRA", "real", "real", f"id{k}", (f"id{k}",), split=split)
            )
    folder.mkdir()
    for category in CATEGORIES:
        write_manifest(folder / f"{category}.csv", rows)
    return rows


def _scores(folder, rows, skip=()):
    folder.mkdir()
    for category in CATEGORIES:
        lines = ["path,score"] + [f"/other/{r.path},0.5" for r in rows if (category, r.path) not in skip]
        (folder / f"{category}.csv").write_text("\n".join(lines) + "\n")


def test_a_fold_without_scores_for_its_test_clips_stops_before_training(tmp_path, monkeypatch):
    rows = _folds(tmp_path / "folds")
    _scores(tmp_path / "avad", rows, skip={("FVFA-GAN", "real/test1.mp4")})
    config = BenchmarkConfig(folds=str(tmp_path / "folds"), store=str(tmp_path / "store"), anchors="")
    config = dataclasses.replace(config, external=(f"avad={tmp_path / 'avad'}",))
    monkeypatch.setattr(bench, "run_repeat", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(ConfigError, match=r"FVFA-GAN\.csv: no score .* for 1 of the 2 test clips of fold FVFA-GAN"):
        bench.run_benchmark(config, tmp_path / "out")


def test_complete_score_files_pass(tmp_path):
    rows = _folds(tmp_path / "folds")
    _scores(tmp_path / "avad", rows, skip={("RVFA", "real/train0.mp4")})  # train clips need no score
    config = BenchmarkConfig(folds=str(tmp_path / "folds"), external=(f"avad={tmp_path / 'avad'}",))
    bench.check_externals(config, tmp_path / "out", config.externals())


def test_a_network_seed_the_benchmark_would_ignore_is_refused():
    """Every network of a benchmark trains with benchmark.seed; a lowlevel_train.seed of its own would be dropped
    silently, so it is refused by name (0, the default, means "not set")."""
    from emoboost.training.loop import TrainConfig

    BenchmarkConfig(seed=3, lowlevel_train=TrainConfig(seed=0)).validate()
    BenchmarkConfig(seed=3, lowlevel_train=TrainConfig(seed=3)).validate()
    with pytest.raises(ConfigError, match=r"lowlevel_train\.seed \(1\) is not used: .* benchmark\.seed \(0\)"):
        BenchmarkConfig(lowlevel_train=TrainConfig(seed=1)).validate()
