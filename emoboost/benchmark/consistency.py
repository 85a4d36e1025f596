"""Controls for a face-voice consistency score: does it rise when only the pairing changes?

For each real test clip, the same face is scored with another voice track:

- ``cross_identity``: another test identity's voice (a derangement over identities);
- ``same_identity``: the same person's other recording;
- ``shift``: its own voice rotated by half the clip (at least the model's minimum shift, 1 s);
- ``revoiced``: the emotion-only re-voicing of the same recording (SynthAV v3 ``RVFA-EMO``).

Each control reports the AUC of real vs control clips, the paired per-clip rise (control minus
real for the same face) with a Wilcoxon signed-rank p and the share of clips whose score rose.
Fakes in the manifest are scored as they are, per factorial cell, so a reader can check the
score does not move with artefacts (emotion-matched fakes should sit near 50).

Scores are computed on feature tokens: a voice track's tokens depend on its audio alone, so
pairing one clip's face tokens with another's voice tokens is the same as muxing the files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from emoboost.metrics import auc
from emoboost.models.consistency import AffectTokens
from emoboost.training.consistency import RealClip

Scorer = Callable[[AffectTokens], float]


def paired_control(real: np.ndarray, control: np.ndarray) -> dict[str, Any]:
    """Real vs control scores of the same clips: AUC, mean rise (control minus real), share of clips risen,
    Wilcoxon signed-rank p of the rises, clips."""
    from scipy.stats import wilcoxon

    rise = control - real
    labels = np.r_[np.zeros(len(real)), np.ones(len(control))]
    p = float(wilcoxon(rise).pvalue) if len(rise) >= 2 and np.any(rise != 0) else float("nan")
    return {
        "auc": auc(labels, np.r_[real, control]),
        "mean_rise": float(rise.mean()),
        "share_risen": float(np.mean(rise > 0)),
        "wilcoxon_p": p,
        "clips": int(len(rise)),
    }


def derangement(identities: Sequence[str], seed: int) -> np.ndarray:
    """For each clip, the index of a clip of another identity (each identity's clips go to one other identity)."""
    names = sorted(set(identities))
    if len(names) < 2:
        raise ValueError("a cross-identity control needs at least 2 identities")
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(len(names)))
    target = {names[order[i]]: names[order[(i + 1) % len(order)]] for i in range(len(order))}
    members: dict[str, list[int]] = {}
    for index, name in enumerate(identities):
        members.setdefault(name, []).append(index)
    return np.array([members[target[name]][k % len(members[target[name]])] for k, name in enumerate(identities)])


def control_scores(
    score: Scorer, clips: Sequence[RealClip], min_shift_tokens: int, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Every control that the clips allow (see the module docstring)."""
    real = np.array([score(c.tokens) for c in clips])
    out: dict[str, dict[str, Any]] = {}
    partner = derangement([c.identity for c in clips], seed)
    out["cross_identity"] = paired_control(
        real, np.array([score(c.tokens.with_voice(clips[j].tokens)) for c, j in zip(clips, partner, strict=True)])
    )
    same, base = [], []
    for i, clip in enumerate(clips):
        others = [j for j, o in enumerate(clips) if o.identity == clip.identity and o.recording != clip.recording]
        if others:
            same.append(score(clip.tokens.with_voice(clips[others[0]].tokens)))
            base.append(real[i])
    if same:
        out["same_identity"] = paired_control(np.array(base), np.array(same))
    shifted, base = [], []
    for i, clip in enumerate(clips):
        n = len(clip.tokens)
        if n >= 2 * min_shift_tokens:
            shifted.append(score(clip.tokens.with_voice(clip.tokens, shift=max(n // 2, min_shift_tokens))))
            base.append(real[i])
    if shifted:
        out["shift"] = paired_control(np.array(base), np.array(shifted))
    revoiced, base = [], []
    for i, clip in enumerate(clips):
        for other in clip.revoiced:
            revoiced.append(score(other))
            base.append(real[i])
    if revoiced:
        out["revoiced"] = paired_control(np.array(base), np.array(revoiced))
    return out


def fake_cells(
    score: Scorer, real: Sequence[AffectTokens], fakes: Sequence[tuple[str, AffectTokens]]
) -> dict[str, Any]:
    """AUC of real clips vs the fakes of each cell (``(cell name, tokens)`` pairs), with the fakes per cell."""
    real_scores = np.array([score(t) for t in real])
    by_cell: dict[str, list[float]] = {}
    for cell, tokens in fakes:
        by_cell.setdefault(cell, []).append(score(tokens))
    return {
        cell: {"auc": auc(np.r_[np.zeros(len(real_scores)), np.ones(len(v))], np.r_[real_scores, v]), "fakes": len(v)}
        for cell, v in sorted(by_cell.items())
    }


def controls_markdown(controls: dict[str, dict[str, Any]], cells: dict[str, Any] | None = None) -> list[str]:
    lines = [
        "| control | AUC real vs control | mean rise | risen | Wilcoxon p | clips |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in controls.items():
        lines.append(
            f"| {name} | {100 * c['auc']:.1f} | {c['mean_rise']:+.3f} | {100 * c['share_risen']:.0f} % "
            f"| {c['wilcoxon_p']:.2g} | {c['clips']} |"
        )
    if cells:
        lines += ["", "| fakes (cell) | AUC real vs fakes | fakes |", "|---|---|---|"]
        lines += [f"| {cell} | {100 * c['auc']:.1f} | {c['fakes']} |" for cell, c in cells.items()]
    return lines
