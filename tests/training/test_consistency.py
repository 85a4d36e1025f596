"""The real-only consistency model learns face-voice pairing from aligned clips alone, and its controls
measure what they say."""

import json

import numpy as np
import pytest
import torch

from emoboost.benchmark.consistency import control_scores, derangement, fake_cells
from emoboost.errors import ConfigError
from emoboost.features.store import FeatureRecord
from emoboost.models.consistency import (
    AffectTokens,
    ConsistencyConfig,
    affect_tokens,
    clip_inconsistency,
    window_inconsistency,
)
from emoboost.training.consistency import (
    ConsistencyTrainConfig,
    RealClip,
    _Sampler,
    info_nce,
    load_consistency,
    save_consistency,
    train_consistency,
)

SMALL = ConsistencyConfig(hidden=32, embed_dim=16, window_tokens=6, hop_tokens=3, min_shift_tokens=4)


def _clip(rng, identity: str, recording: str, n: int = 24, revoiced: bool = False) -> RealClip:
    """A latent affect trajectory (slow, 3-d) read by the face through one map and by the voice through another."""
    z = np.cumsum(rng.normal(0, 0.5, (n, 3)), axis=0)
    face = z @ np.array([[1.0, 0.2, 0.0, 0.5], [0.0, 1.0, 0.3, 0.0], [0.2, 0.0, 1.0, 0.4]]) + rng.normal(0, 0.1, (n, 4))
    voice = np.tanh(z) @ np.array([[0.8, 0.0, 0.3], [0.1, 0.9, 0.0], [0.0, 0.4, 1.0]]) + rng.normal(0, 0.1, (n, 3))
    tokens = AffectTokens(face.astype(np.float32), voice.astype(np.float32))
    extra = ()
    if revoiced:  # the same face, the voice of another trajectory
        other = np.cumsum(rng.normal(0, 0.5, (n, 3)), axis=0)
        extra = (AffectTokens(tokens.face, (np.tanh(other) @ np.eye(3)).astype(np.float32)),)
    return RealClip(tokens, identity, recording, extra)


def _set(seed: int, identities: int, revoiced: bool = False) -> list[RealClip]:
    rng = np.random.default_rng(seed)
    return [
        _clip(rng, f"id{seed}_{i}", f"id{seed}_{i}/{k}", revoiced=revoiced) for i in range(identities) for k in range(2)
    ]


@pytest.fixture(scope="module")
def fitted():
    train, val = _set(0, 12, revoiced=True), _set(1, 3, revoiced=True)
    return train_consistency(train, val, SMALL, ConsistencyTrainConfig(steps=300, batch_size=64, eval_every=50))


def test_it_learns_the_pairing_from_real_clips_alone(fitted):
    test = _set(2, 6, revoiced=True)
    model = fitted.model

    def score(tokens):
        return clip_inconsistency(model, tokens)["mean"]

    controls = control_scores(score, test, 4)
    assert set(controls) == {"cross_identity", "same_identity", "shift", "revoiced"}
    for name, c in controls.items():
        assert c["auc"] > 0.85 and c["share_risen"] > 0.7 and c["wilcoxon_p"] < 0.01, (name, c)
    assert fitted.best_step in {e["step"] for e in fitted.history} and fitted.data["revoiced_negatives"] == 24
    scores, starts = window_inconsistency(model, test[0].tokens)
    assert len(scores) == len(starts) and starts[0] == 0 and starts[-1] == 24 - SMALL.window_tokens


def test_save_and_load_give_the_same_scores_and_refuse_another_format(fitted, tmp_path):
    save_consistency(tmp_path / "model", fitted, {"protocol": {"seed": 0}})
    loaded = load_consistency(tmp_path / "model")
    tokens = _set(3, 1)[0].tokens
    assert clip_inconsistency(loaded, tokens) == pytest.approx(clip_inconsistency(fitted.model, tokens))
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    config["format"] = "emoboost.detector/2"
    (tmp_path / "model" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="expected 'emoboost.consistency/1'"):
        load_consistency(tmp_path / "model")


def test_negatives_are_of_the_kinds_available_and_near_windows_are_not_negatives():
    clips = _set(4, 3) + [_clip(np.random.default_rng(5), "solo", "solo/0", n=6)]
    sampler = _Sampler(clips, SMALL, np.random.default_rng(0))
    assert sampler.negative_types(0) == ["other_person", "same_person", "shift"]
    assert sampler.negative_types(len(clips) - 1) == ["other_person"]  # one recording, too short to shift
    batch = sampler.batch(32)
    assert batch["face"].shape == (32, 6, 4) and batch["negative"].shape == (32, 6, 3)
    f = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    clip, start = torch.tensor([0, 0, 0, 1]), torch.tensor([0, 2, 9, 0])
    same = info_nce(f, f, clip, start, SMALL)
    apart = info_nce(f, f, torch.arange(4), start, SMALL)
    assert same < apart  # windows 0 and 2 of one clip (closer than 4 tokens) are not each other's negatives
    with pytest.raises(ConfigError, match="at least 2 identities"):
        _Sampler(_set(6, 1)[:1], SMALL, np.random.default_rng(0))
    one_person = _Sampler(_set(7, 1), SMALL, np.random.default_rng(0), min_identities=1)  # a small fold's val
    assert one_person.negative_types(0) == ["same_person", "shift"]
    assert set(one_person.batch(16)["kinds"]) <= {"same_person", "shift"}


def test_affect_tokens_keep_silence_and_missing_faces_as_features():
    t = 20
    arrays = {
        "visual": np.ones((t, 3), np.float32), "speech": np.full((t, 2), 2.0, np.float32),
        "face_mask": np.r_[np.ones(10), np.zeros(10)].astype(bool),
        "audio_mask": np.r_[np.zeros(5), np.ones(15)].astype(bool),
        "expressions": np.full((t, 7), 1 / 7, np.float32), "audio_rms_db": np.full(t, -40.0, np.float32),
    }  # fmt: skip
    tokens = affect_tokens(FeatureRecord(arrays, {"n_frames": t, "fps": 25.0}), token_frames=5)
    assert tokens.face.shape == (4, 3 + 7 + 1) and tokens.voice.shape == (4, 2 + 1 + 1)
    np.testing.assert_allclose(tokens.face[:, -1], [1, 1, 0, 0])  # the share of frames with a face
    np.testing.assert_allclose(tokens.voice[:, -2], [0, 1, 1, 1])  # speech activity is an input, not a mask
    np.testing.assert_allclose(tokens.voice[:, -1], -0.5)  # level -40 dB, in units of the -80 dB floor


def test_controls_use_other_people_and_score_fakes_per_cell():
    identities = ["a", "a", "b", "c", "c", "c"]
    partner = derangement(identities, seed=3)
    assert all(identities[j] != identities[i] for i, j in enumerate(partner))
    with pytest.raises(ValueError):
        derangement(["a", "a"], 0)
    real = [AffectTokens(np.zeros((8, 1), np.float32), np.full((8, 1), v, np.float32)) for v in (0.0, 0.1)]
    fakes = [("m=0", AffectTokens(np.zeros((8, 1), np.float32), np.full((8, 1), 1.0, np.float32)))]
    cells = fake_cells(lambda tokens: float(tokens.voice.mean()), real, fakes)
    assert cells == {"m=0": {"auc": 1.0, "fakes": 1}}


def test_a_stopped_training_resumes_and_ends_as_the_uninterrupted_run(tmp_path):
    train, val = _set(0, 6), _set(1, 2)
    settings = ConsistencyTrainConfig(steps=60, batch_size=32, eval_every=20)
    whole = train_consistency(train, val, SMALL, settings)

    class Stop(Exception):
        pass

    def crash(step, entry):
        if step == 40:
            raise Stop

    with pytest.raises(Stop):
        train_consistency(train, val, SMALL, settings, on_step=crash, resume=tmp_path / "r")
    assert json.loads((tmp_path / "r" / "resume.json").read_text())["step"] == 40
    steps = []
    resumed = train_consistency(
        train, val, SMALL, settings, on_step=lambda step, entry: steps.append(step), resume=tmp_path / "r"
    )
    assert steps == [60]  # only what was left
    assert resumed.best_step == whole.best_step and resumed.val_auc == whole.val_auc
    for name, tensor in whole.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    assert [e["step"] for e in resumed.history] == [20, 40, 60]
    assert len(list((tmp_path / "r").glob("resume-*.safetensors"))) == 1  # the last state only
    # other settings or other clips: refused, never mixed
    with pytest.raises(ConfigError, match="other settings or data"):
        train_consistency(train[:-1], val, SMALL, settings, resume=tmp_path / "r")


def test_further_real_clips_lend_whole_people_to_the_step_choice():
    from emoboost.training.detector import split_people

    clips = _set(2, 10)
    train, val = split_people(clips, 0.2, seed=0)
    assert len(train) + len(val) == len(clips)
    people_val = {c.identity for c in val}
    assert len(people_val) == 2 and not people_val & {c.identity for c in train}  # whole people, 2 of 10
    assert split_people(clips, 0.2, seed=0) == (train, val)  # seeded
    assert len({c.identity for c in split_people(clips, 0.9, seed=0)[0]}) == 2  # at least 2 people left to train on
    few = _set(3, 3)
    assert split_people(few, 0.2, seed=0) == (few, [])  # under 4 people: every clip trains
