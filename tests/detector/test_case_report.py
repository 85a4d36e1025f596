"""The case report as an examiner's document: case fields, intake hashes and times, container metadata, propositions,
limitations, validation labels, the command as typed, the index's report hashes; hostile names and tags escaped."""

from __future__ import annotations

import hashlib
import html.parser
import math
import re
import shutil
from fractions import Fraction
from pathlib import Path

import av
import factory
import numpy as np
import pytest

from emoboost.cli import run
from emoboost.media.metadata import container_facts, intake, kind_of

HOSTILE_TITLE = '</title><script>alert("title")</script><img src=x onerror=alert(1)>'
HOSTILE_NAME = "<script>alert(1)<\u2044script> & \"quote\" 'single'.mp4"  # U+2044: a name cannot hold a slash


@pytest.fixture
def model(tiny_model) -> Path:
    return tiny_model  # shared by the session (tests/conftest.py); copied before any test changes it


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return factory.talking_clip(tmp_path_factory.mktemp("clip") / "exhibit.mp4", seconds=1.5)


def retitled(source: Path, target: Path, title: str) -> Path:
    """``source`` remuxed (no re-encoding) with a container ``title`` tag."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        out.metadata["title"] = title
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return target


def paced(target: Path, gaps: list[int]) -> Path:
    """A short H.264 file whose frames sit ``gaps`` ticks of 1/100 s apart (all equal: constant rate)."""
    with av.open(str(target), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.codec_context.time_base = stream.time_base = Fraction(1, 100)
        pts = 0
        for index, gap in enumerate([0, *gaps]):
            pts += gap
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), index * 9 % 255, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, stream.time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return target


def test_intake_hashes_and_times_match_the_file(clip):
    facts = intake(clip)
    data = clip.read_bytes()
    assert facts["md5"] == hashlib.md5(data).hexdigest() and facts["sha1"] == hashlib.sha1(data).hexdigest()
    assert facts["sha256"] == hashlib.sha256(data).hexdigest() and facts["size_bytes"] == len(data)
    assert facts["modified"].endswith(" UTC") and not facts["changed_while_read"]


def test_container_facts_name_the_brand_the_streams_and_the_rate_mode(clip, tmp_path):
    facts = container_facts(clip)
    assert facts["error"] is None and facts["kind"].startswith("MP4") and facts["tags"]["major_brand"] == "isom"
    video = next(s for s in facts["streams"] if s["type"] == "video")
    assert video["analysed"] and video["rate_mode"] == "constant" and video["packets"] == video["frames_declared"]
    assert video["tags"].get("handler_name") and any(s["type"] == "audio" for s in facts["streams"])
    assert container_facts(paced(tmp_path / "cfr.mp4", [4] * 12))["streams"][0]["rate_mode"] == "constant"
    vfr = container_facts(paced(tmp_path / "vfr.mp4", [4, 4, 8, 4, 2, 4, 12, 4, 4]))["streams"][0]
    assert vfr["rate_mode"] == "variable" and vfr["interval_ms"] == (20.0, 120.0)
    assert kind_of("QuickTime / MOV", "qt  ") == "QuickTime movie (MOV)" and kind_of("Matroska / WebM", None) == (
        "Matroska / WebM"
    )
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    assert container_facts(broken)["error"]


class Text(html.parser.HTMLParser):
    """The page as a reader sees it (text only), and every tag the parser met."""

    def __init__(self):
        super().__init__()
        self.text, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_the_report_is_an_examiners_document(clip, model, tmp_path, capfd):
    exhibit = retitled(clip, tmp_path / "in" / "exhibit.mp4", "Holiday clip")
    reports = tmp_path / "reports"
    words = ["detect", str(exhibit), "--model", str(model), "--report", str(reports), "--case-id", "2026/017"]
    words += ["--exhibit", "EX-3", "--examiner", "J. Doe"]
    assert run(words) == 0, capfd.readouterr().err
    (report,) = [p for p in reports.glob("*.html") if p.name != "index.html"]
    page = report.read_text(encoding="utf-8")
    reader = Text()
    reader.feed(page)
    text = " ".join(" ".join(reader.text).split())
    data = exhibit.read_bytes()
    for needed in (
        "case 2026/017",
        "exhibit EX-3",
        "examiner J. Doe",
        f"MD5 {hashlib.md5(data).hexdigest()}",
        f"SHA-1 {hashlib.sha1(data).hexdigest()}",
        f"SHA-256 {hashlib.sha256(data).hexdigest()}",
        "content modified (file system)",
        "format MP4 (ISO base media)",
        "tag: major_brand isom",
        "tag: title Holiday clip",
        "frame rate mode constant",
        "frames counted (demuxed packets)",
        "Propositions and scope",
        "Hp: the audio-visual content",
        "Hd: the file is an unaltered recording",
        "Limitations",
        "In-sample (not a validation)",
        "No held-out validation is recorded",
        "window score",
        "Each detector's share of the evidence",
        "sum: fused LLR before bounding",
        f"As typed: emoboost detect {exhibit} --model {model} --report {reports} --case-id 2026/017 --exhibit EX-3",
        "Resolved settings",
    ):
        assert needed in text, needed
    assert "suspicious" not in text and "()" not in text  # neutral frame captions; no empty option spelt out
    assert "#d62728" not in page.split("<h2>Key frames</h2>")[1].split("<h2>")[0]  # frames not boxed in red
    assert "@media print" in page and "@page" in page
    assert "script" not in reader.tags and "http://" not in page and "https://" not in page
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert hashlib.sha256(report.read_bytes()).hexdigest() in index and hashlib.sha256(data).hexdigest() in index
    assert "2026/017" in index and "J. Doe" in index


def test_a_hostile_file_name_and_container_title_are_shown_escaped(clip, model, tmp_path, capfd):
    exhibit = retitled(clip, tmp_path / HOSTILE_NAME, HOSTILE_TITLE)
    reports = tmp_path / "reports"
    examiner = "<marquee>me</marquee>"
    code = run(["detect", str(exhibit), "--model", str(model), "--report", str(reports), "--examiner", examiner])
    assert code == 0, capfd.readouterr().err
    for page in reports.glob("*.html"):
        markup = page.read_text(encoding="utf-8")
        reader = Text()
        reader.feed(markup)
        assert not {"script", "marquee"} & set(reader.tags), page.name  # nothing the file holds became an element
        assert "onerror" not in " ".join(re.findall(r"<[^>]*>", markup))  # nor an attribute
        text = "".join(reader.text)
        assert "<script>alert(1)" in text and "<marquee>me</marquee>" in text  # shown to the reader as written
        if page.name != "index.html":
            assert HOSTILE_TITLE in text


def test_the_report_says_the_detectors_kinds_of_manipulation(model, tmp_path):
    from emoboost.detector.case_report import propositions
    from emoboost.detector.detector import Detector

    folder = tmp_path / "d"
    shutil.copytree(model, folder)
    detector = Detector.from_pretrained(folder)
    detector.meta["data"] = {"dataset": "fakeavceleb", "fake_categories": ["FVRA-WL", "RVFA"], "held_out": ["FVFA-FS"]}
    words = propositions(detector)
    assert "RVFA: real video, voice cloned" in words["hp"] and "FVRA-WL: real voice, face lip-synced" in words["hp"]
    assert any("FVFA-FS" in line for line in words["scope"])


def test_scale_rows_match_the_verbal_scale():
    from emoboost.calibration import verbal
    from emoboost.detector.case_report import scale_rows

    rows = scale_rows()
    assert rows[0] == ("1/2 - 2", "none (neither proposition)")
    assert rows[1:] == [
        ("2 - 10", "weak"),
        ("10 - 100", "moderate"),
        ("100 - 1,000", "moderately strong"),
        ("1,000 - 10,000", "strong"),
        ("10,000 - 1,000,000", "very strong"),
        ("> 1,000,000", "extremely strong"),
    ]
    for band, words in rows[1:]:  # just above the lower end of every printed band: that band's words
        low = float(band.split(" ")[-1 if band.startswith(">") else 0].replace(",", ""))
        assert verbal(math.log(low * 1.01)) == f"{words} support for manipulated"
