"""Case reports an analyst can hand over: one self-contained HTML file per input, and an index for a batch.

``emoboost detect ... --report DIR`` writes ``DIR/<stem>_<sha256[:8]>.html`` per file and
``DIR/index.html``. A report needs no network: styles are inline and images are embedded as
base64. It states the file (name, size, SHA-256, duration, codecs), the verdict (LR, its verbal
equivalent, prior, posterior, threshold and where it comes from), the timeline (fused LLR with
the threshold, facial expressions, voice prosody, emotion mismatch), three to six frames from
the most and least suspicious stretches with the tracked face box, the per-detector scores, the
warnings, the detector (id, weights hash, training data, calibration Cllr / FPR / TPR), software
and encoder versions and the exact command.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import math
import os
import platform
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np

from emoboost.calibration import VERBAL_SCALE, format_lr, llr_metrics
from emoboost.detector.detector import Detector
from emoboost.detector.timeline import panel_names, timeline_png_bytes
from emoboost.detector.verdict import Verdict, operating_point_words
from emoboost.files import write_text_atomic
from emoboost.media.decode import FPS
from emoboost.text import file_stem, printable

ORIGIN = {True: "generated", False: "recorded", None: "unknown origin"}
FRAMES_PER_KIND = 3  # frames from the most and from the least suspicious stretches
FRAME_WIDTH = 360  # pixels of an embedded key frame
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;
line-height:1.4}
h1{font-size:22px;margin-bottom:4px}
h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:3px;margin-top:26px}
table{border-collapse:collapse;font-size:14px}
td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}
.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.verdict{padding:14px 18px;border-radius:6px;font-size:16px}
.fake{background:#fdecea;border-left:6px solid #d62728}
.real{background:#eaf6ea;border-left:6px solid #2ca02c}
.big{font-size:24px;font-weight:700}
.warn{background:#fff6db;border-left:6px solid #e0a800;padding:8px 14px 8px 34px}
.frames{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;width:360px}
figcaption{font-size:13px;color:#444}
img{max-width:100%}
.muted{color:#666;font-size:13px}
"""


def report_name(path: str | Path, sha256: str) -> str:
    """``<stem>_<sha256[:8]>.html`` (:func:`emoboost.text.file_stem`): unique for same-named files in
    different folders, and a plain relative file name whatever the input's name holds."""
    return f"{file_stem(path)}_{sha256[:8]}.html"


def report_href(name: str) -> str:
    """The link to a report in the same folder: ``./`` and the percent-encoded name, so no name is read
    as a URL scheme (``javascript:``), a fragment, a query or a folder."""
    return "./" + urllib.parse.quote(name, safe="")


def _e(value: Any) -> str:
    """``value`` as HTML text: on one line, control and bidirectional characters escaped (a right-to-left
    override in a file name cannot reorder what the page shows), markup escaped."""
    return html.escape(printable(value))


def _rows(pairs: list[tuple[str, Any]], mono: tuple[str, ...] = ()) -> str:
    cells = "".join(f"<tr><th>{_e(k)}</th><td{' class=mono' if k in mono else ''}>{_e(v)}</td></tr>" for k, v in pairs)
    return f"<table>{cells}</table>"


def _number(value: Any, spec: str = ".3f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(float(value), spec)


def media_facts(path: Path, video_track: int = 0) -> dict[str, Any]:
    """Size, container and codecs of a file (PyAV; ``video_track``: the video track analysed); ``"unknown"`` where
    the container does not say."""
    import av

    facts: dict[str, Any] = {
        "size_bytes": path.stat().st_size,
        "container": "unknown",
        "video_codec": "unknown",
        "audio_codec": "none",
    }
    try:
        with av.open(os.path.abspath(path)) as container:  # a local file, never a protocol name
            facts["container"] = container.format.long_name or container.format.name
            if len(container.streams.video) > video_track:
                video = container.streams.video[video_track]
                facts["video_codec"] = (
                    f"{video.codec_context.name} {video.codec_context.width}x{video.codec_context.height}"
                    f" @ {float(video.average_rate or 0):.3g} fps"
                )
            if container.streams.audio:
                audio = container.streams.audio[0]
                facts["audio_codec"] = (
                    f"{audio.codec_context.name} {audio.codec_context.sample_rate} Hz,"
                    f" {audio.codec_context.channels} ch"
                )
    except (av.error.FFmpegError, OSError, ValueError):
        pass
    return facts


def key_frames(verdict: Verdict, per_kind: int = FRAMES_PER_KIND) -> list[tuple[int, str, float]]:
    """``(grid frame, "most suspicious" / "least suspicious", window LLR)`` for 3 to 6 frames.

    The centres of the highest- and lowest-LLR windows (distinct windows; with few windows, more
    frames from the same ones), moved to the nearest frame with a tracked face inside the window."""
    segments = sorted(verdict.segments, key=lambda s: s.llr, reverse=True)
    if not segments:
        return []
    count = min(per_kind, max(1, len(segments) // 2))
    chosen = [(s, "most suspicious") for s in segments[:count]] + [
        (s, "least suspicious") for s in segments[::-1][:count]
    ]
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


def _frame_figure(frame: np.ndarray, box: np.ndarray | None, caption: str, colour: str) -> str:
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    if box is not None and not np.isnan(box).any():
        ImageDraw.Draw(image).rectangle([float(v) for v in box], outline=colour, width=max(2, image.width // 160))
    scale = FRAME_WIDTH / image.width
    image = image.resize((FRAME_WIDTH, max(1, round(image.height * scale))))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    image_tag = f'<img alt="{_e(caption)}" src="data:image/jpeg;base64,{data}">'
    return f"<figure>{image_tag}<figcaption>{_e(caption)}</figcaption></figure>"


def _frames_html(verdict: Verdict, detector: Detector) -> str:
    picks = key_frames(verdict)
    if not picks:
        return "<p class=muted>no analysis window: no frames to show</p>"
    frames = decode_frames(Path(verdict.path), detector, [p[0] for p in picks])
    boxes = verdict.tracks.face_boxes if verdict.tracks is not None else None
    figures = []
    for frame_index, kind, llr in picks:
        if frame_index not in frames:
            continue
        box = boxes[frame_index] if boxes is not None and frame_index < len(boxes) else None
        face = "tracked face boxed" if box is not None and not np.isnan(box).any() else "no face tracked"
        caption = f"{kind}: {frame_index / FPS:.2f} s, window LLR {llr:+.2f} ({format_lr(llr)}); {face}"
        figures.append(
            _frame_figure(frames[frame_index], box, caption, "#d62728" if kind.startswith("most") else "#2ca02c")
        )
    return f"<div class=frames>{''.join(figures)}</div>"


def _software(verdict: Verdict) -> list[tuple[str, Any]]:
    import av
    import torch

    import emoboost

    provenance = verdict.provenance
    return [
        ("emoboost", emoboost.__version__),
        ("Python / platform", f"{platform.python_version()} / {platform.platform()}"),
        ("torch / numpy / PyAV", f"{torch.__version__} / {np.__version__} / {av.__version__}"),
        ("visual encoder", provenance.get("visual_encoder")),
        ("speech encoder", provenance.get("speech_encoder")),
        ("face detection", f"{provenance.get('face_detection')}, stride {provenance.get('face_stride')}"),
    ]


def _detector_section(verdict: Verdict, detector: Detector) -> str:
    data = detector.training_data()
    real, fake = detector.fusion.calibration_llrs()
    point = verdict.provenance.get("operating_point", {})
    pairs = [
        ("detector id", verdict.model_id),
        ("weights SHA-256", verdict.provenance.get("weights_sha256")),
        (
            "training data",
            f"{data['dataset']}, {data['clips'] or '?'} clips, {ORIGIN[data['generated']]}",
        ),
        (
            "fusion",
            ", ".join(f"{n} {w:+.3f}" for n, w in zip(detector.fusion.inputs, detector.fusion.weights, strict=False))
            + f", bias {detector.fusion.bias:+.3f}",
        ),
        ("calibration clips", f"{len(real)} real, {len(fake)} fake"),
        ("calibration FPR / TPR at this threshold", f"{_number(point.get('fpr'))} / {_number(point.get('tpr'))}"),
    ]
    if len(real) and len(fake):
        scores = llr_metrics(np.r_[np.zeros(len(real)), np.ones(len(fake))], np.r_[real, fake], verdict.threshold)
        pairs.append(
            (
                "calibration Cllr / Cllr_min / ECE (in-sample)",
                f"{scores['cllr']:.3f} / {scores['cllr_min']:.3f} / {scores['ece_balanced']:.3f}",
            )
        )
    return _rows(pairs, mono=("weights SHA-256",))


def _scores_section(verdict: Verdict) -> str:
    names = {
        "emo": "EmoForensics (emotion consistency)",
        "rgb": "RGB face-crop CNN",
        "acoustic": "acoustic log-mel CNN",
        "consistency": "face-voice consistency, trained on real clips only (higher: less plausible together)",
        "fused": "EMO-BOOST fused LLR",
    }
    shares = verdict.provenance.get("llr_contributions") or {}

    def share(name: str) -> str:
        return f" (adds {_number(shares[name], '+.3f')} to the fused LLR)" if name in shares else ""

    rows = [
        (f"{names[k]} {'(LLR, before bounding)' if k == 'fused' else '(logit)'}", _number(v, "+.3f") + share(k))
        for k, v in verdict.scores.items()
        if k in names
    ]
    if shares:
        rows.append(("fusion bias", _number(shares.get("bias"), "+.3f")))
        rows.append(("driven by", driven_by(shares)))
    rows += [
        (f"{m} manipulated (EmoForensics head: an uncalibrated score in [0, 1], not a probability)", _number(v))
        for m, v in verdict.modalities.items()
    ]
    return _rows(rows)


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


def _segments_table(verdict: Verdict) -> str:
    consistency = any(s.consistency is not None for s in verdict.segments)
    band = verdict.provenance.get("consistency_real_band")
    within = (
        f" (real calibration windows: {band[0]:+.2f} to {band[1]:+.2f})"
        if consistency and isinstance(band, (list, tuple)) and len(band) == 2
        else ""
    )
    head = (
        "<tr><th>stretch (s)</th><th>fused LLR</th><th>LR</th><th>P(fake) at prior</th><th>emotion mismatch</th>"
        + (f"<th>face-voice inconsistency{_e(within)}</th>" if consistency else "")
        + "</tr>"
    )
    body = "".join(
        f"<tr><td>{s.start_s:.1f}-{s.end_s:.1f}</td><td>{s.llr:+.2f}</td><td>{_e(format_lr(s.llr))}</td>"
        f"<td>{s.probability:.3f}</td>"
        f"<td>{_number(s.emotion_mismatch, '.2f')}</td>"
        + (f"<td>{_number(s.consistency, '+.2f')}</td>" if consistency else "")
        + "</tr>"
        for s in verdict.segments
    )
    return f"<table>{head}{body}</table>"


def _scale_table() -> str:
    bounds = [1.0, *(b for b, _ in VERBAL_SCALE[::-1][1:])]
    rows = []
    for (_bound, words), low in zip(VERBAL_SCALE[::-1], bounds, strict=False):
        upper = next((b for b in bounds if b > low), None)
        rows.append(
            f"<tr><td>{low:,.0f} - {upper:,.0f}</td><td>{words}</td></tr>"
            if upper
            else f"<tr><td>&gt; {low:,.0f}</td><td>{words}</td></tr>"
        )
    return f"<table><tr><th>LR (or 1/LR for authentic)</th><th>support</th></tr>{''.join(rows)}</table>"


def _verdict_html(verdict: Verdict) -> str:
    label, ratio = verdict.label, format_lr(abs(verdict.llr)).removeprefix("LR ")
    direction = "manipulated than if it is authentic" if verdict.llr >= 0 else "authentic than if it is manipulated"
    source = _e(verdict.provenance.get("threshold_source", ""))
    words = operating_point_words(verdict.provenance.get("operating_point") or {})
    point = f"<br>Operating point: {_e(words)}." if words else ""
    return (
        f'<div class="verdict {label}"><div class=big>{_e(format_lr(verdict.llr))}: {_e(verdict.lr_verbal)}</div>'
        f"The observed scores are {_e(ratio)} times as probable if the clip is {direction}"
        f" (natural-log LR {verdict.llr:+.3f}, log10 LR {verdict.log10_lr:+.3f}).<br>"
        f"At a prior P(fake) of {verdict.prior:g}, the posterior P(fake) is <b>{verdict.probability:.3f}</b>;"
        f" decision: <b>{label.upper()}</b> (LLR threshold {verdict.threshold:+.3f}: {source}).{point}</div>"
    )


def _file_html(verdict: Verdict) -> str:
    path = Path(verdict.path)
    facts = media_facts(path, int(verdict.provenance.get("video_track", 0)))
    pairs = [
        ("file name", path.name),
        ("path", path),
        ("size", f"{facts['size_bytes']:,} bytes"),
        ("SHA-256", verdict.sha256),
        ("duration", f"{verdict.duration_s:.2f} s"),
        ("container", facts["container"]),
        ("video", facts["video_codec"]),
        ("audio", facts["audio_codec"]),
    ]
    return _rows(pairs, mono=("SHA-256", "path"))


def render_report(verdict: Verdict, detector: Detector, command: str) -> str:
    """The HTML text of one case report (``verdict`` must carry its tracks)."""
    name = _e(Path(verdict.path).name)
    warnings = "".join(f"<li>{_e(w)}</li>" for w in verdict.warnings)
    timeline = base64.b64encode(timeline_png_bytes(verdict)).decode("ascii")
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>emoboost case report: {name}</title>
<style>{STYLE}</style></head><body>
<h1>Case report: {name}</h1>
<p class=muted>emoboost audio-visual manipulation detector &middot; generated {now}</p>
{_verdict_html(verdict)}
<h2>Warnings</h2>{f"<ul class=warn>{warnings}</ul>" if warnings else "<p>none</p>"}
<h2>File</h2>{_file_html(verdict)}
<h2>Timeline</h2><p class=muted>Panels: {_e(", ".join(panel_names(verdict)))}. Grey: no face tracked.</p>
<img alt="timeline" src="data:image/png;base64,{timeline}">
<h2>Key frames</h2>{_frames_html(verdict, detector)}
<h2>Scores per detector and modality</h2>{_scores_section(verdict)}
<h2>Analysis windows</h2>{_segments_table(verdict)}
<h2>Detector</h2>{_detector_section(verdict, detector)}
<h2>Software</h2>{_rows(_software(verdict))}
<h2>Command</h2><p class=mono>{_e(command)}</p>
<h2>How to read the likelihood ratio</h2>
<p>LR = P(observed scores | manipulated) / P(observed scores | authentic), computed by a fusion calibrated on the
detector's calibration clips. It does not depend on the prior; the posterior P(fake) = LR &times; prior odds, turned
into a probability. Verbal equivalents (ENFSI 2015):</p>{_scale_table()}
</body></html>
"""


def _warning_count(entry: dict[str, Any]) -> int:
    warnings = entry.get("warnings") or []
    return len([w for w in warnings.split("; ") if w]) if isinstance(warnings, str) else len(warnings)


class CaseReports:
    """The ``--report`` folder of one ``emoboost detect`` run."""

    def __init__(self, folder: str | Path, detector: Detector, command: str):
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            from emoboost.errors import ConfigError

            raise ConfigError(f"{self.folder}: --report is a file; give a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.detector, self.command = detector, command
        self.index = self.folder / "index.html"

    def has(self, entry: dict[str, Any]) -> bool:
        """Whether the report of a finished verdict entry is already there."""
        return (self.folder / report_name(entry["path"], entry.get("sha256", ""))).is_file()

    def add(self, verdict: Verdict) -> Path:
        """Write the report of one verdict (atomically); returns its path."""
        target = self.folder / report_name(verdict.path, verdict.sha256)
        write_text_atomic(target, render_report(verdict, self.detector, self.command))
        return target

    def close(self, entries: list[dict[str, Any]]) -> Path:
        """Write ``index.html``: one row per input (verdict entries link to their reports)."""
        rows = []
        for entry in entries:
            name = Path(entry["path"]).name
            if "error" in entry:
                rows.append(f"<tr><td>{_e(name)}</td><td colspan=5>error: {_e(entry['error'])}</td></tr>")
                continue
            link = report_name(entry["path"], entry.get("sha256", ""))
            llr = float(entry["llr"])
            href = _e(report_href(link))
            rows.append(
                f'<tr class={entry["label"]}><td><a href="{href}">{_e(name)}</a></td><td>{_e(entry["label"])}</td>'
                f"<td>{_e(format_lr(llr))}</td><td>{_e(entry['lr_verbal'])}</td>"
                f"<td>{float(entry['probability']):.3f} (prior {float(entry['prior']):g})</td>"
                f"<td>{_warning_count(entry)}</td></tr>"
            )
        head = "<tr><th>file</th><th>verdict</th><th>LR</th><th>support</th><th>P(fake)</th><th>warnings</th></tr>"
        text = (
            "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>emoboost case reports</title>"
            f"<style>{STYLE}</style></head><body><h1>emoboost case reports</h1>"
            f"<p class=muted>detector {_e(self.detector.model_id)}; command:"
            f" <span class=mono>{_e(self.command)}</span></p>"
            f"<table>{head}{''.join(rows)}</table></body></html>\n"
        )
        write_text_atomic(self.index, text)
        return self.index
