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
    from emoboost.models.consistency import AffectTokens
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


# -- pairing controls of every fused row --------------------------------------------------------------------------
PAIR_INPUTS = frozenset({"consistency", "probe_disagreement"})  # inputs that score a face and a voice together
FACE_INPUTS = frozenset({"emo", "rgb", "emo_face", *PAIR_INPUTS})  # inputs that read the face (emo:<ablation> too)
VOICE_INPUTS = frozenset({"emo", "acoustic", "emo_voice", *PAIR_INPUTS})
PAIRING_CONTROLS = ("cross_identity", "same_identity", "shift")


def reads_both(inputs: Sequence[str]) -> bool:
    """Whether a row's inputs read the face and the voice (an EmoForensics row reads both, unless ablated to one:
    its own control then shows it)."""
    names = {"emo" if i.startswith("emo:") else i for i in inputs}
    return bool(names & FACE_INPUTS) and bool(names & VOICE_INPUTS)


def pairing_partners(identities: Sequence[str], recordings: Sequence[str], seed: int) -> dict[str, list[int | None]]:
    """For each real clip and each control, the clip whose voice it is given (None: the clip has no such partner):
    another identity's (a derangement over identities), the same identity's other recording, itself (shifted)."""
    from emoboost.benchmark.consistency import derangement

    out: dict[str, list[int | None]] = {}
    out["cross_identity"] = list(derangement(identities, seed)) if len(set(identities)) > 1 else []
    out["same_identity"] = [
        next((j for j, (o, r) in enumerate(zip(identities, recordings, strict=True)) if o == who and r != rec), None)
        for who, rec in zip(identities, recordings, strict=True)
    ]
    out["shift"] = list(range(len(identities)))
    return out


def shifted(tokens: ClipTokens, by: int) -> ClipTokens:
    """``tokens`` with its voice rotated by ``by`` tokens (the face stays)."""
    return ClipTokens(tokens.visual, np.roll(tokens.speech, by, axis=0), tokens.visual_mask,
                      np.roll(tokens.speech_mask, by))  # fmt: skip


def fold_pairing_controls(
    clips: Sequence,
    logits: Mapping[str, np.ndarray],
    fusions: Mapping,
    emo_models: Mapping[str, EmoForensics],
    pair_scorers: Mapping[str, Callable[[AffectTokens], float]],
    min_shift_tokens: int,
    seed: int,
) -> dict[str, dict[str, dict[str, float | int]]]:
    """Every fused row that reads both modalities, scored on the real test clips as recorded and with their voice
    replaced (:data:`PAIRING_CONTROLS`): ``{control: {row: AUC real vs control, paired rise, Wilcoxon p, ...}}``.

    ``clips``: the real test clips (``.row``, ``.emo``, ``.affect``); ``logits``: each input's logits on them;
    ``fusions``: row -> fitted fusion (``.inputs``, ``.llr``); ``pair_scorers``: input -> its score of a face and
    a voice's consistency inputs (the consistency detector, the probe-disagreement baseline). On features: a
    detector that reads the voice alone (the acoustic CNN) scores a replaced voice as it scored that voice's own
    clip, one that reads the face alone (RGB) as before; EmoForensics and the pair scorers score the new pairing.
    A shifted voice keeps its acoustic score (a mean over segments of the same sound). Rows with inputs from
    outside (external scores, the leading-silence shortcut) are left out: their response to a re-pairing is not
    known here.
    """
    from emoboost.benchmark.consistency import paired_control
    from emoboost.models.inference import predict_clip

    known = {"emo", "emo_face", "emo_voice", "rgb", "acoustic", *pair_scorers, *emo_models}
    rows = {name: f for name, f in fusions.items() if reads_both(f.inputs) and set(f.inputs) <= known}
    if len(clips) < 2 or not rows:
        return {}
    identities = [c.row.identity for c in clips]
    recordings = [c.row.scenario or c.row.path for c in clips]
    real = {name: np.asarray(f.llr(np.stack([logits[i] for i in f.inputs], axis=1)), float) for name, f in rows.items()}
    out: dict[str, dict[str, dict[str, float | int]]] = {}
    for control, partner in pairing_partners(identities, recordings, seed).items():
        chosen = [(i, j) for i, j in enumerate(partner) if j is not None]
        if control == "shift":
            chosen = [(i, j) for i, j in chosen if len(clips[i].emo.tokens) >= 2 * min_shift_tokens]
        if len(chosen) < 2:
            continue
        values: dict[str, list[float]] = {name: [] for name in known}
        for i, j in chosen:
            face, voice = clips[i].emo.tokens, clips[j].emo.tokens
            by = max(len(face) // 2, min_shift_tokens)
            paired_tokens = shifted(face, by) if control == "shift" else repair(face, voice)
            for name, model in emo_models.items():
                scores = predict_clip(model, paired_tokens)
                values[name].append(scores.logit)
                if name == "emo":
                    values["emo_face"].append(np.nan if scores.visual_logit is None else scores.visual_logit)
                    values["emo_voice"].append(np.nan if scores.speech_logit is None else scores.speech_logit)
            values["rgb"].append(float(logits["rgb"][i]))
            values["acoustic"].append(float(logits["acoustic"][i if control == "shift" else j]))
            if pair_scorers and clips[i].affect is not None:
                affect = clips[i].affect.tokens
                other = affect if control == "shift" else clips[j].affect.tokens
                by = max(len(affect) // 2, min_shift_tokens) if control == "shift" else 0
                mixed = affect.with_voice(other, shift=by)
                for name, score in pair_scorers.items():
                    values[name].append(float(score(mixed)))
        index = np.array([i for i, _ in chosen])
        out[control] = {}
        for name, fusion in rows.items():
            if any(len(values[i]) != len(chosen) for i in fusion.inputs):
                continue
            matrix = np.stack([np.asarray(values[i], float) for i in fusion.inputs], axis=1)
            out[control][name] = paired_control(real[name][index], np.asarray(fusion.llr(matrix), float))
    return out


def fold_revoiced_control(
    test: Sequence,
    control: Sequence,
    test_logits: Mapping[str, np.ndarray],
    control_logits: Mapping[str, np.ndarray],
    fusions: Mapping,
) -> dict[str, dict[str, float | int]]:
    """Every fused row on the real test clips against their emotion-only re-voicings (the fold's ``control``
    clips, SynthAV v3 ``RVFA-EMO``: the same video, words, timing and speaker, another emotion per phrase),
    each paired with the real clip of its recording (``scenario``): ``{row: AUC, paired rise, Wilcoxon p, ...}``.

    Unlike :func:`fold_pairing_controls` these are clips of their own, scored from their files' features by every
    detector (RGB sees the same video, the acoustic CNN the new voice), so every row whose inputs were scored on
    them is reported, the single-modality ones too: a row that catches re-voicing without reading the face does
    so from the voice alone. Rows with inputs from outside (external score files) are left out."""
    from emoboost.benchmark.consistency import paired_control

    real_of = {c.row.scenario: i for i, c in enumerate(test) if c.row.label == 0 and c.row.scenario}
    pairs = [(real_of[c.row.scenario], j) for j, c in enumerate(control) if c.row.scenario in real_of]
    if len(pairs) < 2:
        return {}
    real_index, control_index = (np.array(column) for column in zip(*pairs, strict=True))
    out = {}
    for name, fusion in fusions.items():
        if not all(i in control_logits and i in test_logits for i in fusion.inputs):
            continue
        real = np.asarray(fusion.llr(np.stack([test_logits[i][real_index] for i in fusion.inputs], axis=1)), float)
        revoiced = np.asarray(
            fusion.llr(np.stack([control_logits[i][control_index] for i in fusion.inputs], axis=1)), float
        )
        out[name] = paired_control(real, revoiced)
    return out
