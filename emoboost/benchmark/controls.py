"""Controls for the benchmark: does the EmoForensics score respond to face-voice alignment at all?

**Alignment-shuffle control.** Real test clips keep their faces; their voice tokens are taken
from *another* real test clip (of another identity where the test set has one), cut or
padded (masked) to the face's length. Such a clip is real in each modality, only the pairing
is wrong, which is what an emotion/consistency detector claims to see. The figures:

- ``auc``: AUC of the detector's score, real (0) vs shuffled-real (1). 0.5 means the score
  ignores the pairing; a detector of face-voice consistency should score well above it;
- ``mean_rise``: mean score of the shuffled clips minus mean score of the real clips;
- ``share_risen``: share of clips whose own score rose when their voice was swapped.

The benchmark report reads these beside the ablations (visual_only, speech_only, intra_only,
inter_only); this module only needs a scorer, so it works with any trained EmoForensics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from emoboost.metrics import auc
from emoboost.models.tokens import ClipTokens

if TYPE_CHECKING:
    from emoboost.models.emoforensics import EmoForensics

Scorer = Callable[[Sequence[ClipTokens]], np.ndarray]


@dataclasses.dataclass(frozen=True)
class ShuffleControl:
    auc: float
    mean_rise: float
    share_risen: float
    clips: int
    cross_identity: int  # shuffled clips whose voice came from another identity

    def to_dict(self) -> dict[str, float | int]:
        return dataclasses.asdict(self)


def partners(identities: Sequence[str], seed: int = 0) -> np.ndarray:
    """For each clip, the index of another clip, of another identity whenever one exists (a derangement)."""
    count = len(identities)
    if count < 2:
        raise ValueError("the shuffle control needs at least two real clips")
    rng = np.random.default_rng(seed)
    labels = np.asarray(identities)
    chosen = np.empty(count, np.int64)
    for index in range(count):
        others = np.flatnonzero(labels != labels[index])
        if len(others) == 0:
            others = np.setdiff1d(np.arange(count), [index])
        chosen[index] = rng.choice(others)
    return chosen


def repair(face: ClipTokens, voice: ClipTokens) -> ClipTokens:
    """``face``'s visual tokens with ``voice``'s speech tokens, cut or zero-padded (masked) to the face's length."""
    n = len(face)
    speech = voice.speech[:n]
    mask = voice.speech_mask[:n]
    pad = n - len(speech)
    if pad > 0:
        speech = np.pad(speech, ((0, pad), (0, 0)))
        mask = np.pad(mask, (0, pad))
    return ClipTokens(face.visual, speech, face.visual_mask, mask)


def alignment_shuffle(
    clips: Sequence[ClipTokens], identities: Sequence[str], score: Scorer, seed: int = 0
) -> ShuffleControl:
    """Scores of real clips against the same clips with another real clip's voice (see the module docstring)."""
    if len(clips) != len(identities):
        raise ValueError("one identity per clip")
    chosen = partners(identities, seed)
    shuffled = [repair(clip, clips[j]) for clip, j in zip(clips, chosen, strict=False)]
    real_scores, shuffled_scores = np.asarray(score(clips), float), np.asarray(score(shuffled), float)
    labels = np.r_[np.zeros(len(clips)), np.ones(len(clips))]
    return ShuffleControl(
        auc=auc(labels, np.r_[real_scores, shuffled_scores]),
        mean_rise=float(shuffled_scores.mean() - real_scores.mean()),
        share_risen=float(np.mean(shuffled_scores > real_scores)),
        clips=len(clips),
        cross_identity=int(np.sum(np.asarray(identities)[chosen] != np.asarray(identities))),
    )


def emoforensics_scorer(model) -> Scorer:
    """Clip logits of a trained :class:`~emoboost.models.emoforensics.EmoForensics` (higher = more fake)."""
    from emoboost.models.inference import predict_clip

    model.eval()
    return lambda clips: np.array([predict_clip(model, tokens).logit for tokens in clips])


def fold_shuffle_controls(
    models: Mapping[str, EmoForensics],
    clips: Sequence,
    labels: Sequence[int] | np.ndarray,
    identities: Sequence[str],
    seed: int,
) -> dict[str, dict[str, float | int]]:
    """The alignment-shuffle control of every trained EmoForensics row of a fold, on its real test clips.

    ``models`` maps a row name (``emo``, ``emo:visual_only``, ...) to its network; ``clips`` are the
    test clips (anything with ``.tokens``, lazy or not), only the real ones are read. An ablation that
    reads one modality only is a built-in check: re-pairing the voice cannot move a visual-only
    score, so its AUC is 0.5 by construction. Empty when the test split has fewer than two real clips.
    """
    reals = [i for i, label in enumerate(labels) if label == 0]
    if len(reals) < 2:
        return {}
    real_clips, real_ids = [clips[i].tokens for i in reals], [identities[i] for i in reals]
    return {
        name: alignment_shuffle(real_clips, real_ids, emoforensics_scorer(model), seed).to_dict()
        for name, model in models.items()
    }


def cell_of_row(emotion_mismatch: str, artifact: str) -> str:
    """A fake clip's factorial cell (``mismatch=1,artifact=none``); ``""`` when the manifest has no factors."""
    if not emotion_mismatch and not artifact:
        return ""
    return f"mismatch={emotion_mismatch or '?'},artifact={artifact or '?'}"


def cell_aucs(
    labels: Sequence[int], cells: Sequence[str | None], scores: Sequence[float]
) -> dict[str, dict[str, float]]:
    """Per factorial cell: AUC of every real test clip against the fakes of that cell, and the cell's fake count."""
    label_array, score_array = np.asarray(labels), np.asarray(scores, float)
    cell_array = np.asarray(cells, dtype=object)
    real = label_array == 0
    out = {}
    for cell in sorted({c for c, label in zip(cell_array, label_array, strict=True) if label == 1 and c}):
        fake = (label_array == 1) & (cell_array == cell)
        selected = real | fake
        out[cell] = {"auc": auc(label_array[selected], score_array[selected]), "n_fake": int(fake.sum())}
    return out
