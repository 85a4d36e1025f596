"""Fold results are typed and round-trip through their JSON file; a file of another format is refused whole."""

import json

import numpy as np
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


def test_the_mismatch_effect_is_paired_within_scenarios_with_an_identity_interval():
    from emoboost.benchmark.report import mismatch_lines
    from emoboost.benchmark.summary import mismatch_pairs, mismatch_summary

    # 2 reals, then 3 scenarios (2 identities) at mismatch 0 and 1; the detector rises by 0.2 in every pair
    cells = [None, None] + [f"mismatch={m},artifact=none" for _ in range(3) for m in (0, 1)]
    scenarios = ["id1/0", "id2/0", "id1/0", "id1/0", "id1/1", "id1/1", "id2/0", "id2/0"]
    scores = [0.1, 0.2, 0.5, 0.7, 0.4, 0.6, 0.3, 0.5]
    fold = _fold(
        labels=[0, 0, 1, 1, 1, 1, 1, 1], paths=[f"{i}.mp4" for i in range(8)],
        groups=[s.split("/")[0] for s in scenarios], cells=cells, scenarios=scenarios,
        metrics={"emo": {"auc": 0.5, "probabilities": scores}, "rgb": {"auc": 0.5, "probabilities": [0.5] * 8}},
    )  # fmt: skip
    assert mismatch_pairs(fold) == [(2, 3, "id1"), (4, 5, "id1"), (6, 7, "id2")]
    effect = mismatch_summary({"RVFA": fold}, samples=200, seed=0)["RVFA"]
    assert effect["emo"]["mean"] == pytest.approx(0.2) and effect["emo"]["ci"] is None  # never [0.2, 0.2]
    assert "2 test identities" in effect["emo"]["why"]
    assert effect["emo"]["share_positive"] == 1 and effect["emo"]["n"] == 3 and effect["emo"]["identities"] == 2
    assert effect["rgb"]["mean"] == 0 and effect["rgb"]["share_positive"] == 0  # an artefact detector stays put
    lines = "\n".join(mismatch_lines({"mismatch": {"RVFA": effect}}))
    assert "+0.200 (no interval: 2 test identities (an interval needs 5))" in lines and "| 3 | 2 |" in lines
    assert mismatch_summary({"RVFA": _fold()}, 10, 0) == {}  # no scenario pairs: no section
    assert FoldResult.from_dict(json.loads(json.dumps(fold.to_dict()))) == fold


def test_identity_mean_resamples_people_not_items():
    from emoboost.metrics import identity_mean

    # one person with many items of +1, three with one item of -1 each: people, not items, carry the interval
    values = np.array([1.0] * 30 + [-1.0] * 4)
    groups = np.array(["a"] * 30 + ["b", "c", "d", "e"])
    result = identity_mean(values, groups, samples=2000, seed=0)
    assert result["n"] == 34 and result["identities"] == 5
    assert result["ci"][0] < -0.5 < 0.8 < result["ci"][1]  # an item bootstrap would give roughly [0.65, 0.94]
    constant = identity_mean(np.full(10, 0.3), np.repeat(list("abcde"), 2), samples=100)
    assert constant["ci"] is None and "every resample gives 0.3 " in constant["why"]
    assert np.isnan(identity_mean(np.array([]), np.array([]))["mean"])
    with pytest.raises(ValueError):
        identity_mean(np.ones(2), np.array(["a"]))


def test_git_state_names_the_commit_of_a_checkout_and_nothing_outside_one(tmp_path):
    import subprocess

    from emoboost.benchmark.provenance import git_state

    assert git_state(tmp_path) == {}  # an installed wheel: no .git above it
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("1")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    import os

    for command in (["add", "a.txt"], ["commit", "-qm", "one"]):
        subprocess.run(["git", "-C", str(tmp_path), *command], check=True, env={**os.environ, **env})
    state = git_state(tmp_path)
    assert len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "a.txt").write_text("2")
    assert git_state(tmp_path)["dirty"] is True
