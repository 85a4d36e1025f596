"""Fold results are typed and round-trip through their JSON file; a file of another format is refused whole."""

import json

import pytest

from emoboost.benchmark.results import FoldResult
from emoboost.errors import ConfigError


def _fold(**changes) -> FoldResult:
    fields = dict(
        category="RVFA",
        seed=0,
        training={"emo": {"label": "label", "best_epoch": 1, "val_auc": 0.5, "epochs": 1}},
        fusions={},
        metrics={"emo": {"auc": 0.5, "probabilities": [0.1, 0.9]}},
        trimmed={"emo": {"auc": 0.5}},
        trim={"exact": True, "test_clips_trimmed": 0},
        labels=[0, 1],
        paths=["a.mp4", "b.mp4"],
        groups=["id00001", "id00002"],
        cells=[None, None],
        controls={},
        sizes={"test": [1, 1]},
        missing={},
        dropped_duplicates=[],
    )
    return FoldResult(**{**fields, **changes})


def test_a_fold_result_round_trips_through_json_and_names_its_variants():
    fold = _fold(fingerprint="f" * 64)
    data = json.loads(json.dumps(fold.to_dict()))
    assert "trimmed_trained" not in data  # absent, as before the types: a fold without trimmed training
    assert FoldResult.from_dict(data) == fold
    assert fold.variant("metrics") is fold.metrics and fold.variant("trimmed_trained") is None
    with pytest.raises(KeyError):
        fold.variant("labels")


@pytest.mark.parametrize("change", [lambda d: d.pop("metrics"), lambda d: d.update(audio={})])
def test_a_stored_fold_of_another_format_is_refused(change):
    data = _fold().to_dict()
    change(data)
    with pytest.raises(ConfigError, match="not a fold result of this emoboost version"):
        FoldResult.from_dict(data)
