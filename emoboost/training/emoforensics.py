"""EmoForensics' recipe for the shared loop (:func:`emoboost.training.loop.fit`): its batches and losses.

:func:`train_emoforensics` trains on the train / val clips of a fold:

- each epoch, ``windows_per_video`` random windows per training clip (label = the clip's);
- BCE on the window logit with the fake class weighted by n_real / n_fake of the training set;
- + ``modality_loss_weight`` x BCE of the face / voice logits against ``video_fake`` /
  ``audio_fake`` (FakeAVCeleb's type says which modality is fake);
- + ``token_loss_weight`` x BCE of every unmasked token's logit against the clip label;
- + ``alignment_loss_weight`` x a contrastive face-voice alignment loss on real clips only
  (aligned tokens pulled together, tokens of another real clip pushed below a margin).

Validation scores whole clips with :func:`emoboost.models.inference.predict_logits` (all windows, window
logits aggregated as the config says).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from emoboost.errors import DataError
from emoboost.metrics import auc
from emoboost.models.emoforensics import EmoForensics, EmoForensicsConfig
from emoboost.models.inference import predict_logits
from emoboost.models.tokens import ClipTokens, cut_window
from emoboost.training.loop import FitResult, TrainConfig, fit


@dataclasses.dataclass(frozen=True)
class LabelledClip:
    key: str  # the manifest path
    tokens: ClipTokens
    label: int
    video_fake: bool
    audio_fake: bool


def _training_batches(clips: Sequence[LabelledClip], config: EmoForensicsConfig, train: TrainConfig):
    def batches(epoch: int, rng: np.random.Generator) -> Iterator[tuple[list[torch.Tensor], torch.Tensor]]:
        items = []
        for index, clip in enumerate(clips):
            for _ in range(train.windows_per_video):
                start = int(rng.integers(0, max(0, len(clip.tokens) - config.window_tokens) + 1))
                items.append((index, start))
        order = rng.permutation(len(items))
        for begin in range(0, len(order), train.batch_size):
            chosen = [items[i] for i in order[begin : begin + train.batch_size]]
            parts = [cut_window(clips[i].tokens, start, config.window_tokens) for i, start in chosen]
            arrays = [torch.from_numpy(np.stack(column)) for column in zip(*parts, strict=False)]
            labels = torch.tensor(
                [[clips[i].label, clips[i].video_fake, clips[i].audio_fake] for i, _ in chosen], dtype=torch.float32
            )
            yield arrays, labels

    return batches


def _alignment_loss(
    out: dict[str, torch.Tensor], real: torch.Tensor, both: torch.Tensor, margin: float
) -> torch.Tensor:
    """Pull aligned face/voice tokens of real clips together; push a real face against another real clip's voice
    below ``margin``."""
    face, voice = out["face_alignment"][real], out["voice_alignment"][real]
    valid = both[real]
    if len(face) < 2 or not valid.any():
        return face.sum() * 0
    positive = (face * voice).sum(-1)
    negative = (face * voice.roll(1, dims=0)).sum(-1)
    valid_negative = valid & valid.roll(1, dims=0)
    pull = (1 - positive)[valid].mean()
    push = F.relu(negative - margin)[valid_negative].mean() if valid_negative.any() else positive.sum() * 0
    return pull + push


def train_emoforensics(
    train_clips: Sequence[LabelledClip],
    val_clips: Sequence[LabelledClip],
    model_config: EmoForensicsConfig,
    train_config: TrainConfig,
    on_epoch: Callable[[dict], None] | None = None,
) -> FitResult[EmoForensics]:
    """Train EmoForensics; returns the model at its best validation AUC."""
    if not train_clips or not val_clips:
        raise DataError(f"training needs clips in both splits (train {len(train_clips)}, val {len(val_clips)})")
    torch.manual_seed(train_config.seed)
    visual_dim, speech_dim = train_clips[0].tokens.visual.shape[1], train_clips[0].tokens.speech.shape[1]
    model = EmoForensics(model_config, visual_dim, speech_dim)
    face_tokens = np.concatenate([c.tokens.visual[c.tokens.visual_mask] for c in train_clips])
    speech_tokens = np.concatenate([c.tokens.speech[c.tokens.speech_mask] for c in train_clips])
    model.fit_normaliser(torch.from_numpy(face_tokens), torch.from_numpy(speech_tokens))
    labels = np.array([c.label for c in train_clips])
    pos_weight = torch.tensor(max(1.0, (labels == 0).sum()) / max(1.0, (labels == 1).sum()))
    weights = train_config

    def loss(batch) -> torch.Tensor:
        (visual, speech, visual_mask, speech_mask), target = batch
        out = model(visual, speech, visual_mask, speech_mask)
        label = target[:, 0]
        total = F.binary_cross_entropy_with_logits(out["logit"], label, pos_weight=pos_weight.to(label.device))
        modality_targets = {"visual": target[:, 1], "speech": target[:, 2]}
        for name in model.modalities:
            total = total + weights.modality_loss_weight * F.binary_cross_entropy_with_logits(
                out[f"{name}_logit"], modality_targets[name]
            )
        any_token = torch.zeros_like(visual_mask, dtype=torch.bool)
        for name, mask in (("visual", visual_mask), ("speech", speech_mask)):
            if name in model.modalities:
                any_token |= mask.bool()
        token_targets = label[:, None].expand_as(out["token_logits"])
        total = total + weights.token_loss_weight * F.binary_cross_entropy_with_logits(
            out["token_logits"][any_token], token_targets[any_token]
        )
        if "face_alignment" in out and weights.alignment_loss_weight > 0:
            both = visual_mask.bool() & speech_mask.bool()
            total = total + weights.alignment_loss_weight * _alignment_loss(
                out, label == 0, both, weights.alignment_margin
            )
        return total

    val_labels = np.array([c.label for c in val_clips])

    def validate() -> float:
        score = auc(val_labels, predict_logits(model, val_clips))
        return -1.0 if math.isnan(score) else score

    return fit(
        model, _training_batches(train_clips, model_config, train_config), loss, validate, train_config, on_epoch
    )
