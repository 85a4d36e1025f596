"""The Python API: ``Detector.from_pretrained(path).predict(video) -> Verdict``.

A detector is a directory: ``config.json`` (format tag, extraction settings,
encoder ids and versions, the networks' configs, training data and metrics),
one ``<network>.safetensors`` per network of :data:`emoboost.models.networks.NETWORKS`, ``fusion.json``
(EMO-BOOST weights, threshold and its validation operating point) and a ``README.md`` model
card. Nothing is unpickled.

``predict`` extracts the features of a file with the detector's own extraction settings, scores
it with the three networks, fuses the logits and returns a frozen :class:`Verdict` with
provenance (input SHA-256, model id, weights hash, threshold and its calibration operating point,
training data) and warnings about input quality and the detector's scope. The fused score is a
calibrated natural-log likelihood ratio (LLR, see :mod:`emoboost.models.fusion`); the verdict
states it, its verbal equivalent (:func:`emoboost.calibration.verbal`), the prior and the
posterior probability of fake at that prior. The timeline has one segment per EmoForensics window.
The verdict types live in :mod:`emoboost.detector.verdict`, the folder's files, hash and model card in
:mod:`emoboost.detector.files`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import torch

from emoboost.config import ExtractConfig, RuntimeConfig, from_dict, resolve_device, to_dict
from emoboost.detector.checkpoints import folder_hash, load_state, read_config, read_json_object, save_state
from emoboost.detector.files import (
    CONSISTENCY_WEIGHTS,
    DETECTOR_FORMAT,
    GENERATED_DATASETS,
    HASH_KEY,
    detector_card,
    detector_folder,
    hashed_files,
    verify_hash,
)
from emoboost.detector.verdict import Decision, Failure, Segment, Verdict, json_default, record_tracks
from emoboost.errors import ConfigError
from emoboost.features.store import FeatureRecord
from emoboost.files import write_json_atomic, write_text_atomic
from emoboost.media.levels import SILENCE_DB
from emoboost.media.timebase import FPS, MEL_PER_FRAME
from emoboost.models.consistency import (
    ConsistencyConfig,
    ConsistencyModel,
    affect_dims,
    affect_tokens,
    window_inconsistency,
)
from emoboost.models.emoforensics import EmoForensics, EmoForensicsConfig
from emoboost.models.fusion import FUSION_FORMAT, Fusion
from emoboost.models.inference import ClipScores, predict_clip, sigmoid
from emoboost.models.lowlevel import (
    AcousticConfig,
    AcousticDetector,
    RGBConfig,
    RGBDetector,
    acoustic_segment_logits,
    rgb_crop_logits,
)
from emoboost.models.networks import BY_NAME, CONSISTENCY, NETWORK_NAMES, NETWORKS, Network
from emoboost.models.tokens import tokenize_record
from emoboost.timing import Stopwatch

if TYPE_CHECKING:
    from emoboost.features.extract import FeatureExtractor

LOW_FACE_FRACTION = 0.5
LOW_SPEECH_FRACTION = 0.3
MIN_CALIBRATION_CLIPS = 50  # per class; fewer and the verdict warns that its LR rests on little data


def _builder(network: Network, section: dict[str, Any]) -> Callable[[], torch.nn.Module]:
    """The untrained network a ``config.json`` section describes (settings checked, sizes as stored)."""
    settings = from_dict(network.config_class, section["settings"], f"{network.name}.settings")
    sizes = section.get("sizes", {})
    return lambda: network.build(settings, sizes)


NOT_VALIDATED = "not validated for this material"  # lr_verbal of a detector trained only on generated clips


class Detector:
    """EmoForensics + RGB + acoustic detectors (and, when trained with one, the real-only face-voice consistency
    detector) fused by EMO-BOOST. Load with :meth:`from_pretrained`."""

    def __init__(
        self,
        emo: EmoForensics,
        rgb: RGBDetector,
        acoustic: AcousticDetector,
        fusion: Fusion,
        extract_config: ExtractConfig,
        meta: dict[str, Any] | None = None,
        consistency: ConsistencyModel | None = None,
    ):
        self.emo, self.rgb, self.acoustic, self.fusion = emo.eval(), rgb.eval(), acoustic.eval(), fusion
        self.consistency = consistency.eval() if consistency is not None else None
        if CONSISTENCY in fusion.inputs and consistency is None:
            raise ConfigError("the fusion reads a consistency score but the detector has no consistency model")
        self.extract_config = extract_config
        self.meta = dict(meta or {})
        self._extractor: FeatureExtractor | None = None
        self._weights_sha256: str | None = self.meta.get("weights_sha256")
        self.last_timings: dict[
            str, float
        ] = {}  # seconds per stage of the last predict (benchmarks; not in the verdict)

    def network(self, name: str) -> torch.nn.Module:
        """The network called ``name`` in :data:`emoboost.models.networks.NETWORKS`."""
        return {"emo": self.emo, "rgb": self.rgb, "acoustic": self.acoustic}[name]

    # -- persistence -------------------------------------------------------------------------
    def save_pretrained(self, folder: str | Path) -> Path:
        """Write the detector directory (atomic file by file; ``config.json`` last)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for network in NETWORKS:
            save_state(folder / network.weights_file, self.network(network.name), DETECTOR_FORMAT)
        if self.consistency is not None:
            save_state(folder / CONSISTENCY_WEIGHTS, self.consistency, DETECTOR_FORMAT)
        write_json_atomic(folder / "fusion.json", self.fusion.to_dict())
        config = {
            **{k: v for k, v in self.meta.items() if k != CONSISTENCY},
            "format": DETECTOR_FORMAT,
            "extract": to_dict(self.extract_config),
            **{
                n.name: {"settings": to_dict(self.network(n.name).config), "sizes": n.sizes_of(self.network(n.name))}
                for n in NETWORKS
            },
            "training_data": self.training_data(),  # dataset, clips, generated, calibration clips per class
        }
        if self.consistency is not None:
            model = self.consistency
            config[CONSISTENCY] = {
                "settings": to_dict(model.config),
                "sizes": {"face_dim": model.face_dim, "voice_dim": model.voice_dim},
            }
        config.pop(HASH_KEY, None)
        config = json.loads(json.dumps(config, default=json_default))  # exactly what config.json will read back as
        write_text_atomic(folder / "README.md", detector_card(config, self.fusion))
        self._weights_sha256 = folder_hash(folder, hashed_files(config), config, HASH_KEY)
        write_json_atomic(folder / "config.json", {**config, HASH_KEY: self._weights_sha256})
        return folder

    @classmethod
    def from_pretrained(
        cls, path_or_name: str | Path, trusted_encoders: Sequence[str] = (), allow_unverified: bool = False
    ) -> Detector:
        """Load a detector directory, or a named one under ``<cache>/detectors/<name>``.

        The folder is checked as data before anything is built (see :mod:`emoboost.detector.schema`):
        its hash (over every file it loads and config.json), config.json and fusion.json against
        their schemas, its encoders against the ones this machine allows (built-in names, the
        user's configuration, ``trusted_encoders``) and the weights' shapes against the config.
        A folder without a hash is refused unless ``allow_unverified``. Raises
        :class:`~emoboost.errors.ConfigError` (one line) for every problem."""
        from emoboost.detector import schema

        folder = detector_folder(path_or_name)
        try:
            config = read_config(folder, DETECTOR_FORMAT)
        except ConfigError as exc:
            if "format 'emoboost.detector/" not in str(exc):
                raise
            raise ConfigError(
                f"{exc}: made by another emoboost version; train it again with this one "
                "(emoboost quickstart, emoboost train or emoboost benchmark)"
            ) from exc
        actual = verify_hash(folder, config, allow_unverified)
        schema.check_detector_config(config, folder / "config.json")
        schema.check_encoders(config, folder / "config.json", schema.allowed_encoders(trusted_encoders))
        fusion_data = read_json_object(folder / "fusion.json") if (folder / "fusion.json").is_file() else None
        if fusion_data is None:
            raise ConfigError(f"{folder}: no fusion.json (every detector folder has one)")
        try:
            if fusion_data.get("format") != FUSION_FORMAT:
                Fusion.from_dict(fusion_data)  # says why an older format is refused, and the way out
            schema.check_fusion(fusion_data, folder / "fusion.json")
            fusion = Fusion.from_dict(fusion_data)
        except ConfigError as exc:  # e.g. a detector from before calibrated LLRs
            message = str(exc)
            raise ConfigError(
                message if message.startswith(str(folder)) else f"{folder / 'fusion.json'}: {message}"
            ) from exc
        builders = {n.name: _builder(n, config[n.name]) for n in NETWORKS}
        for name, build in builders.items():
            schema.check_weight_shapes(build, folder / BY_NAME[name].weights_file)
        consistency: Callable[[], ConsistencyModel] | None = None
        if CONSISTENCY in config:
            section = config[CONSISTENCY]
            settings = from_dict(ConsistencyConfig, section["settings"], "consistency.settings")
            sizes = section["sizes"]

            def build_consistency() -> ConsistencyModel:
                return ConsistencyModel(settings, int(sizes["face_dim"]), int(sizes["voice_dim"]))

            schema.check_weight_shapes(build_consistency, folder / CONSISTENCY_WEIGHTS)
            consistency = build_consistency
        elif CONSISTENCY in fusion.inputs:
            raise ConfigError(f"{folder / 'fusion.json'}: reads a consistency score; config.json has no consistency")
        # the runtime (device, threads) is the machine's: a detector saved on a GPU loads on a CPU
        extract_config = dataclasses.replace(
            from_dict(ExtractConfig, config["extract"], "extract"), runtime=RuntimeConfig()
        )
        networks = {name: load_state(folder / BY_NAME[name].weights_file, build()) for name, build in builders.items()}
        consistency_model = None
        if consistency is not None:
            loaded = load_state(folder / CONSISTENCY_WEIGHTS, consistency())
            assert isinstance(loaded, ConsistencyModel)
            consistency_model = loaded
        meta = {k: v for k, v in config.items() if k not in {"format", "extract", CONSISTENCY, *NETWORK_NAMES}}
        meta.setdefault("model_id", folder.name)
        emo, rgb, acoustic = (networks[name] for name in NETWORK_NAMES)
        assert isinstance(emo, EmoForensics) and isinstance(rgb, RGBDetector) and isinstance(acoustic, AcousticDetector)
        detector = cls(emo, rgb, acoustic, fusion, extract_config, meta, consistency_model)
        detector._weights_sha256 = actual
        return detector

    def to(self, device: str | torch.device) -> Detector:
        """Run the networks and the feature extraction on ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``);
        returns self.

        Raises :class:`~emoboost.errors.ConfigError` when the device is not usable on this machine."""
        device = resolve_device(str(device))
        for name in NETWORK_NAMES:
            self.network(name).to(device)
        # the consistency model stays on the CPU: a few thousand parameters over a few dozen windows
        runtime = dataclasses.replace(self.extract_config.runtime, device=device)
        self.extract_config = dataclasses.replace(self.extract_config, runtime=runtime)
        self._extractor = None
        return self

    @classmethod
    def untrained(
        cls,
        extract_config: ExtractConfig | None = None,
        emo_config: EmoForensicsConfig | None = None,
        rgb_config: RGBConfig | None = None,
        acoustic_config: AcousticConfig | None = None,
        seed: int = 0,
        consistency_config: ConsistencyConfig | None = None,
    ) -> Detector:
        """The architecture with random weights and an even fusion: for speed benchmarks and tests, never for verdicts.

        Sized for the encoders the extraction config names (built once here to read their dimensions); with
        ``consistency_config``, a consistency detector too (a fourth fusion input)."""
        from emoboost.encoders import build_speech_encoder, build_visual_encoder

        extract_config = extract_config or ExtractConfig()
        names = extract_config.encoders
        visual = build_visual_encoder(names.visual, "cpu", names.local_files_only, names.face_mesh_stride)
        speech = build_speech_encoder(names.speech, "cpu", names.local_files_only, names.speech_clip_normalisation)
        torch.manual_seed(seed)
        point = {"rule": "bayes", "fpr": None, "tpr": None, "val_clips": 0}
        consistency = None
        if consistency_config is not None:
            consistency = ConsistencyModel(consistency_config, *affect_dims(visual.dim, len(visual.labels), speech.dim))
        inputs = (*NETWORK_NAMES, *((CONSISTENCY,) if consistency is not None else ()))
        fusion = Fusion(inputs, (1.0, 0.5, 0.5, 0.5)[: len(inputs)], 0.0, 0.0, point)
        return cls(
            EmoForensics(emo_config or EmoForensicsConfig(), visual.dim, speech.dim),
            RGBDetector(rgb_config or RGBConfig()),
            AcousticDetector(acoustic_config or AcousticConfig(), extract_config.lowlevel.n_mels),
            fusion,
            extract_config,
            {"model_id": "untrained", "encoders": {"visual": visual.id, "speech": speech.id}},
            consistency,
        )

    @property
    def weights_sha256(self) -> str | None:
        """SHA-256 over every file of the folder and config.json's content (None until saved or loaded)."""
        return self._weights_sha256

    @property
    def model_id(self) -> str:
        return str(self.meta.get("model_id", "emoboost-detector"))

    # -- inference ---------------------------------------------------------------------------
    def _extract(self, path: Path, allow_audio_only: bool) -> FeatureRecord:
        if self._extractor is None:
            from emoboost.features.extract import FeatureExtractor

            self._extractor = FeatureExtractor(self.extract_config)
            expected = self.meta.get("encoders", {})
            actual = {"visual": self._extractor.visual.id, "speech": self._extractor.speech.id}
            if expected and any(expected.get(k) != v for k, v in actual.items()):
                raise ConfigError(f"this detector was trained on {expected} features but the extractor builds {actual}")
        return self._extractor.extract(path, require_face=not allow_audio_only)

    @overload
    def predict(  # type: ignore[overload-overlap]  # a str is also an Iterable[str]: the first overload wins
        self,
        paths: str | bytes | os.PathLike,
        allow_audio_only: bool = False,
        threshold: float | None = None,
        prior: float = 0.5,
        target_fpr: float | None = None,
    ) -> Verdict: ...
    @overload
    def predict(
        self,
        paths: Iterable[str | bytes | os.PathLike],
        allow_audio_only: bool = False,
        threshold: float | None = None,
        prior: float = 0.5,
        target_fpr: float | None = None,
    ) -> list[Verdict | Failure]: ...
    def predict(
        self,
        paths: str | bytes | os.PathLike | Iterable[str | bytes | os.PathLike],
        allow_audio_only: bool = False,
        threshold: float | None = None,
        prior: float = 0.5,
        target_fpr: float | None = None,
    ) -> Verdict | list[Verdict | Failure]:
        """The verdict of one file, or, for a list, one result per file in order: its :class:`Verdict` or the
        :class:`~emoboost.detector.verdict.Failure` that says why it has none (an unusable file never costs
        the others theirs; :func:`emoboost.detector.batch.run_batch` adds resuming and outputs).

        One file: raises :class:`~emoboost.errors.MediaError` for unusable input. ``prior`` is the
        prior probability of fake (the posterior and the Bayes threshold use it); ``threshold`` (an
        LLR) or ``target_fpr`` (calibration false-positive rate) replace the detector's own decision
        rule; bad options raise :class:`~emoboost.errors.ConfigError` before any file is read. A bytes
        path is decoded as the OS does; anything else that is not a path raises TypeError."""
        from emoboost.detector.batch import as_paths, predict_each

        decision = self.decision(prior, threshold, target_fpr)
        one, files = as_paths(paths)
        if one:
            return self._predict_file(files[0], allow_audio_only, decision)
        options = {"allow_audio_only": allow_audio_only, "threshold": threshold, "prior": prior}
        return [result for _, result in predict_each(self, files, target_fpr=target_fpr, **options)]

    def decision(self, prior: float = 0.5, threshold: float | None = None, target_fpr: float | None = None) -> Decision:
        """The decision rule of a verdict: prior, LLR threshold, where it comes from, calibration FPR / TPR there."""
        if threshold is not None and target_fpr is not None:
            raise ConfigError("give a threshold or a target FPR, not both")
        for name, value in (("prior", prior), ("threshold", threshold), ("target FPR", target_fpr)):
            if value is not None and not math.isfinite(value):
                raise ConfigError(f"the {name} must be a finite number, not {value}")
        if target_fpr is not None and not 0.0 <= target_fpr <= 1.0:
            raise ConfigError(f"the target FPR must be between 0 and 1, not {target_fpr}")
        cut = self.fusion.decision_threshold(prior, target_fpr) if threshold is None else float(threshold)
        rule = self.fusion.operating_point.get("rule", "")
        if threshold is not None:
            rule = "user"
        elif target_fpr is not None:
            rule = f"FPR <= {target_fpr:g}"
        sources = {"user": "user", "bayes": f"Bayes decision at prior {prior:g}, equal costs"}
        source = sources.get(rule, f"calibration {rule}")
        point = {"rule": rule, **self.fusion.operating_point_at(cut)}
        return Decision(float(prior), round(cut, 6), source, point)

    def _predict_file(self, path: Path, allow_audio_only: bool, decision: Decision) -> Verdict:
        record = self._extract(path, allow_audio_only)
        verdict = self.predict_record(record, decision=decision)
        self.last_timings = {**record.meta.get("timings_s", {}), **self.last_timings}
        return verdict

    @torch.no_grad()
    def predict_record(
        self,
        record: FeatureRecord,
        threshold: float | None = None,
        prior: float = 0.5,
        decision: Decision | None = None,
    ) -> Verdict:
        """Verdict from an extracted feature record (``decision``: a :meth:`decision`, else built from the rest)."""
        from emoboost.calibration import verbal

        decision = decision or self.decision(prior, threshold)
        prior, cut = decision.prior, decision.threshold
        watch = Stopwatch()
        emo_config = self.emo.config
        with watch("emoforensics"):
            tokens = tokenize_record(record, emo_config.token_frames)
            emo = predict_clip(self.emo, tokens)
        with watch("rgb_detector"):
            crop_logits = rgb_crop_logits(self.rgb, record.face_crops)
            rgb_logit = float(crop_logits.mean()) if len(crop_logits) else float("nan")
        with watch("acoustic_detector"):
            segment_logits, segment_starts = acoustic_segment_logits(self.acoustic, record.logmel)
            acoustic_logit = float(segment_logits.mean())
        logits = {"emo": emo.logit, "rgb": rgb_logit, "acoustic": acoustic_logit}
        consistency: tuple[np.ndarray, list[int]] | None = None
        if self.consistency is not None:
            with watch("consistency"):
                consistency = window_inconsistency(
                    self.consistency, affect_tokens(record, self.consistency.config.token_frames)
                )
                logits[CONSISTENCY] = float(consistency[0].mean())
        _require_finite(logits, {"rgb": len(crop_logits) == 0}, record)
        with watch("fusion"):
            row = [logits[name] for name in self.fusion.inputs]
            fused = float(self.fusion.llr(np.array([row]))[0])
            shares = self.fusion.contributions(row)
            present = [name for name, value in zip(self.fusion.inputs, row, strict=True) if not math.isnan(value)]
            bounds = self.fusion.llr_bounds(present) or self.fusion.llr_bounds()  # no subset fit: the full fusion's
            llr = fused if bounds is None else min(max(fused, bounds[0]), bounds[1])  # what calibration supports
            segment_centres = segment_starts + self.acoustic.config.segment_frames / 2  # mel frames
            segments = self._segments(
                record, emo, logits, crop_logits, (segment_logits, segment_centres), prior, bounds, consistency
            )
        self.last_timings = dict(watch.seconds)
        clean = {k: (None if v is None or math.isnan(v) else round(float(v), 6)) for k, v in logits.items()}
        clean["fused"] = round(fused, 6)  # the fusion's output; the verdict's LLR is it within the ELUB
        modalities = {
            "face": round(sigmoid(emo.visual_logit), 6)
            if emo.visual_logit is not None and record.face_mask.any()
            else None,
            "voice": round(sigmoid(emo.speech_logit), 6) if emo.speech_logit is not None else None,
        }
        notes = (
            self._warnings(record, math.isnan(rgb_logit))
            + self._bound_warnings(fused, llr, present)
            + self.scope_notes()
        )
        return Verdict(
            path=str(record.meta.get("source_path", "")),
            sha256=record.sha256,
            label="fake" if fused >= cut else "real",  # the decision is the classifier's, on the unbounded score
            llr=round(llr, 6),
            log10_lr=round(llr / math.log(10), 6),
            lr_verbal=NOT_VALIDATED if self.training_data()["generated"] else verbal(llr),
            prior=prior,
            probability=round(sigmoid(llr + math.log(prior / (1 - prior))), 6),
            threshold=cut,
            scores=clean,
            modalities=modalities,
            segments=segments,
            duration_s=round(record.duration_s, 3),
            model_id=self.model_id,
            warnings=tuple(message for _, message in notes),
            warning_codes=tuple(code for code, _ in notes),
            tracks=record_tracks(record, emo, emo_config.token_frames),
            provenance={
                "weights_sha256": self._weights_sha256,
                "operating_point": decision.operating_point,
                "threshold_source": decision.source,
                "training_data": self.training_data(),
                "face_stride": record.meta.get("face_stride"),
                "face_detection": record.meta.get("face_detection"),
                "fps": record.fps,
                "llr_unbounded": round(fused, 6),
                "llr_bounds": None if bounds is None else [round(bounds[0], 6), round(bounds[1], 6)],
                "llr_contributions": {name: round(value, 6) for name, value in shares.items()},
                "consistency_real_band": self.consistency_band(),
                "video_track": int(record.meta.get("video_track", 0)),
                "visual_encoder": f"{record.visual_encoder} {record.visual_encoder_version}",
                "speech_encoder": f"{record.speech_encoder} {record.speech_encoder_version}",
            },
        )

    def _segments(
        self,
        record: FeatureRecord,
        emo: ClipScores,
        logits: dict[str, float],
        crop_logits: np.ndarray,
        acoustic: tuple[np.ndarray, np.ndarray],
        prior: float,
        bounds: tuple[float, float] | None = None,
        consistency: tuple[np.ndarray, list[int]] | None = None,
    ) -> tuple[Segment, ...]:
        """One segment per EmoForensics window; the low-level scores of a window are the mean over
        the clip's face crops inside it and its acoustic segments centred inside it (the clip's
        score where there are none), its consistency score the mean of the consistency windows lying inside
        it (the one centred nearest when none does). Window LLRs are bounded by the clip-level ELUB ``bounds``:
        windows have no calibration of their own yet, so their values say where a clip's evidence lies, within
        what it supports."""
        config = self.emo.config
        segment_logits, segment_centres = acoustic
        frames_per_token = config.token_frames
        if consistency is not None and self.consistency is not None:
            consistency_starts = np.array(consistency[1])  # tokens
            consistency_length = self.consistency.config.window_tokens
        segments = []
        for window_logit, start in zip(emo.window_logits, emo.window_starts, strict=False):
            first = int(start) * frames_per_token
            last = min(record.n_frames, (int(start) + config.window_tokens) * frames_per_token)
            in_window = (record.crop_frames >= first) & (record.crop_frames < last)
            rgb = float(crop_logits[in_window].mean()) if in_window.any() else logits["rgb"]
            centred = (segment_centres >= first * MEL_PER_FRAME) & (segment_centres < last * MEL_PER_FRAME)
            acoustic_logit = float(segment_logits[centred].mean()) if centred.any() else logits["acoustic"]
            window = {"emo": float(window_logit), "rgb": rgb, "acoustic": acoustic_logit}
            window_consistency = None
            if consistency is not None:
                end = int(start) + config.window_tokens
                inside = (consistency_starts >= int(start)) & (consistency_starts + consistency_length <= end)
                if not inside.any():
                    offset = np.abs(consistency_starts + consistency_length / 2 - (int(start) + end) / 2)
                    inside = offset == offset.min()
                window_consistency = float(consistency[0][inside].mean())
                window[CONSISTENCY] = window_consistency
            llr = float(self.fusion.llr(np.array([[window[n] for n in self.fusion.inputs]]))[0])
            if bounds is not None:  # never beyond what the clip-level calibration supports
                llr = min(max(llr, bounds[0]), bounds[1])
            probability = sigmoid(llr + math.log(prior / (1 - prior)))
            mismatch = None
            if emo.mismatch is not None:
                token_slice = emo.mismatch[int(start) : int(start) + config.window_tokens]
                compared = token_slice[np.isfinite(token_slice)]  # tokens with both a face and speech
                mismatch = round(float(compared.mean()), 6) if len(compared) else None
            stretch = (round(first / FPS, 3), round(last / FPS, 3))
            segments.append(
                Segment(
                    *stretch,
                    round(llr, 6),
                    round(probability, 6),
                    mismatch,
                    None if window_consistency is None else round(window_consistency, 6),
                )
            )
        return tuple(segments)

    def consistency_band(self) -> list[float] | None:
        """The range (5th to 95th percentile) of the consistency detector's window scores on the real calibration
        clips: where a real clip's windows usually lie (None without a consistency detector or without it)."""
        if self.consistency is None:
            return None
        band = self.meta.get("training", {}).get(CONSISTENCY, {}).get("real_band")
        return [float(v) for v in band] if isinstance(band, list) and len(band) == 2 else None

    def training_data(self) -> dict[str, Any]:
        """What the detector learnt from: dataset name, clips, whether generated, calibration clips per class."""
        data = self.meta.get("data", {})
        name = str(data.get("dataset", "unknown"))
        generated = data.get("generated")
        if generated is None and name != "unknown":
            generated = name.lower().startswith(GENERATED_DATASETS)
        real, fake = self.fusion.calibration_llrs()
        counts = [data[k] for k in ("train_clips", "val_clips", "calib_clips") if isinstance(data.get(k), int)]
        return {
            "dataset": name,
            "clips": sum(counts) or None,
            "generated": generated,
            "calibration_real": len(real),
            "calibration_fake": len(fake),
        }

    def scope_warnings(self) -> tuple[str, ...]:
        """Warnings every verdict of this detector carries: generated-only training data, a small calibration set."""
        return tuple(message for _, message in self.scope_notes())

    def scope_notes(self) -> list[tuple[str, str]]:
        """:meth:`scope_warnings` with their stable codes."""
        data = self.training_data()
        warnings: list[tuple[str, str]] = []
        if data["generated"]:
            warnings.append(
                (
                    "generated_training",
                    f"trained only on generated clips ({data['dataset']}): verdicts on real footage are not "
                    "validated, so no verbal strength is given (the LR stays in the JSON, for research)",
                )
            )
        elif data["generated"] is None:
            warnings.append(("unknown_training", "training data unknown: the detector's scope is not stated"))
        if min(data["calibration_real"], data["calibration_fake"]) < MIN_CALIBRATION_CLIPS:
            warnings.append(
                (
                    "small_calibration",
                    f"LR calibrated on {data['calibration_real']} real / {data['calibration_fake']} fake clips "
                    f"(fewer than {MIN_CALIBRATION_CLIPS} per class): its size is uncertain",
                )
            )
        return warnings

    def _bound_warnings(self, fused: float, llr: float, present: list[str]) -> list[tuple[str, str]]:
        """Where the fused score lies against the calibration clips (of the subset fusion for the scores ``present``,
        when the clip lacks one): beyond every one of them, and bounded."""
        from emoboost.calibration import format_lr

        fitted = self.fusion.subset(present)
        warnings: list[tuple[str, str]] = []
        missing = [name for name in self.fusion.inputs if name not in present]
        if fitted is None and present:
            warnings.append(
                (
                    "uncalibrated_subset",
                    f"the detector's fusion has no calibration without {', '.join(missing)} (fitted before subset "
                    "fusions existed): the missing score counts as 0 and the LR is not calibrated; retrain to fix",
                )
            )
            fitted = self.fusion.subset(self.fusion.inputs)
        clips = (fitted or {}).get("clips")
        if fitted is not None and fitted.get("range") is not None and clips is not None:
            low, high = (float(v) for v in fitted["range"])
            if not low <= fused <= high:
                warnings.append(
                    (
                        "outside_calibration",
                        f"the fused score ({format_lr(fused)}) lies outside every calibration clip's "
                        f"({format_lr(low)} to {format_lr(high)})",
                    )
                )
        elif present:
            warnings.append(
                ("unbounded", "the detector stores no calibration LLRs: its LR is not bounded by what they support")
            )
        if llr != fused:
            real, fake = clips if clips is not None else (0, 0)
            which = f" scored without {', '.join(missing)}" if missing and self.fusion.subset(present) else ""
            warnings.append(
                (
                    "lr_bounded",
                    f"reported as {format_lr(llr)}, the most its {real} real / {fake} fake calibration "
                    f"clips{which} support (ELUB, Vergeer et al. 2016), where the fusion alone gives "
                    f"{format_lr(fused)}",
                )
            )
        return warnings

    def _warnings(self, record: FeatureRecord, no_face_crop: bool) -> list[tuple[str, str]]:
        """``(stable code, message)`` for each problem of the input."""
        warnings: list[tuple[str, str]] = []
        face_fraction = float(record.face_mask.mean())
        source_s, scanned_s = (
            float(record.meta.get("source_duration_s", record.duration_s)),
            float(record.meta.get("face_scanned_s", record.duration_s)),
        )
        tracks = int(record.meta.get("video_tracks", 1))
        if tracks > 1:
            track = int(record.meta.get("video_track", 0))
            warnings.append(
                (
                    "video_tracks",
                    f"the file has {tracks} video tracks; track v:{track} was analysed (the one with the most frames)",
                )
            )
        if source_s > record.duration_s + 1.0 / FPS:
            warnings.append(
                (
                    "partly_analysed",
                    f"only the first {record.duration_s:g} s of {source_s:g} s analysed (media.max_duration_s)",
                )
            )
        if face_fraction == 0 and scanned_s < record.duration_s:
            warnings.append(
                (
                    "no_face_scanned",
                    f"no face found in the first {scanned_s:g} s, the rest was not scanned (faces.give_up_s): "
                    "audio-only verdict",
                )
            )
        elif face_fraction == 0:
            warnings.append(("no_face", "no face found: audio-only verdict (face scores are absent)"))
        elif face_fraction < LOW_FACE_FRACTION:
            warnings.append(("few_faces", f"face found in only {face_fraction:.0%} of frames"))
        elif no_face_crop:
            warnings.append(("no_face_crop", "no face crop for the RGB detector"))
        speech_fraction = float((record.audio_rms_db > SILENCE_DB).mean())
        if speech_fraction < LOW_SPEECH_FRACTION:
            warnings.append(("mostly_silent", f"audio mostly silent (sound in {speech_fraction:.0%} of frames)"))
        window_s = self.emo.config.window_tokens * self.emo.config.token_frames / FPS
        if record.duration_s < window_s:
            warnings.append(
                ("short_clip", f"clip ({record.duration_s:.1f} s) shorter than one analysis window ({window_s:g} s)")
            )
        return warnings


def _require_finite(logits: dict[str, float], may_be_absent: dict[str, bool], record: FeatureRecord) -> None:
    """A NaN or infinite score (broken weights or features) is an error, never a verdict."""
    for name, value in logits.items():
        if math.isinf(value) or (math.isnan(value) and not may_be_absent.get(name, False)):
            source = record.meta.get("source_path", record.sha256)
            raise ConfigError(
                f"{source}: the detector's {name} score is {value} (its weights or the features are broken); no verdict"
            )
