"""Alignment-shuffle control: real faces with another real clip's voice."""

import numpy as np
import pytest
import torch
from sequences import clips as sequences  # tests/models is on pytest's pythonpath

from emoboost.benchmark.controls import alignment_shuffle, emoforensics_scorer, partners, repair
from emoboost.models.emoforensics import EmoForensics, EmoForensicsConfig

TINY = EmoForensicsConfig(
    d_model=32, heads=2, intra_layers=1, inter_layers=1, feedforward=64, dropout=0.0, alignment_dim=16
)


def _reals(count=12):
    """Real clips (one trajectory drives face and voice), two per identity."""
    real = [c.tokens for c in sequences(2 * count, seed=3) if c.label == 0][:count]
    return real, [f"id{i // 2}" for i in range(len(real))]


def _mismatch(tokens_list):
    """An ideal consistency detector: distance between the face and a fixed linear read-out of the voice."""
    face_map = np.random.default_rng(100).normal(size=(5, 16))
    voice_map = np.random.default_rng(101).normal(size=(5, 12))
    scores = []
    for t in tokens_list:
        z_face = t.visual @ np.linalg.pinv(face_map)
        z_voice = t.speech @ np.linalg.pinv(voice_map)
        keep = t.speech_mask & t.visual_mask
        scores.append(np.abs(z_face[keep] - z_voice[keep]).mean())
    return np.array(scores)


def test_partners_are_other_identities():
    identities = ["a", "a", "b", "b", "c"]
    chosen = partners(identities, seed=1)
    assert all(identities[j] != identities[i] for i, j in enumerate(chosen))
    assert all(j != i for i, j in enumerate(partners(["a", "a", "a"])))  # one identity: at least another clip
    with pytest.raises(ValueError):
        partners(["a"])


def test_repair_keeps_the_face_and_masks_missing_voice():
    real, _ = _reals(2)
    short = repair(
        real[0],
        type(real[1])(real[1].visual[:10], real[1].speech[:10], real[1].visual_mask[:10], real[1].speech_mask[:10]),
    )
    assert np.array_equal(short.visual, real[0].visual) and len(short.speech) == len(real[0])
    assert short.speech_mask[:10].all() and not short.speech_mask[10:].any()


def test_consistency_detector_sees_the_shuffle_and_a_face_only_one_does_not():
    real, identities = _reals()
    seen = alignment_shuffle(real, identities, _mismatch)
    assert seen.auc > 0.9 and seen.mean_rise > 0 and seen.share_risen > 0.8 and seen.cross_identity == len(real)
    blind = alignment_shuffle(real, identities, lambda clips: np.array([c.visual.mean() for c in clips]))
    assert blind.auc == 0.5 and blind.mean_rise == 0.0


def test_runs_with_an_emoforensics_model():
    torch.manual_seed(0)
    real, identities = _reals(6)
    control = alignment_shuffle(real, identities, emoforensics_scorer(EmoForensics(TINY, 16, 12)))
    assert (
        0.0 <= control.auc <= 1.0
        and control.clips == 6
        and set(control.to_dict()) >= {"auc", "mean_rise", "share_risen"}
    )


def test_cell_aucs_compare_every_real_clip_with_one_cells_fakes():
    from emoboost.benchmark.controls import cell_aucs, cell_of_row

    assert cell_of_row("", "") == "" and cell_of_row("1", "none") == "mismatch=1,artifact=none"
    labels = [0, 0, 1, 1, 1]
    cells = ["", "", "mismatch=1,artifact=none", "mismatch=0,artifact=strong", "mismatch=0,artifact=strong"]
    scores = [0.2, 0.4, 0.3, 0.9, 0.1]
    out = cell_aucs(labels, cells, scores)
    assert out == {
        "mismatch=0,artifact=strong": {"auc": 0.5, "n_fake": 2},  # 0.9 beats both reals, 0.1 neither
        "mismatch=1,artifact=none": {"auc": 0.5, "n_fake": 1},  # 0.3 beats one of two reals
    }


def test_pairing_controls_choose_other_people_the_same_persons_other_recording_and_rows_reading_both():
    from emoboost.benchmark.controls import pairing_partners, reads_both

    identities = ["a", "a", "b", "c"]
    recordings = ["a/1", "a/2", "b/1", "c/1"]
    partner = pairing_partners(identities, recordings, seed=0)
    assert all(identities[j] != identities[i] for i, j in enumerate(partner["cross_identity"]))
    assert partner["same_identity"] == [1, 0, None, None]  # only a has another recording
    assert partner["shift"] == [0, 1, 2, 3]
    assert reads_both(("emo",)) and reads_both(("rgb", "acoustic")) and reads_both(("emo:visual_only", "rgb"))
    assert not reads_both(("rgb",)) and not reads_both(("acoustic", "emo_voice"))


def test_the_probe_disagreement_floor_rises_when_face_and_voice_show_different_emotions():
    from emoboost.benchmark.disagreement import fit_disagreement
    from emoboost.models.consistency import AffectTokens

    rng = np.random.default_rng(0)
    emotions = ["happy", "sad", "angry"]
    centres = rng.normal(0, 2, (3, 6))

    def clip(first: int, second: int):
        """4 s: the first 2 s one emotion, the rest another; face and voice read it through different maps."""
        labels = np.r_[np.full(10, first), np.full(10, second)]
        face = centres[labels] + rng.normal(0, 0.5, (20, 6))
        voice = centres[labels][:, ::-1] + rng.normal(0, 0.5, (20, 6))
        face = np.c_[face, np.ones(20)]  # the face share column
        voice = np.c_[voice, np.ones(20), np.full(20, 0.5)]  # speech share, level
        track = f"{emotions[first]}@0;{emotions[second]}@2"
        return AffectTokens(face.astype(np.float32), voice.astype(np.float32)), track

    train = [clip(a, b) for a in range(3) for b in range(3) for _ in range(2)]
    probe = fit_disagreement([(t, e, 100) for t, e in train], token_frames=5)
    assert probe is not None and probe.classes == ("angry", "happy", "sad")
    test = [clip(a, (a + 1) % 3)[0] for a in range(3) for _ in range(4)]
    real = np.array([probe.score(t) for t in test])
    other = [test[(i + 4) % len(test)] for i in range(len(test))]  # clips of other emotions
    swapped = np.array([probe.score(t.with_voice(o)) for t, o in zip(test, other, strict=True)])
    assert real.mean() < 0.3 and (swapped > real).all() and swapped.mean() > 0.5
    assert fit_disagreement([(t, "", 100) for t, _ in train], token_frames=5) is None  # no labels, no floor
