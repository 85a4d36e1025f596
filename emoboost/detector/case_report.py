"""Case reports an examiner can file: one self-contained HTML file per input, and an index for a batch.

``emoboost detect ... --report DIR [--case-id ID --exhibit ITEM --examiner NAME]`` writes
``DIR/<stem>_<sha256[:8]>.html`` per file and ``DIR/index.html`` (the API: :class:`CaseReports` with a
:class:`CaseInfo`). A report needs no network: styles are inline, images are embedded as base64, and it prints on A4.

It states the case (case, exhibit, examiner), the exhibit at intake (size, MD5, SHA-1, SHA-256, file-system times),
the container's own account of itself (format and brand, tags such as creation_time and encoder, per-stream codec,
frame count, constant or variable frame rate, bit rates), the propositions and the scope they hold for (derived from
the detector's training and calibration data), the verdict (LR within its calibration bounds, its verbal equivalent,
prior, posterior, threshold and operating point), each detector's share of the LLR, the timeline, key frames of the
highest- and lowest-scoring stretches, the window scores, the warnings with their codes, the limitations, the
detector and its validation figures (held out where a benchmark recorded them, in-sample ones labelled), software
versions, and the command as typed with the settings it resolved to.

The HTML comes from Jinja2 templates (``emoboost/detector/templates``) with autoescaping on, and every value a file
contributes is also made printable (control and bidirectional characters escaped) before it is escaped.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import io
import math
import platform
import urllib.parse
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from emoboost.calibration import NEUTRAL_BAND, VERBAL_SCALE, format_lr, llr_metrics
from emoboost.detector.detector import NOT_VALIDATED, Detector
from emoboost.detector.timeline import panel_names, timeline_png_bytes
from emoboost.detector.verdict import Verdict, operating_point_words
from emoboost.files import write_text_atomic
from emoboost.media.decode import FPS
from emoboost.media.metadata import container_facts, intake, stream_summary
from emoboost.text import file_stem, printable

ORIGIN = {True: "generated", False: "recorded", None: "unknown origin"}
FRAMES_PER_KIND = 3  # frames from the highest- and from the lowest-scoring stretches
FRAME_WIDTH = 360  # pixels of an embedded key frame
FRAME_BOX = "#1f4e9c"  # one neutral colour for every key frame's face box: a frame is evidence, not a verdict
HIGHEST, LOWEST = "highest-score stretch", "lowest-score stretch"
# what each cross-manipulation category is (FakeAVCeleb, Khalid et al. 2021, by its method names; SynthAV's own)
MANIPULATIONS = {
    "RVFA": "real video, voice cloned (SV2TTS / RTVC)",
    "FVRA-WL": "real voice, face lip-synced to it (Wav2Lip)",
    "FVFA-FS": "face swapped (faceswap), lip-synced (Wav2Lip), voice cloned",
    "FVFA-GAN": "face swapped (FSGAN), lip-synced (Wav2Lip), voice cloned",
    "FVFA-WL": "face lip-synced (Wav2Lip), voice cloned",
    "RVFA-EMO": "real video re-voiced by the same speaker with other emotions (SynthAV)",
}


@dataclasses.dataclass(frozen=True)
class CaseInfo:
    """The examiner's identifiers for a batch: printed on every report and on the index ("" where not given)."""

    case_id: str = ""
    exhibit: str = ""
    examiner: str = ""

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("case", self.case_id or "not given"),
            ("exhibit", self.exhibit or "not given"),
            ("examiner", self.examiner or "not given"),
        ]


def report_name(path: str | Path, sha256: str) -> str:
    """``<stem>_<sha256[:8]>.html`` (:func:`emoboost.text.file_stem`): unique for same-named files in
    different folders, and a plain relative file name whatever the input's name holds."""
    return f"{file_stem(path)}_{sha256[:8]}.html"


def report_href(name: str) -> str:
    """The link to a report in the same folder: ``./`` and the percent-encoded name, so no name is read
    as a URL scheme (``javascript:``), a fragment, a query or a folder."""
    return "./" + urllib.parse.quote(name, safe="")


def _number(value: Any, spec: str = ".3f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(float(value), spec)


def _finalize(value: Any) -> Any:
    """Every ``{{ value }}``: markup the module built stays as it is; anything else on one printable line (then
    autoescaped). ``None`` prints as nothing."""
    from markupsafe import Markup

    if value is None:
        return ""
    return value if isinstance(value, Markup) else printable(value)


@lru_cache(maxsize=1)
def _templates() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("emoboost.detector", "templates"),
        autoescape=True,  # every template, whatever its name
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    return str(_templates().get_template(template).render(**context))


def key_frames(verdict: Verdict, per_kind: int = FRAMES_PER_KIND) -> list[tuple[int, str, float]]:
    """``(grid frame, HIGHEST / LOWEST, window score)`` for 3 to 6 frames.

    The centres of the highest- and lowest-LLR windows (distinct windows; with few windows, more
    frames from the same ones), moved to the nearest frame with a tracked face inside the window."""
    segments = sorted(verdict.segments, key=lambda s: s.llr, reverse=True)
    if not segments:
        return []
    count = min(per_kind, max(1, len(segments) // 2))
    chosen = [(s, HIGHEST) for s in segments[:count]] + [(s, LOWEST) for s in segments[::-1][:count]]
    boxes = verdict.tracks.face_boxes if verdict.tracks is not None else None
    tracked = _inside_tracks(boxes) if boxes is not None else None
    picks: list[tuple[int, str, float]] = []
    for segment, kind in chosen:
        first = round(segment.start_s * FPS)
        last = max(first + 1, round(segment.end_s * FPS))
        offsets = (0.5,) if len(chosen) >= 3 else (0.25, 0.5, 0.75)
        for offset in offsets:
            frame = first + int((last - first) * offset)
            if tracked is not None and len(tracked):
                with_face = np.flatnonzero(tracked[first:last]) + first
                if len(with_face):
                    frame = int(with_face[np.argmin(np.abs(with_face - frame))])
            if all(frame != p[0] for p in picks):
                picks.append((frame, kind, segment.llr))
    return sorted(picks)


def _inside_tracks(boxes: np.ndarray, margin: int = 2) -> np.ndarray:
    """Frames with a face box whose ``margin`` neighbours on both sides have one too (track edges are interpolated)."""
    valid = np.asarray(~np.isnan(np.asarray(boxes, np.float64)).any(axis=1)) if len(boxes) else np.zeros(0, bool)
    inside = valid.copy()
    for shift in range(1, margin + 1):
        inside[shift:] &= valid[:-shift]
        inside[:-shift] &= valid[shift:]
    return inside


def decode_frames(path: Path, detector: Detector, wanted: list[int]) -> dict[int, np.ndarray]:
    """Grid frames ``wanted`` of ``path``, decoded by the project's reader with the detector's settings."""
    from emoboost.media.decode import MediaReader

    reader = MediaReader(
        path, detector.extract_config.media, require_audio=False, threads=detector.extract_config.runtime.threads
    )
    wanted_set, frames = set(wanted), {}
    for index, frame in enumerate(reader.iter_frames()):
        if index in wanted_set:
            frames[index] = frame
        if len(frames) == len(wanted_set) or index >= max(wanted_set):
            break
    return frames


def _jpeg(frame: np.ndarray, box: np.ndarray | None) -> str:
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    if box is not None and not np.isnan(box).any():
        ImageDraw.Draw(image).rectangle([float(v) for v in box], outline=FRAME_BOX, width=max(2, image.width // 160))
    scale = FRAME_WIDTH / image.width
    image = image.resize((FRAME_WIDTH, max(1, round(image.height * scale))))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def frame_figures(verdict: Verdict, detector: Detector) -> list[dict[str, str]]:
    """``{"jpeg": base64, "caption": ...}`` per key frame (:func:`key_frames`), every face boxed in one colour."""
    picks = key_frames(verdict)
    if not picks:
        return []
    frames = decode_frames(Path(verdict.path), detector, [p[0] for p in picks])
    boxes = verdict.tracks.face_boxes if verdict.tracks is not None else None
    figures = []
    for frame_index, kind, score in picks:
        if frame_index not in frames:
            continue
        box = boxes[frame_index] if boxes is not None and frame_index < len(boxes) else None
        face = "tracked face boxed" if box is not None and not np.isnan(box).any() else "no face tracked"
        caption = f"{kind}: {frame_index / FPS:.2f} s, window score {score:+.2f}; {face}"
        figures.append({"jpeg": _jpeg(frames[frame_index], box), "caption": caption})
    return figures


def software(verdict: Verdict) -> list[tuple[str, Any]]:
    import av
    import jinja2
    import torch

    import emoboost

    provenance = verdict.provenance
    return [
        ("emoboost", emoboost.__version__),
        ("Python / platform", f"{platform.python_version()} / {platform.platform()}"),
        ("torch / numpy / PyAV / Jinja2", " / ".join(m.__version__ for m in (torch, np, av, jinja2))),
        ("visual encoder", provenance.get("visual_encoder")),
        ("speech encoder", provenance.get("speech_encoder")),
        ("face detection", f"{provenance.get('face_detection')}, stride {provenance.get('face_stride')}"),
    ]


def detector_rows(verdict: Verdict, detector: Detector) -> list[tuple[str, Any]]:
    data = detector.training_data()
    real, fake = detector.fusion.calibration_llrs()
    point = verdict.provenance.get("operating_point", {})
    bounds = verdict.provenance.get("llr_bounds")
    return [
        ("detector id", verdict.model_id),
        ("weights SHA-256", verdict.provenance.get("weights_sha256")),
        ("training data", f"{data['dataset']}, {data['clips'] or '?'} clips, {ORIGIN[data['generated']]}"),
        (
            "fusion",
            ", ".join(f"{n} {w:+.3f}" for n, w in zip(detector.fusion.inputs, detector.fusion.weights, strict=False))
            + f", bias {detector.fusion.bias:+.3f}",
        ),
        ("calibration clips", f"{len(real)} real, {len(fake)} fake"),
        (
            "LLR bounds (ELUB of the calibration clips)",
            f"{bounds[0]:+.3f} to {bounds[1]:+.3f} ({format_lr(bounds[0])} to {format_lr(bounds[1])})"
            if isinstance(bounds, (list, tuple)) and len(bounds) == 2
            else "none stored: LRs are unbounded",
        ),
        ("calibration FPR / TPR at this threshold", f"{_number(point.get('fpr'))} / {_number(point.get('tpr'))}"),
    ]


def validation_rows(verdict: Verdict, detector: Detector) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """``(held_out, in_sample)``: the held-out figures a benchmark recorded with the detector (``meta["validation"]``:
    per fold AUC with its interval, Cllr, Cllr_min), and the calibration clips' own figures, which are in-sample (the
    fusion was fitted on them)."""
    held_out = []
    validation = detector.meta.get("validation") or {}
    for fold, entry in sorted((validation.get("folds") or {}).items()):
        interval = entry.get("auc_ci") or [None, None]
        held_out.append(
            (
                f"held out: {fold}",
                f"AUC {_number(entry.get('auc'))} [{_number(interval[0])}, {_number(interval[1])}],"
                f" Cllr {_number(entry.get('cllr'))}, Cllr_min {_number(entry.get('cllr_min'))}"
                f" ({entry.get('test_real', '?')} real / {entry.get('test_fake', '?')} fake test clips)",
            )
        )
    if held_out and validation.get("source"):
        held_out.append(("source", validation["source"]))
    real, fake = detector.fusion.calibration_llrs()
    in_sample = []
    if len(real) and len(fake):
        scores = llr_metrics(np.r_[np.zeros(len(real)), np.ones(len(fake))], np.r_[real, fake], verdict.threshold)
        in_sample.append(
            (
                "calibration clips, in-sample: Cllr / Cllr_min / ECE",
                f"{scores['cllr']:.3f} / {scores['cllr_min']:.3f} / {scores['ece_balanced']:.3f}",
            )
        )
    metrics = detector.meta.get("metrics") or {}
    if metrics:
        in_sample.append(
            (
                "validation clips (step choice, not held out): AUC per detector",
                ", ".join(f"{k} {_number(v, '.3f')}" for k, v in sorted(metrics.items()) if v is not None),
            )
        )
    return held_out, in_sample


SCORE_NAMES = {
    "emo": "EmoForensics (emotion consistency)",
    "rgb": "RGB face-crop CNN",
    "acoustic": "acoustic log-mel CNN",
    "consistency": "face-voice consistency, trained on real clips only (higher: less plausible together)",
}


def score_rows(verdict: Verdict) -> list[tuple[str, str]]:
    """Per detector: its logit and the share of the fused LLR it adds; the bias; the sum; what drove it. The
    EmoForensics per-modality heads are uncalibrated scores and say so."""
    shares = verdict.provenance.get("llr_contributions") or {}
    rows = []
    for name, value in verdict.scores.items():
        if name in SCORE_NAMES:
            added = f"; adds {_number(shares[name], '+.3f')} to the LLR" if name in shares else ""
            rows.append((f"{SCORE_NAMES[name]}", f"logit {_number(value, '+.3f')}{added}"))
    if shares:
        total = sum(float(v) for v in shares.values() if v is not None)
        rows.append(("fusion offset (bias)", f"adds {_number(shares.get('bias'), '+.3f')}"))
        rows.append(("sum: fused LLR before bounding", _number(total, "+.3f")))
        rows.append(("fused LLR reported (within the bounds)", _number(verdict.llr, "+.3f")))
        rows.append(("driven by", driven_by(shares)))
    elif "fused" in verdict.scores:
        rows.append(("fused LLR before bounding", _number(verdict.scores["fused"], "+.3f")))
    rows += [
        (f"{m} manipulated: EmoForensics head (an uncalibrated score in [0, 1], not a probability)", _number(v))
        for m, v in verdict.modalities.items()
    ]
    return rows


def driven_by(shares: dict[str, float]) -> str:
    """``"acoustic (-2.95 of -3.41)"``: the detector whose share pushes the fused LLR furthest in the direction it
    went (the fusion's offset, ``bias``, when that is larger; "n/a" for an LLR of 0)."""
    values = {k: float(v) for k, v in shares.items() if v is not None}
    total = sum(values.values())
    pushing = {k: v for k, v in values.items() if v * total > 0}
    if not pushing:
        return "n/a"
    name = max(pushing, key=lambda k: abs(pushing[k]))
    label = "the fusion's offset" if name == "bias" else name
    return f"{label} ({pushing[name]:+.2f} of {total:+.2f})"


def window_rows(verdict: Verdict) -> tuple[list[str], list[list[str]]]:
    """The analysis windows: span, window score (the fused window logit through the clip calibration: a score for
    ranking stretches, not a calibrated LR), emotion mismatch and, with a consistency detector, its score."""
    consistency = any(s.consistency is not None for s in verdict.segments)
    band = verdict.provenance.get("consistency_real_band")
    within = (
        f" (real calibration windows: {band[0]:+.2f} to {band[1]:+.2f})"
        if consistency and isinstance(band, (list, tuple)) and len(band) == 2
        else ""
    )
    head = ["stretch (s)", "window score", "emotion mismatch (0-2)"]
    head += [f"face-voice inconsistency{within}"] if consistency else []
    body = [
        [f"{s.start_s:.1f}-{s.end_s:.1f}", f"{s.llr:+.2f}", _number(s.emotion_mismatch, ".2f")]
        + ([_number(s.consistency, "+.2f")] if consistency else [])
        for s in verdict.segments
    ]
    return head, body


def scale_rows() -> list[tuple[str, str]]:
    """The verbal scale as (LR range, words) rows, from the band that supports neither proposition upwards."""
    rows = [(f"1/{NEUTRAL_BAND:g} - {NEUTRAL_BAND:g}", "none (neither proposition)")]
    ascending = VERBAL_SCALE[::-1]
    for index, (low, words) in enumerate(ascending):
        upper = ascending[index + 1][0] if index + 1 < len(ascending) else None
        rows.append((f"{low:,.0f} - {upper:,.0f}" if upper else f"> {low:,.0f}", words))
    return rows


def propositions(detector: Detector) -> dict[str, Any]:
    """The two propositions the LR weighs and the material they hold for, in words, from what the detector records
    of its training and calibration data."""
    data = detector.meta.get("data", {})
    facts = detector.training_data()
    kinds = data.get("fake_categories")
    if kinds:
        listed = "; ".join(f"{k}: {MANIPULATIONS.get(k, k)}" for k in kinds)
        manipulated = f"manipulated by one of the kinds of manipulation in the detector's training data ({listed})"
    else:
        manipulated = "manipulated in the ways the detector's training data were (the kinds are not recorded)"
    held = data.get("held_out") or []
    scope = [
        f"Training and calibration material: {facts['dataset']} ({ORIGIN[facts['generated']]}), "
        f"{facts['clips'] or '?'} clips; calibration {facts['calibration_real']} real and "
        f"{facts['calibration_fake']} manipulated clips.",
    ]
    if held:
        scope.append(f"Kinds left out of training (the detector's own held-out test): {', '.join(held)}.")
    if facts["generated"]:
        scope.append(
            "The detector learnt from generated clips only: the LR has not been validated on recorded footage, so no "
            "verbal strength of support is given."
        )
    return {
        "hp": f"Hp: the audio-visual content of this file was {manipulated}.",
        "hd": "Hd: the file is an unaltered recording of a person speaking, of the kind in the calibration data.",
        "scope": scope,
    }


def limitations(verdict: Verdict, detector: Detector, media: dict[str, Any]) -> list[str]:
    """What the verdict cannot say, in words: general limits of the method and this file's own."""
    items = [
        "The LR weighs the detectors' scores under the two propositions above; it is not the probability that the "
        "file is manipulated, which also needs a prior (the posterior shown uses the stated prior).",
        "Manipulations of other kinds than those listed, and other recording or compression conditions than the "
        "calibration material's, may score differently: the calibration does not cover them.",
        "Window scores rank stretches of this file; they are not calibrated likelihood ratios.",
        "Container metadata is reported as the file states it: it is easy to alter and is not checked.",
    ]
    real, fake = detector.fusion.calibration_llrs()
    if len(real) + len(fake) < 100:
        items.append(
            f"The calibration set is small ({len(real)} real, {len(fake)} manipulated clips): the LR is bounded to "
            "what it can support (ELUB) and its value is uncertain."
        )
    if not detector.meta.get("validation"):
        items.append("No held-out validation figures are recorded with this detector; those shown are in-sample.")
    if media.get("error"):
        items.append(f"The container could not be read for its metadata: {media['error']}.")
    if verdict.lr_verbal == NOT_VALIDATED:
        items.append("This detector is not validated for this material (see the scope).")
    return items


def container_rows(media: dict[str, Any]) -> list[tuple[str, Any]]:
    if media.get("error"):
        return [("container", f"unreadable: {media['error']}")]
    rows: list[tuple[str, Any]] = [
        ("format", f"{media['kind']} (demuxer: {media['format_long']}, {media['format']})"),
        ("duration (container)", f"{_number(media.get('duration_s'))} s"),
        ("overall bit rate", f"{media['bit_rate']:,} bit/s" if media.get("bit_rate") else "not stated"),
    ]
    rows += [(f"tag: {k}", v) for k, v in sorted(media.get("tags", {}).items())]
    return rows


def _profile(entry: dict[str, Any]) -> str:
    return f", profile {entry['profile']}" if entry.get("profile") else ""


def stream_rows(media: dict[str, Any]) -> list[list[tuple[str, Any]]]:
    """One table per stream: codec, geometry or sampling, frames (declared and counted), rate mode, bit rate, tags."""
    tables = []
    for entry in media.get("streams", []):
        rows: list[tuple[str, Any]] = [
            ("stream", f"#{entry['index']} {entry['type']}" + (" (the one analysed)" if entry.get("analysed") else "")),
            (
                "codec",
                f"{entry['codec']} ({entry['codec_long']})"
                + (f", profile {entry['profile']}" * bool(entry["profile"])),
            ),
        ]
        if entry["type"] == "video":
            rows.append(("size / pixel format", f"{entry['size']} / {entry['pixel_format']}"))
            rates = f"{_number(entry.get('average_fps'))} / {_number(entry.get('base_fps'))} fps"
            rows.append(("frame rate (average / base)", rates))
            if "rate_mode" in entry:
                spread = entry.get("interval_ms")
                detail = f" (frame intervals {spread[0]:.2f}-{spread[1]:.2f} ms)" if spread else ""
                rows.append(("frame rate mode", f"{entry['rate_mode']}{detail}"))
                rows.append(("frames counted (demuxed packets)", entry["packets"]))
        elif entry["type"] == "audio":
            sampling = f"{entry.get('sample_rate')} Hz, {entry.get('channels')} ch {entry.get('layout') or ''}"
            rows.append(("sampling", sampling.rstrip()))
        rows.append(("frames declared by the container", entry["frames_declared"] or "not stated"))
        rows.append(("duration", f"{_number(entry.get('duration_s'))} s"))
        rows.append(("bit rate", f"{entry['bit_rate']:,} bit/s" if entry.get("bit_rate") else "not stated"))
        rows += [(f"tag: {k}", v) for k, v in sorted(entry.get("tags", {}).items())]
        tables.append(rows)
    return tables


def intake_rows(verdict: Verdict, facts: dict[str, Any]) -> list[tuple[str, Any]]:
    path = Path(verdict.path)
    same = facts["sha256"] == verdict.sha256
    return [
        ("file name", path.name),
        ("path", path),
        ("size", f"{facts['size_bytes']:,} bytes"),
        ("MD5", facts["md5"]),
        ("SHA-1", facts["sha1"]),
        ("SHA-256", facts["sha256"] + ("" if same else f" (DIFFERS from the analysed file's {verdict.sha256})")),
        ("content modified (file system)", facts["modified"]),
        ("status changed (file system)", facts["status_changed"]),
        ("created (file system)", facts["created"] or "not recorded by this file system"),
        ("hashed at", facts["read_at"] + (" (the file changed while it was read)" * facts["changed_while_read"])),
        ("duration analysed", f"{verdict.duration_s:.2f} s"),
    ]


def warning_rows(verdict: Verdict) -> list[tuple[str, str]]:
    codes = verdict.warning_codes
    if len(codes) != len(verdict.warnings):
        codes = ("",) * len(verdict.warnings)
    return list(zip(codes, verdict.warnings, strict=True))


def _verdict_context(verdict: Verdict) -> dict[str, Any]:
    ratio = format_lr(abs(verdict.llr)).removeprefix("LR ")
    direction = "manipulated than if it is authentic" if verdict.llr >= 0 else "authentic than if it is manipulated"
    return {
        "label": verdict.label,
        "lr": format_lr(verdict.llr),
        "verbal": verdict.lr_verbal,
        "validated": verdict.lr_verbal != NOT_VALIDATED,
        "ratio": ratio,
        "direction": direction,
        "llr": f"{verdict.llr:+.3f}",
        "log10_lr": f"{verdict.log10_lr:+.3f}",
        "prior": f"{verdict.prior:g}",
        "posterior": f"{verdict.probability:.3f}",
        "threshold": f"{verdict.threshold:+.3f}",
        "source": verdict.provenance.get("threshold_source", ""),
        "operating_point": operating_point_words(verdict.provenance.get("operating_point") or {}),
    }


def _verdict_html(verdict: Verdict) -> str:
    """The headline box alone (HTML)."""
    return render("verdict.html.j2", v=_verdict_context(verdict))


def render_report(
    verdict: Verdict,
    detector: Detector,
    command: str,
    case: CaseInfo | None = None,
    settings: str = "",
) -> str:
    """The HTML text of one case report (``verdict`` must carry its tracks). ``command``: the command line as typed;
    ``settings``: the options it resolved to (defaults spelt out)."""
    path = Path(verdict.path)
    facts = intake(path)
    media = container_facts(path, int(verdict.provenance.get("video_track", 0)))
    held_out, in_sample = validation_rows(verdict, detector)
    head, windows = window_rows(verdict)
    import emoboost

    return render(
        "case_report.html.j2",
        name=path.name,
        case=(case or CaseInfo()).rows(),
        generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        version=emoboost.__version__,
        v=_verdict_context(verdict),
        propositions=propositions(detector),
        warnings=warning_rows(verdict),
        intake=intake_rows(verdict, facts),
        container=container_rows(media),
        streams=stream_rows(media),
        summary=(stream_summary(media, "video"), stream_summary(media, "audio")),
        panels=", ".join(panel_names(verdict)),
        timeline=base64.b64encode(timeline_png_bytes(verdict)).decode("ascii"),
        frames=frame_figures(verdict, detector),
        scores=score_rows(verdict),
        window_head=head,
        windows=windows,
        held_out=held_out,
        in_sample=in_sample,
        detector=detector_rows(verdict, detector),
        limitations=limitations(verdict, detector, media),
        software=software(verdict),
        command=command,
        settings=settings,
        scale=scale_rows(),
    )


def _warning_count(entry: dict[str, Any]) -> int:
    warnings = entry.get("warnings") or []
    return len([w for w in warnings.split("; ") if w]) if isinstance(warnings, str) else len(warnings)


def sha256_text(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class CaseReports:
    """The ``--report`` folder of one ``emoboost detect`` run (the API's way to write case reports too)."""

    def __init__(
        self,
        folder: str | Path,
        detector: Detector,
        command: str,
        case: CaseInfo | None = None,
        settings: str = "",
    ):
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            from emoboost.errors import ConfigError

            raise ConfigError(f"{self.folder}: --report is a file; give a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.detector, self.command, self.settings = detector, command, settings
        self.case = case or CaseInfo()
        self.index = self.folder / "index.html"

    def has(self, entry: dict[str, Any]) -> bool:
        """Whether the report of a finished verdict entry is already there."""
        return (self.folder / report_name(entry["path"], entry.get("sha256", ""))).is_file()

    def add(self, verdict: Verdict) -> Path:
        """Write the report of one verdict (atomically); returns its path."""
        target = self.folder / report_name(verdict.path, verdict.sha256)
        text = render_report(verdict, self.detector, self.command, self.case, self.settings)
        write_text_atomic(target, text)
        return target

    def close(self, entries: list[dict[str, Any]]) -> Path:
        """Write ``index.html``: one row per input with its file's SHA-256; verdict entries link to their reports,
        each with the report's own SHA-256 (read back from the file, so a resumed batch lists what is there)."""
        rows = []
        for entry in entries:
            row: dict[str, Any] = {"name": Path(entry["path"]).name, "path": entry["path"]}
            if "error" in entry:
                row["error"] = entry["error"]
            else:
                link = report_name(entry["path"], entry.get("sha256", ""))
                row.update(
                    href=report_href(link),
                    sha256=entry.get("sha256", ""),
                    label=entry["label"],
                    lr=format_lr(float(entry["llr"])),
                    verbal=entry["lr_verbal"],
                    posterior=f"{float(entry['probability']):.3f} (prior {float(entry['prior']):g})",
                    warnings=_warning_count(entry),
                    report_sha256=sha256_text(self.folder / link) or "report not written",
                )
            rows.append(row)
        import emoboost

        text = render(
            "index.html.j2",
            rows=rows,
            case=self.case.rows(),
            model_id=self.detector.model_id,
            weights=self.detector.weights_sha256 or "",
            command=self.command,
            version=emoboost.__version__,
            generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        )
        write_text_atomic(self.index, text)
        return self.index
