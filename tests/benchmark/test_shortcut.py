"""The shortcut-only baseline reads leading silence and duration, and trimming takes them away."""

import bench_records
import numpy as np
import pytest

from emoboost.benchmark.shortcut import FEATURES, features_of, fit_shortcut
from emoboost.features.store import FeatureStore
from emoboost.metrics import auc
from emoboost.training.clips import load_fold


def _splits(folder, silent_fakes):
    config, rows = bench_records.build(folder, silent_fakes=silent_fakes)
    data = load_fold(rows, FeatureStore(config.store), folder / "data", 5, config.silence_db)
    return data.splits


def _test_auc(splits, trimmed):
    model = fit_shortcut(splits["train"], trimmed=trimmed)
    test = splits["test"]
    return auc(np.array([c.row.label for c in test]), model.logits(features_of(test, trimmed)))


def test_the_shortcut_row_finds_silent_fakes_and_trimming_takes_it_away(tmp_path):
    """Fakes with 0.8 s of silence put before them (FakeAVCeleb's shortcut): the baseline separates them on the
    lead-in and the length alone; on the trimmed clips every input is equal and it falls to chance."""
    splits = _splits(tmp_path, silent_fakes=20)
    real = next(c for c in splits["test"] if c.row.label == 0)
    fake = next(c for c in splits["test"] if c.row.label == 1)
    assert real.shortcut_features() == pytest.approx((0.2, 0.2, 2.0))  # 5 silent frames, 50 frames at 25 fps
    assert fake.shortcut_features() == pytest.approx((1.0, 1.0, 2.8))
    assert real.shortcut_features(trimmed=True) == fake.shortcut_features(trimmed=True) == pytest.approx((0, 0, 1.8))
    assert _test_auc(splits, trimmed=False) == 1.0
    assert _test_auc(splits, trimmed=True) == 0.5
    assert len(fit_shortcut(splits["train"]).to_dict()["weights"]) == len(FEATURES)


def test_without_the_shortcut_the_row_is_at_chance(tmp_path):
    splits = _splits(tmp_path, silent_fakes=0)  # every clip starts with the same 5 silent frames
    assert _test_auc(splits, trimmed=False) == 0.5
