"""The probe-disagreement baseline: the floor a face-voice consistency model must beat.

Two linear probes read the acted emotion per 5 Hz token, one from the face's consistency inputs and
one from the voice's (the same :func:`emoboost.models.consistency.affect_tokens` streams the
consistency detector reads), fitted on the real training clips' emotion labels (SynthAV's
``label@start_s;...`` tracks; a token is labelled when one emotion covers ``min_share`` of its
frames). A clip's score is 1 minus the expected agreement of the two probes,
``1 - mean_t sum_k p_face(k | t) p_voice(k | t)`` over tokens with a face and speech. It needs
emotion labels, which real corpora lack: it is a floor on generated data, not a detector to ship.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from emoboost.benchmark.probe import frame_labels, token_labels
from emoboost.data.manifest import emotion_track
from emoboost.media.timebase import FPS
from emoboost.models.consistency import AffectTokens

NAME = "probe_disagreement"
MIN_TOKENS_PER_CLASS = 5


@dataclasses.dataclass(frozen=True)
class DisagreementProbe:
    face: Any  # fitted scikit-learn pipelines (standardise + multinomial logistic regression)
    voice: Any
    classes: tuple[str, ...]

    def score(self, tokens: AffectTokens) -> float:
        """1 minus the expected agreement of the face and voice probes over the clip's tokens."""
        n = len(tokens)
        face, voice = tokens.face[:n], tokens.voice[:n]
        agree = (self.face.predict_proba(face) * self.voice.predict_proba(voice)).sum(axis=1)
        both = (face[:, -1] > 0) & (voice[:, -2] > 0)  # face share, speech share (see affect_tokens)
        return float(1.0 - (agree[both] if both.any() else agree).mean())


def labelled_tokens(tokens: AffectTokens, emotion: str, n_frames: int, token_frames: int, min_share: float = 0.8):
    """``(face, voice, labels)`` of a clip's tokens that one emotion of its ``emotion`` track covers."""
    labels = token_labels(frame_labels(emotion_track(emotion), n_frames, FPS), token_frames, min_share)
    n = min(len(tokens), len(labels))
    keep = labels[:n] != ""
    return tokens.face[:n][keep], tokens.voice[:n][keep], labels[:n][keep]


def fit_disagreement(
    clips: Sequence[tuple[AffectTokens, str, int]], token_frames: int, seed: int = 0
) -> DisagreementProbe | None:
    """Probes fitted on ``(tokens, emotion track, n_frames)`` of real clips; None when the clips carry fewer than
    two emotions with :data:`MIN_TOKENS_PER_CLASS` labelled tokens each (no labels: no baseline)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parts = [labelled_tokens(t, e, n, token_frames) for t, e, n in clips if e]
    if not parts:
        return None
    face, voice, labels = (np.concatenate([p[k] for p in parts]) for k in range(3))
    names, counts = np.unique(labels, return_counts=True)
    kept = names[counts >= MIN_TOKENS_PER_CLASS]
    if len(kept) < 2:
        return None
    chosen = np.isin(labels, kept)

    def probe(x: np.ndarray):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, random_state=seed))
        return model.fit(x[chosen], labels[chosen])

    face_probe, voice_probe = probe(face), probe(voice)
    assert list(face_probe.classes_) == list(voice_probe.classes_)
    return DisagreementProbe(face_probe, voice_probe, tuple(str(c) for c in face_probe.classes_))
