"""Train the face-voice consistency model on real clips only (:mod:`emoboost.models.consistency`).

Every batch draws ``batch_size`` aligned windows of real clips (the positives) and, for each, one
negative of a type drawn from those available (a curriculum over kinds of inconsistency):

- ``other_person``: the voice of a window of another identity's clip;
- ``same_person``: the voice of the same identity's other recording;
- ``shift``: the same recording's voice at least ``min_shift_tokens`` (1 s) away;
- ``revoiced``: a hard negative supplied with the clip (SynthAV v3's emotion-only re-voicing:
  the same face, words, timing and speaker, another emotion), at the same window.

Loss: a symmetric InfoNCE over the batch's aligned pairs (every other window is a negative,
except windows of the same clip closer than the minimum shift, which are not inconsistent) plus
a binary cross-entropy on the consistency head (positives 1, negatives 0). The step with the
best validation AUC (real windows vs each negative type, averaged) is kept.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from emoboost.config import from_dict, require, to_dict
from emoboost.data.manifest import ManifestRow
from emoboost.errors import ConfigError
from emoboost.features.store import FeatureStore
from emoboost.metrics import auc
from emoboost.models.consistency import AffectTokens, ConsistencyConfig, ConsistencyModel, affect_tokens

FORMAT = "emoboost.consistency/1"
WEIGHTS = "consistency.safetensors"
RESUME_FORMAT = "emoboost.consistency-resume/1"
RESUME_JSON = "resume.json"  # beside resume-<step>.safetensors in the resume folder; written last
NEGATIVE_TYPES = ("other_person", "same_person", "shift", "revoiced")
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ConsistencyTrainConfig:
    steps: int = 1500
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    eval_every: int = 100
    seed: int = 0

    def validate(self) -> None:
        require(1 <= self.steps <= 1_000_000, "consistency_train.steps must be in 1..1000000")
        require(2 <= self.batch_size <= 65_536, "consistency_train.batch_size must be in 2..65536")
        require(self.lr > 0 and self.weight_decay >= 0, "consistency_train: lr > 0 and weight_decay >= 0")
        require(self.eval_every >= 1, "consistency_train.eval_every must be >= 1")


@dataclasses.dataclass(frozen=True)
class RealClip:
    """A real clip's tokens, who it is, which recording, and any hard negatives made from it."""

    tokens: AffectTokens
    identity: str
    recording: str
    revoiced: tuple[AffectTokens, ...] = ()


@dataclasses.dataclass
class ConsistencyFit:
    model: ConsistencyModel
    best_step: int
    val_auc: dict[str, float]  # negative type -> AUC of real windows vs those negatives, at the best step
    history: list[dict[str, Any]]
    data: dict[str, int]


class _Sampler:
    """Draws aligned windows and one negative per window (see the module docstring)."""

    def __init__(
        self, clips: Sequence[RealClip], config: ConsistencyConfig, rng: np.random.Generator, min_identities: int = 2
    ):
        self.clips, self.config, self.rng = list(clips), config, rng
        self.length = config.window_tokens
        self.by_identity: dict[str, list[int]] = {}
        for index, clip in enumerate(self.clips):
            self.by_identity.setdefault(clip.identity, []).append(index)
        self.identities = sorted(self.by_identity)
        if len(self.identities) < min_identities:
            raise ConfigError(f"consistency training needs real clips of at least {min_identities} identities")

    def _window(self, tokens: AffectTokens, start: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        n = len(tokens)
        face, voice = tokens.face[:n], tokens.voice[:n]
        if n < self.length:
            face = np.pad(face, ((0, self.length - n), (0, 0)), mode="edge")
            voice = np.pad(voice, ((0, self.length - n), (0, 0)), mode="edge")
            n = self.length
        if start is None:
            start = int(self.rng.integers(0, n - self.length + 1))
        start = min(start, n - self.length)
        return face[start : start + self.length], voice[start : start + self.length], start

    def negative_types(self, index: int) -> list[str]:
        clip = self.clips[index]
        kinds = ["other_person"] if len(self.identities) > 1 else []
        if any(self.clips[j].recording != clip.recording for j in self.by_identity[clip.identity]):
            kinds.append("same_person")
        if len(clip.tokens) >= self.length + self.config.min_shift_tokens:
            kinds.append("shift")
        if clip.revoiced:
            kinds.append("revoiced")
        return kinds

    def negative(self, index: int, start: int, kind: str) -> np.ndarray:
        clip, rng = self.clips[index], self.rng
        if kind == "other_person":
            others = [i for i in self.identities if i != clip.identity]
            pool = self.by_identity[others[int(rng.integers(len(others)))]]
            return self._window(self.clips[pool[int(rng.integers(len(pool)))]].tokens)[1]
        if kind == "same_person":
            pool = [j for j in self.by_identity[clip.identity] if self.clips[j].recording != clip.recording]
            return self._window(self.clips[pool[int(rng.integers(len(pool)))]].tokens)[1]
        if kind == "shift":
            n, shift = len(clip.tokens), self.config.min_shift_tokens
            far = [s for s in range(n - self.length + 1) if abs(s - start) >= shift]
            if far:
                return self._window(clip.tokens, far[int(rng.integers(len(far)))])[1]
            rolled = AffectTokens(clip.tokens.face, np.roll(clip.tokens.voice, n // 2, axis=0))
            return self._window(rolled, start)[1]
        revoiced = clip.revoiced[int(rng.integers(len(clip.revoiced)))]
        return self._window(revoiced, start)[1]

    def batch(self, size: int) -> dict[str, Any]:
        index = self.rng.integers(0, len(self.clips), size)
        face, voice, negative, kinds, starts = [], [], [], [], []
        for i in (int(j) for j in index):
            f, v, start = self._window(self.clips[i].tokens)
            available = self.negative_types(i)
            if not available:  # one short recording of one person: nothing to contrast it with
                raise ConfigError("consistency validation needs a second identity, recording or a longer clip")
            kind = available[int(self.rng.integers(len(available)))]
            face.append(f)
            voice.append(v)
            starts.append(start)
            kinds.append(kind)
            negative.append(self.negative(i, start, kind))
        return {
            "face": torch.from_numpy(np.stack(face)),
            "voice": torch.from_numpy(np.stack(voice)),
            "negative": torch.from_numpy(np.stack(negative)),
            "kinds": kinds,
            "clip": torch.from_numpy(index),
            "start": torch.tensor(starts),
        }


def info_nce(f: torch.Tensor, v: torch.Tensor, clip: torch.Tensor, start: torch.Tensor, config: ConsistencyConfig):
    """Symmetric InfoNCE over a batch of aligned windows; windows of one clip closer than the minimum shift are
    not counted as negatives of each other."""
    logits = f @ v.T / config.temperature
    near = (clip[:, None] == clip[None, :]) & ((start[:, None] - start[None, :]).abs() < config.min_shift_tokens)
    logits = logits.masked_fill(near & ~torch.eye(len(f), dtype=torch.bool), float("-inf"))
    target = torch.arange(len(f))
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


@torch.no_grad()
def validation_auc(model: ConsistencyModel, batch: dict[str, Any]) -> dict[str, float]:
    """AUC of the consistency logit, aligned (real) windows vs the negatives of each type in ``batch``."""
    model.eval()
    positive = model(batch["face"], batch["voice"]).numpy()
    negative = model(batch["face"], batch["negative"]).numpy()
    kinds = np.array(batch["kinds"])
    out = {}
    for kind in NEGATIVE_TYPES:
        chosen = kinds == kind
        if chosen.any():
            labels = np.r_[np.ones(len(positive)), np.zeros(int(chosen.sum()))]
            out[kind] = auc(labels, np.r_[positive, negative[chosen]])
    return out


def _data_digest(train: Sequence[RealClip], val: Sequence[RealClip]) -> str:
    """What a resumed run must train on: the same clips (identities, recordings, token counts) in the same order."""
    import hashlib

    digest = hashlib.sha256()
    for split in (train, val):
        for clip in split:
            digest.update(f"{clip.identity}\0{clip.recording}\0{len(clip.tokens)}\0{len(clip.revoiced)}\n".encode())
        digest.update(b"--\n")
    return digest.hexdigest()


def _save_resume(folder: Path, model, optimiser, best, history, step: int, rng, settings: dict[str, Any]) -> None:
    """Everything a stopped run needs to go on as if it never stopped: weights, best weights, optimiser moments,
    both random generators (safetensors), the step, history and settings (JSON, written last)."""
    from safetensors.torch import save_file

    from emoboost.files import atomic_path, write_json_atomic

    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"best.{k}": v.contiguous() for k, v in best[2].items()})
    for index, state in optimiser.state_dict()["state"].items():
        tensors.update({f"optimiser.{index}.{k}": torch.as_tensor(v).contiguous() for k, v in state.items()})
    tensors["torch_rng"] = torch.get_rng_state()
    folder.mkdir(parents=True, exist_ok=True)
    state_file = f"resume-{step}.safetensors"
    with atomic_path(folder / state_file) as part:
        save_file(tensors, str(part), metadata={"format": RESUME_FORMAT})
    write_json_atomic(
        folder / RESUME_JSON,
        {
            "format": RESUME_FORMAT,
            "step": step,
            "state": state_file,
            "settings": settings,
            "history": history,
            "best": {"score": best[0], "step": best[1], "val_auc": best[3]},
            "numpy_rng": _as_text(rng.bit_generator.state),  # 128-bit integers: as text, exact in any JSON reader
        },
    )
    for old in folder.glob("resume-*.safetensors"):
        if old.name != state_file:
            old.unlink(missing_ok=True)


def _as_text(state: Any) -> Any:
    """A random generator's state with every integer as a decimal string (and back with :func:`_as_ints`)."""
    if isinstance(state, dict):
        return {k: _as_text(v) for k, v in state.items()}
    return str(state) if isinstance(state, int) and not isinstance(state, bool) else state


def _as_ints(state: Any) -> Any:
    if isinstance(state, dict):
        return {k: _as_ints(v) for k, v in state.items()}
    return int(state) if isinstance(state, str) and state.lstrip("-").isdigit() else state


def _load_resume(folder: Path, model, optimiser, rng, settings: dict[str, Any]):
    """The state :func:`_save_resume` wrote (``None`` when there is none); refused when made with other settings
    or data."""
    from safetensors.torch import load_file

    from emoboost.detector.checkpoints import read_json_object

    if not (folder / RESUME_JSON).is_file():
        return None
    saved = read_json_object(folder / RESUME_JSON)
    if saved.get("format") != RESUME_FORMAT:
        raise ConfigError(f"{folder / RESUME_JSON}: not a consistency training state ({saved.get('format')!r})")
    if saved.get("settings") != settings:
        raise ConfigError(
            f"{folder}: holds a stopped run with other settings or data; delete {RESUME_JSON} to start again"
        )
    try:
        tensors = load_file(str(folder / str(saved["state"])))
        model.load_state_dict({k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")})
        state = optimiser.state_dict()
        moments: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optimiser."):
                _, index, name = key.split(".", 2)
                moments.setdefault(int(index), {})[name] = value
        optimiser.load_state_dict({"state": moments, "param_groups": state["param_groups"]})
        torch.set_rng_state(tensors["torch_rng"])
        rng.bit_generator.state = _as_ints(saved["numpy_rng"])
        best_state = {k[len("best.") :]: v for k, v in tensors.items() if k.startswith("best.")}
    except (KeyError, ValueError, RuntimeError, OSError) as exc:
        raise ConfigError(f"{folder}: unreadable training state ({exc}); delete {RESUME_JSON} to start again") from exc
    best = saved["best"]
    return int(saved["step"]), (float(best["score"]), int(best["step"]), best_state, best["val_auc"]), saved["history"]


def train_consistency(
    train: Sequence[RealClip],
    val: Sequence[RealClip],
    config: ConsistencyConfig,
    train_config: ConsistencyTrainConfig,
    on_step: Callable[[int, dict[str, Any]], None] = lambda step, entry: None,
    resume: Path | None = None,
) -> ConsistencyFit:
    """Fit a :class:`ConsistencyModel` on real clips (``val``: other identities, for choosing the step).

    ``resume``: a folder where the training state is saved at every evaluation; a run started again with the
    same settings and clips goes on from the last one saved and ends as the uninterrupted run would."""
    config.validate()
    train_config.validate()
    if not train or not val:
        raise ConfigError("consistency training needs real clips in train and in val")
    torch.manual_seed(train_config.seed)
    rng = np.random.default_rng(train_config.seed)
    first = train[0].tokens
    model = ConsistencyModel(config, first.face.shape[1], first.voice.shape[1])
    model.fit_normalisers(
        np.concatenate([c.tokens.face for c in train]), np.concatenate([c.tokens.voice for c in train])
    )
    sampler = _Sampler(train, config, rng)
    # val may hold one person (a small fold): its negatives are then that person's other recordings and shifts
    val_sampler = _Sampler(val, config, np.random.default_rng(train_config.seed + 1), min_identities=1)
    val_batch = val_sampler.batch(max(256, len(val) * 4))
    optimiser = torch.optim.AdamW(model.parameters(), lr=train_config.lr, weight_decay=train_config.weight_decay)
    best: tuple[float, int, dict[str, torch.Tensor], dict[str, float]] = (-1.0, 0, {}, {})
    history: list[dict[str, Any]] = []
    done = 0
    settings = {"model": to_dict(config), "train": to_dict(train_config), "data": _data_digest(train, val)}
    settings = json.loads(json.dumps(settings))  # as resume.json reads back
    if resume is not None:
        restored = _load_resume(resume, model, optimiser, rng, settings)
        if restored is not None:
            done, best, history = restored
            logger.info("resuming consistency training at step %d of %d", done, train_config.steps)
    for step in range(done + 1, train_config.steps + 1):
        model.train()
        batch = sampler.batch(train_config.batch_size)
        f, v = model.embed(batch["face"], batch["voice"])
        _, v_negative = model.embed(batch["face"], batch["negative"])
        contrastive = info_nce(f, v, batch["clip"], batch["start"], config)
        logits = torch.cat([model.consistency(f, v), model.consistency(f, v_negative)])
        labels = torch.cat([torch.ones(len(f)), torch.zeros(len(f))])
        loss = contrastive + F.binary_cross_entropy_with_logits(logits, labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % train_config.eval_every == 0 or step == train_config.steps:
            aucs = validation_auc(model, val_batch)
            score = float(np.mean(list(aucs.values())))
            entry = {"step": step, "loss": float(loss.detach()), "val_auc": aucs, "val_mean_auc": score}
            history.append(entry)
            if score > best[0]:
                best = (score, step, {k: t.detach().clone() for k, t in model.state_dict().items()}, aucs)
            if resume is not None:
                _save_resume(resume, model, optimiser, best, history, step, rng, settings)
            on_step(step, entry)
    model.load_state_dict(best[2])
    model.eval()
    data = {
        "train_clips": len(train),
        "train_identities": len({c.identity for c in train}),
        "val_clips": len(val),
        "val_identities": len({c.identity for c in val}),
        "revoiced_negatives": sum(len(c.revoiced) for c in train),
    }
    return ConsistencyFit(model, best[1], best[3], history, data)


def real_clips(
    rows: Sequence[ManifestRow], store: FeatureStore, root: str | Path, token_frames: int
) -> tuple[list[RealClip], list[ManifestRow]]:
    """Real rows' clips with features (and, for rows sharing a ``scenario`` with an ``RVFA-EMO`` row, that
    re-voiced clip as a hard negative); returns the clips and the rows without features."""
    root = Path(root)
    missing: list[ManifestRow] = []
    revoiced: dict[str, list[AffectTokens]] = {}
    for row in rows:
        if row.category == "RVFA-EMO" and row.scenario:
            record = store.find(root / row.path)
            if record is None:
                missing.append(row)
            else:
                revoiced.setdefault(row.scenario, []).append(affect_tokens(record, token_frames))
    clips = []
    for row in rows:
        if row.label != 0:
            continue
        record = store.find(root / row.path)
        if record is None:
            missing.append(row)
            continue
        recording = row.scenario or row.path
        clips.append(
            RealClip(affect_tokens(record, token_frames), row.identity, recording, tuple(revoiced.get(recording, [])))
        )
    return clips, missing


def save_consistency(folder: str | Path, fit: ConsistencyFit, meta: dict[str, Any] | None = None) -> Path:
    """``folder/consistency.safetensors`` + ``folder/config.json`` (written last, atomically)."""
    from emoboost.detector.checkpoints import save_state
    from emoboost.files import write_json_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_state(folder / WEIGHTS, fit.model, FORMAT)
    config = {
        "format": FORMAT,
        "model": to_dict(fit.model.config),
        "face_dim": fit.model.face_dim,
        "voice_dim": fit.model.voice_dim,
        "training": {"best_step": fit.best_step, "val_auc": fit.val_auc, "data": fit.data},
        **(meta or {}),
    }
    write_json_atomic(folder / "config.json", config)
    return folder


def load_consistency(folder: str | Path) -> ConsistencyModel:
    """A saved consistency model (safetensors + JSON; nothing is unpickled)."""
    from emoboost.detector.checkpoints import load_state, read_config

    folder = Path(folder)
    config = read_config(folder, FORMAT)
    try:
        model_config = from_dict(ConsistencyConfig, config["model"])
        model = ConsistencyModel(model_config, int(config["face_dim"]), int(config["voice_dim"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{folder / 'config.json'}: not a consistency model ({exc})") from exc
    load_state(folder / WEIGHTS, model)
    return model
