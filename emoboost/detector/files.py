"""The files of a detector folder: their names, the hash over them (and its check on load), where a named
detector lives, and the ``README.md`` model card. :class:`emoboost.detector.detector.Detector` reads and writes them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from emoboost.detector.checkpoints import folder_hash
from emoboost.errors import ConfigError
from emoboost.files import cache_dir
from emoboost.models.fusion import Fusion
from emoboost.models.networks import NETWORKS

# /2: one config.json section and one <name>.safetensors per network of the networks table (/1 had
# emoforensics / rgb / audio sections of three shapes); a /1 folder is refused with the way out
DETECTOR_FORMAT = "emoboost.detector/2"
HASHED_FILES = (*(n.weights_file for n in NETWORKS), "fusion.json", "README.md")  # and config.json, by content
CONSISTENCY_WEIGHTS = "consistency.safetensors"  # the real-only consistency detector, when the folder has one


def hashed_files(config: dict[str, Any]) -> tuple[str, ...]:
    """The files a folder's hash covers: :data:`HASHED_FILES`, and the consistency detector's weights when
    ``config.json`` has a ``consistency`` section."""
    return (*HASHED_FILES, *((CONSISTENCY_WEIGHTS,) if "consistency" in config else ()))


HASH_KEY = "weights_sha256"
GENERATED_DATASETS = ("synthav",)  # dataset-name prefixes of generated (not recorded) training data
logger = logging.getLogger(__name__)


def detector_folder(path_or_name: str | Path) -> Path:
    """A detector directory, or a named one under ``<cache>/detectors/<name>``."""
    folder = Path(path_or_name).expanduser()
    if folder.is_dir():
        return folder
    named_root = cache_dir() / "detectors"
    named = named_root / str(path_or_name)
    if folder.is_absolute() or not named.is_dir():
        raise ConfigError(
            f"{path_or_name}: not a detector directory, nor a detector name under {named_root} "
            "(run `emoboost quickstart` to train one)"
        )
    return named


def verify_hash(folder: Path, config: dict[str, Any], allow_unverified: bool) -> str:
    """The folder's hash, checked against config.json's; refused when config.json has none (unless allowed)."""
    files = hashed_files(config)
    for name in files:
        if not (folder / name).is_file():
            raise ConfigError(
                f"{folder}: {name} is missing (this detector folder holds {', '.join(files)} and config.json)"
            )
    actual = folder_hash(folder, files, config, HASH_KEY)
    stored = config.get(HASH_KEY)
    if stored is None:
        if not allow_unverified:
            raise ConfigError(
                f"{folder}: config.json has no {HASH_KEY}, so its files cannot be verified "
                "(Python: allow_unverified=True loads it anyway)"
            )
        logger.warning("%s: loading a detector without a hash (allow_unverified)", folder)
    elif stored != actual:
        raise ConfigError(f"{folder}: files do not match the {HASH_KEY} in config.json (changed after saving)")
    return actual


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.3f}"


def consistency_card(config: dict[str, Any]) -> list[str]:
    """The model card's section on the real-only consistency detector (none for a detector without one)."""
    if "consistency" not in config:
        return []
    entry = config.get("training", {}).get("consistency", {})
    data = entry.get("data", {})
    extra = config.get("data", {}).get("extra_real") or {}
    by_negative = entry.get("val_auc_by_negative", {})
    band = entry.get("real_band")
    separately = entry.get("trained_separately")
    lines = [
        "",
        "## Face-voice consistency detector (trained on real clips only)",
        "- what it scores: how implausible the face's and the voice's affect are together, per 2 s window "
        "(expression and face geometry against voiced pitch, loudness, voicing and speech activity); the clip "
        "score is the mean over windows. It never saw a fake.",
        (
            f"- trained on: {data.get('train_clips', '?')} real clips of {data.get('train_identities', '?')} "
            f"identities, of which {data.get('extra_real_clips', 0)} beyond the detector's training split"
            + (f" ({extra.get('manifest')}, SHA-256 {extra.get('manifest_sha256', '?')})" if extra else "")
            + (
                f"; {data['extra_real_val_clips']} further real clips of other people joined val's in choosing its step"
                if data.get("extra_real_val_clips")
                else ""
            )
        ),
        *(
            [
                f"- trained separately (`emoboost train-consistency`, {separately.get('folder')}): "
                f"{len(separately.get('real_data', {}).get('manifests', []))} manifests, people of "
                f"{separately.get('real_data', {}).get('excluded_identities', 0)} identities left out"
            ]
            if separately
            else []
        ),
        (
            f"- step chosen on {data.get('val_clips', '?')} real validation clips of "
            f"{data.get('val_identities', '?')} identities: step {entry.get('best_epoch', '?')}"
        ),
    ]
    if by_negative:
        lines.append(
            "- validation AUC, aligned windows vs each kind of pairing they were not recorded with: "
            + ", ".join(f"{kind} {value:.3f}" for kind, value in by_negative.items())
        )
    if isinstance(band, list) and len(band) == 2:
        lines.append(
            f"- real calibration clips' windows: 5th to 95th percentile {band[0]:+.3f} to {band[1]:+.3f} "
            "(the band in every timeline)"
        )
    return lines


def detector_card(config: dict[str, Any], fusion: Fusion) -> str:
    """The ``README.md`` model card of a detector folder, from its config and fusion."""
    from emoboost.calibration import llr_metrics

    data, training, point = config.get("data", {}), config.get("training", {}), fusion.operating_point
    metrics = {} if training else config.get("metrics", {})
    held_out = data.get("held_out")
    weights = ", ".join(f"{name} {weight:+.3f}" for name, weight in zip(fusion.inputs, fusion.weights, strict=False))
    real, fake = fusion.calibration_llrs()
    generated = data.get("generated")
    if generated is None and data.get("dataset"):
        generated = str(data["dataset"]).lower().startswith(GENERATED_DATASETS)
    lines = [
        f"# emoboost detector: {config.get('model_id', '')}",
        "",
        "EmoForensics (face/voice emotion consistency) + RGB face-crop CNN + acoustic log-mel CNN"
        + (" + a face-voice consistency detector trained on real clips only" if "consistency" in config else "")
        + ", fused",
        "by EMO-BOOST (prior-weighted logistic regression: its output is a natural-log likelihood ratio). Load with",
        "`emoboost.Detector.from_pretrained(path)` or `emoboost detect --model PATH`; weights are safetensors,",
        "nothing is pickled.",
        "",
        "## Training data",
        f"- dataset: {data.get('dataset', '?')} (manifest SHA-256 {data.get('manifest_sha256', '?')})",
        f"- generated: {'yes' if generated else 'no' if generated is not None else '?'}",
        (
            f"- clips: {data.get('train_clips', '?')} train, {data.get('val_clips', '?')} validation (early stopping), "
            f"{data.get('calib_clips', '?')} calibration (fusion and threshold); identity-disjoint"
        ),
        f"- calibration (fusion): {len(real)} real, {len(fake)} fake clips",
        f"- held-out categories: {', '.join(held_out) if held_out else 'none'}",
        "",
        "## Decision",
        f"- fusion: LLR = {weights}, bias {fusion.bias:+.3f}",
        (
            f"- rule: {point.get('rule', '?')}, LLR threshold at prior 0.5: {fusion.decision_threshold(0.5):+.3f}; "
            f"calibration FPR {_number(point.get('fpr'))}, TPR {_number(point.get('tpr'))}"
        ),
    ]
    if len(real) and len(fake):
        labels = np.r_[np.zeros(len(real)), np.ones(len(fake))]
        scores = llr_metrics(labels, np.r_[real, fake], fusion.decision_threshold(0.5))
        lines += [
            "",
            "## Calibration (on the calibration clips the fusion was fitted on: in-sample)",
            (
                f"- Cllr {scores['cllr']:.3f} bits, Cllr_min {scores['cllr_min']:.3f}, "
                f"ECE at the balanced prior {scores['ece_balanced']:.3f}"
            ),
            (
                f"- misleading evidence: {scores['misleading_real']:.1%} of real clips with LR > 1, "
                f"{scores['misleading_fake']:.1%} of fake clips with LR < 1"
            ),
        ]
    if training:
        lines += ["", "## Networks (label learnt, validation AUC on that label, best epoch)"]
        lines += [
            (
                f"- {name}: {entry.get('label', '?')}, "
                f"{'n/a' if entry.get('val_auc') is None else format(entry['val_auc'], '.4f')}, "
                f"epoch {entry.get('best_epoch', '?')}"
            )
            for name, entry in training.items()
        ]
    if metrics:
        lines += ["", "## Validation AUC", *(f"- {name}: {_number(value)}" for name, value in metrics.items())]
    lines += consistency_card(config)
    encoders = config.get("encoders") or config.get("extract", {}).get("encoders", {})
    if encoders.get("visual") and encoders.get("speech"):
        from emoboost.encoders import attributions

        lines += ["", "## Encoder weights (attribution and licences)"]
        lines += [f"- {line}" for line in attributions(str(encoders["visual"]), str(encoders["speech"]))]
    lines += [
        "",
        "A detector trained on SynthAV checks the pipeline; it is not a FakeAVCeleb detector and says",
        "nothing about real-world deepfakes.",
        "",
    ]
    return "\n".join(lines)
