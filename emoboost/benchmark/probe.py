"""Encoder probes: can the emotion class be read linearly from each stream of the feature store?

EmoForensics can only detect fakes *through emotion* if its inputs carry the emotion. This
module measures that, identity held out:

- samples are **token means** (``token_frames`` grid frames, what the transformer sees; face
  streams averaged over frames with a face only) and, when every clip has one emotion label
  (RAVDESS, CREMA-D), **clip means** too. With per-segment emotion tracks (SynthAV's
  ``label@start_s;...`` column) a token is labelled when one emotion covers at least
  ``min_share`` of its frames and left out otherwise;
- per stream (``visual``, ``speech`` or any other ``[T, D]`` array of the records, e.g. a
  face-geometry stream): standardisation + multinomial logistic regression, cross-validated
  with :class:`~sklearn.model_selection.GroupKFold` over identities, so no identity is in the
  training and test part of the same fold;
- baselines: chance (1 / classes) and the majority class of each training part, scored the
  same way;
- agreement: on the same real clips, how often the out-of-fold face prediction equals the
  out-of-fold voice prediction (and Cohen's kappa, which discounts agreement by chance);
- optionally, how much of each stream is predictable from a mouth-opening signal
  (``mouth=ARRAY[:COLUMN]``): R^2 of a ridge regression from the stream to the mouth signal,
  identity held out. A visual stream that mostly encodes mouth opening gives a cross-modal
  signal that is lip-sync, not emotion.

Only real clips (label 0) are probed unless ``real_only`` is False: fakes carry, by design,
faces and voices whose emotions may differ.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emoboost.data.manifest import ManifestRow, emotion_track
from emoboost.errors import ConfigError, StoreError
from emoboost.features.store import FeatureRecord, FeatureStore
from emoboost.media.timebase import TOKEN_FRAMES
from emoboost.models.tokens import token_means

FACE_STREAMS = ("visual", "expressions", "geometry")  # streams that mean something only where a face was found
PRIMARY = ("visual", "speech")


@dataclasses.dataclass(frozen=True)
class ProbeConfig:
    streams: tuple[str, ...] = PRIMARY
    token_frames: int = TOKEN_FRAMES
    folds: int = 5
    min_share: float = 0.8
    regularisation: float = 1.0  # inverse L2 strength (scikit-learn's C)
    real_only: bool = True
    mouth: str | None = None  # ARRAY[:COLUMN] of the records holding a mouth-opening signal

    def validate(self) -> None:
        if not self.streams or self.token_frames < 1 or self.folds < 2 or not 0.5 < self.min_share <= 1:
            raise ConfigError("probe: streams must be given, token_frames >= 1, folds >= 2, 0.5 < min_share <= 1")


@dataclasses.dataclass(frozen=True)
class Samples:
    """Probe samples of one unit (tokens or clips)."""

    features: dict[str, np.ndarray]  # stream -> [S, D]
    valid: dict[str, np.ndarray]  # stream -> [S] bool (a face stream without a face is not a sample)
    labels: np.ndarray  # [S] emotion names
    groups: np.ndarray  # [S] identity
    mouth: np.ndarray | None  # [S] mouth opening, when asked for


@dataclasses.dataclass(frozen=True)
class StreamResult:
    accuracy: float
    chance: float
    majority: float
    samples: int
    classes: tuple[str, ...]
    mouth_r2: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "accuracy": self.accuracy,
            "chance": self.chance,
            "majority": self.majority,
            "samples": self.samples,
        }
        out["classes"] = list(self.classes)
        if self.mouth_r2 is not None:
            out["mouth_r2"] = self.mouth_r2
        return out


@dataclasses.dataclass(frozen=True)
class ProbeReport:
    unit: str  # "clip" or "token": the unit of the primary results
    results: dict[str, StreamResult]  # stream (or "stream@token") -> result
    agreement: float | None
    kappa: float | None
    clips: int
    identities: int
    missing: int  # labelled clips without a feature record

    def to_dict(self) -> dict:
        out: dict = {name: result.to_dict() for name, result in self.results.items()}
        out.update(agreement=self.agreement, kappa=self.kappa, unit=self.unit, clips=self.clips)
        out.update(identities=self.identities, missing=self.missing)
        return out

    def markdown(self) -> str:
        lines = [
            "| stream | unit | accuracy | chance | majority | samples | mouth R^2 |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for name, r in self.results.items():
            stream, _, unit = name.partition("@")
            r2 = "" if r.mouth_r2 is None else f"{r.mouth_r2:.2f}"
            figures = f"{r.accuracy:.3f} | {r.chance:.3f} | {r.majority:.3f} | {r.samples} | {r2}"
            lines.append(f"| {stream} | {unit or self.unit} | {figures} |")
        agreement = "n/a" if self.agreement is None else f"{self.agreement:.3f} (kappa {self.kappa:.3f})"
        lines.append("")
        held_out = f"{self.clips} clips, {self.identities} identities (held out by GroupKFold)"
        lines.append(f"{held_out}; face-voice agreement {agreement}")
        return "\n".join(lines)


def frame_labels(track: Sequence[tuple[float, str]], n_frames: int, fps: float) -> np.ndarray:
    """The emotion of every grid frame (at its centre) from a ``[(start_s, label)]`` track."""
    starts = np.array([start for start, _ in track])
    names = np.array([label for _, label in track])
    index = np.searchsorted(starts, (np.arange(n_frames) + 0.5) / fps, side="right") - 1
    return names[np.clip(index, 0, len(names) - 1)]


def token_labels(labels: np.ndarray, token_frames: int, min_share: float) -> np.ndarray:
    """Majority emotion per token; ``""`` where no emotion covers ``min_share`` of the token."""
    out = []
    for start in range(0, len(labels), token_frames):
        names, counts = np.unique(labels[start : start + token_frames], return_counts=True)
        best = int(np.argmax(counts))
        out.append(str(names[best]) if counts[best] >= min_share * token_frames else "")
    return np.array(out)


def _stream(record: FeatureRecord, name: str) -> np.ndarray:
    if name not in record.arrays:
        names = ", ".join(sorted(record.arrays))
        raise StoreError(f"{record.meta.get('source', record.sha256)}: no {name!r} array in the record ({names})")
    values = np.asarray(record.arrays[name], np.float32)
    return values[:, None] if values.ndim == 1 else values.reshape(len(values), -1)


def _mouth(record: FeatureRecord, spec: str) -> np.ndarray:
    name, _, column = spec.partition(":")
    values = _stream(record, name)
    return values[:, int(column)] if column else values.mean(axis=1)


def collect(
    rows: Sequence[ManifestRow], store: FeatureStore, root: Path, config: ProbeConfig
) -> tuple[Samples, Samples | None, int]:
    """Token samples, clip samples (when every clip has one label) and the count of clips without features."""
    rows = [r for r in rows if r.emotion and (r.label == 0 or not config.real_only)]
    if not rows:
        raise ConfigError("the manifest has no clips with an emotion label (column 'emotion') to probe")
    parts: dict[str, list] = {"labels": [], "groups": [], "mouth": [], "clip_index": []}
    features: dict[str, list] = {s: [] for s in config.streams}
    weights: dict[str, list] = {s: [] for s in config.streams}
    single_label, missing = True, 0
    for index, row in enumerate(rows):
        record = store.find(root / row.path)
        if record is None:
            missing += 1
            continue
        track = emotion_track(row.emotion)
        single_label &= len({label for _, label in track}) == 1
        labels = token_labels(frame_labels(track, record.n_frames, record.fps), config.token_frames, config.min_share)
        for stream in config.streams:
            weight = record.face_mask if stream in FACE_STREAMS else np.ones(record.n_frames, bool)
            means, total = token_means(
                _stream(record, stream)[: record.n_frames], weight[: record.n_frames], config.token_frames
            )
            features[stream].append(means)
            weights[stream].append(total)
        if config.mouth:
            parts["mouth"].append(
                token_means(_mouth(record, config.mouth)[:, None], record.face_mask, config.token_frames)[0][:, 0]
            )
        parts["labels"].append(labels)
        parts["groups"].append(np.full(len(labels), row.identity))
        parts["clip_index"].append(np.full(len(labels), index))
    if not parts["labels"]:
        raise StoreError(
            f"none of the {len(rows)} labelled clips has features in {store.root} (run `emoboost extract` first)"
        )
    labels, clip_index = np.concatenate(parts["labels"]), np.concatenate(parts["clip_index"])
    keep = labels != ""
    tokens = Samples(
        {s: np.concatenate(v)[keep] for s, v in features.items()},
        {s: np.concatenate(w)[keep] > 0 for s, w in weights.items()},
        labels[keep],
        np.concatenate(parts["groups"])[keep],
        np.concatenate(parts["mouth"])[keep] if config.mouth else None,
    )
    clips = _clip_means(tokens, clip_index[keep]) if single_label else None
    return tokens, clips, missing


def _clip_means(tokens: Samples, clip_index: np.ndarray) -> Samples:
    """One sample per clip: the mean of its valid tokens per stream."""
    order = np.unique(clip_index)
    first = np.array([np.flatnonzero(clip_index == c)[0] for c in order])
    features, valid = {}, {}
    for stream, values in tokens.features.items():
        rows = []
        for c in order:
            chosen = (clip_index == c) & tokens.valid[stream]
            rows.append(values[chosen].mean(axis=0) if chosen.any() else np.zeros(values.shape[1], np.float32))
        features[stream] = np.stack(rows)
        valid[stream] = np.array([((clip_index == c) & tokens.valid[stream]).any() for c in order])
    mouth = None if tokens.mouth is None else np.array([tokens.mouth[clip_index == c].mean() for c in order])
    return Samples(features, valid, tokens.labels[first], tokens.groups[first], mouth)


def _folds(groups: np.ndarray, folds: int):
    from sklearn.model_selection import GroupKFold

    count = len(np.unique(groups))
    if count < 2:
        raise ConfigError(f"the probe holds identities out and needs at least 2 identities, not {count}")
    return list(GroupKFold(n_splits=min(folds, count)).split(np.zeros(len(groups)), groups=groups))


def probe_stream(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, config: ProbeConfig
) -> tuple[StreamResult, np.ndarray]:
    """Identity-held-out accuracy of a linear probe and its baselines; returns out-of-fold predictions too."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    predicted = np.empty(len(y), dtype=object)
    majority_hits = 0
    for train, test in _folds(groups, config.folds):
        names, counts = np.unique(y[train], return_counts=True)
        majority_hits += int((y[test] == names[np.argmax(counts)]).sum())
        if len(names) == 1:
            predicted[test] = names[0]
            continue
        model = make_pipeline(StandardScaler(), LogisticRegression(C=config.regularisation, max_iter=2000))
        predicted[test] = model.fit(x[train], y[train]).predict(x[test])
    classes = tuple(str(c) for c in np.unique(y))
    result = StreamResult(float(np.mean(predicted == y)), 1 / len(classes), majority_hits / len(y), len(y), classes)
    return result, predicted.astype(str)


def mouth_r2(x: np.ndarray, mouth: np.ndarray, groups: np.ndarray, config: ProbeConfig) -> float:
    """Pooled out-of-fold R^2 of a ridge regression from ``x`` to the mouth signal, identity held out."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    predicted = np.zeros(len(mouth))
    for train, test in _folds(groups, config.folds):
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13)))
        predicted[test] = model.fit(x[train], mouth[train]).predict(x[test])
    total = float(((mouth - mouth.mean()) ** 2).sum())
    return 1 - float(((mouth - predicted) ** 2).sum()) / total if total > 0 else float("nan")


def _probe_unit(
    samples: Samples, config: ProbeConfig, suffix: str
) -> tuple[dict[str, StreamResult], dict[str, np.ndarray]]:
    results, predictions = {}, {}
    for stream in config.streams:
        valid = samples.valid[stream]
        if len(np.unique(samples.labels[valid])) < 2:
            continue
        x, y, g = samples.features[stream][valid], samples.labels[valid], samples.groups[valid]
        result, predicted = probe_stream(x, y, g, config)
        if samples.mouth is not None:
            result = dataclasses.replace(result, mouth_r2=mouth_r2(x, samples.mouth[valid], g, config))
        full = np.full(len(valid), "", dtype=object)
        full[valid] = predicted
        results[stream + suffix], predictions[stream] = result, full.astype(str)
    return results, predictions


def agreement(face: np.ndarray, voice: np.ndarray) -> tuple[float | None, float | None]:
    """Share of samples where both predictions exist and agree, and Cohen's kappa of the two."""
    both = (face != "") & (voice != "")
    if not both.any():
        return None, None
    face, voice = face[both], voice[both]
    observed = float(np.mean(face == voice))
    names = np.union1d(face, voice)
    expected = float(sum(np.mean(face == n) * np.mean(voice == n) for n in names))
    return observed, (observed - expected) / (1 - expected) if expected < 1 else 0.0


def run_probe(
    rows: Sequence[ManifestRow], store: FeatureStore, root: Path, config: ProbeConfig | None = None
) -> ProbeReport:
    """Probe every stream of ``config`` on the emotion-labelled clips of ``rows``."""
    config = config or ProbeConfig()
    config.validate()
    tokens, clips, missing = collect(rows, store, root, config)
    primary = clips if clips is not None else tokens
    results, predictions = _probe_unit(primary, config, "")
    if clips is not None:
        results.update(_probe_unit(tokens, config, "@token")[0])
    observed, kappa = (None, None)
    if "visual" in predictions and "speech" in predictions:
        observed, kappa = agreement(predictions["visual"], predictions["speech"])
    n_clips = sum(1 for r in rows if r.emotion and (r.label == 0 or not config.real_only)) - missing
    return ProbeReport(
        "clip" if clips is not None else "token",
        results,
        observed,
        kappa,
        n_clips,
        len(np.unique(tokens.groups)),
        missing,
    )


def write_report(report: ProbeReport, out_dir: str | Path) -> tuple[Path, Path]:
    """``probe.json`` and ``probe.md`` under ``out_dir`` (atomic)."""
    from emoboost.files import write_json_atomic, write_text_atomic

    out_dir = Path(out_dir)
    write_json_atomic(out_dir / "probe.json", report.to_dict())
    write_text_atomic(out_dir / "probe.md", report.markdown() + "\n")
    return out_dir / "probe.json", out_dir / "probe.md"


def summary_line(report: ProbeReport) -> str:
    """The one-line JSON the CLI prints last."""
    return json.dumps(report.to_dict(), sort_keys=False)
