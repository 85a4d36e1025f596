"""The Ray engine: each fold a Ray task on a local cluster of 2 workers, the same results as one process."""

import dataclasses
import shutil

import bench_records
import pytest

from emoboost.benchmark import runner as bench

pytest.importorskip("ray")


@pytest.fixture
def one_thread():
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_two_ray_workers_give_the_results_of_one_process(tmp_path, one_thread):
    folder = tmp_path / "records"
    config, _ = bench_records.build(folder)
    shutil.copy(folder / "folds" / "mix.csv", folder / "folds" / "mix2.csv")  # two folds to run side by side
    config = dataclasses.replace(
        config,
        categories=("mix", "mix2"),
        threads=1,  # one torch thread in both engines: the same arithmetic, bit for bit
        lowlevel_train=dataclasses.replace(config.lowlevel_train, epochs=2),
        consistency=False,
        bootstrap=50,
    )
    local = bench.run_benchmark(config, tmp_path / "local")
    stages = []
    ray = bench.run_benchmark(config, tmp_path / "ray", lambda c, s: stages.append((c, s)), engine="ray", workers=2)
    assert ray.fingerprints == local.fingerprints
    assert {c: {r: m["auc"] for r, m in rows.items()} for c, rows in ray.folds.items()} == {
        c: {r: m["auc"] for r, m in rows.items()} for c, rows in local.folds.items()
    }
    assert ray.gain == local.gain
    assert sorted(c for c, s in stages if s == "done (ray)") == ["mix", "mix2"]
    assert (tmp_path / "ray" / "folds" / "mix2.json").is_file() and (tmp_path / "ray" / "results.md").is_file()
    # a rerun reuses the folds the tasks wrote, by either engine
    again = bench.run_benchmark(config, tmp_path / "ray", lambda c, s: stages.append((c, s)))
    assert again.folds == ray.folds and stages[-1][1] == "done earlier (skipped)"
