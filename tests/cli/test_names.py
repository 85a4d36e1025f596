"""Names and destinations: every file name gets its verdict or its one-line error, every destination is
checked before any work, and nothing written after a verdict can lose it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import factory
import names_matrix
import pytest

from emoboost.cli import run
from emoboost.detector.detector import Detector
from emoboost.detector.outputs import ResultLog


@pytest.fixture
def model(tiny_model) -> Path:
    return tiny_model  # shared by the session (tests/conftest.py); copied before any test changes it


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return factory.talking_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=1.5)


def detect(capfd, *args) -> tuple[int, list[str], list[str]]:
    code = run(["detect", *map(str, args)])
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out.splitlines(), captured.err.splitlines()


@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if the detector is loaded (i.e. if any work starts)."""
    monkeypatch.setattr(Detector, "from_pretrained", classmethod(lambda cls, *a, **k: pytest.fail("work started")))


@pytest.mark.parametrize("case", names_matrix.DESTINATIONS, ids=lambda c: c.name)
def test_bad_destination_exits_2_before_any_work(case, tmp_path, clip, model, capfd, no_work):
    code, out, err = detect(capfd, clip, "--model", model, *case.make(tmp_path))
    assert code == 2 and len(err) == 1 and err[0].startswith("error ") and case.says in err[0], err


@pytest.mark.parametrize("case", names_matrix.LISTINGS, ids=lambda c: c.name)
def test_bad_listing_is_one_line(case, tmp_path, model, capfd, no_work):
    name = case.file.lstrip("@")
    if case.content:
        (tmp_path / name).write_bytes(case.content)
    code, out, err = detect(capfd, ("@" if case.file.startswith("@") else "") + str(tmp_path / name), "--model", model)
    assert code == 2 and len(err) == 1 and case.says in err[0], err


def test_missing_destination_folders_are_created(tmp_path, clip, model, capfd):
    output, plots = tmp_path / "new" / "deeper" / "out.jsonl", tmp_path / "plots" / "here"
    code, out, err = detect(
        capfd, clip, "--model", model, "--output", output, "--timeline-png", plots, "--format", "json"
    )
    assert code == 0 and json.loads(output.read_text())["sha256"] and len(list(plots.glob("*.png"))) == 1


def test_odd_names_get_verdicts_and_errors_one_line_each(tmp_path, clip, model, capfd):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in (names_matrix.NOT_UTF8, names_matrix.LONG, "good.mp4"):
        (folder / name).write_bytes(clip.read_bytes())
    for name in (names_matrix.NEWLINE, names_matrix.ESCAPE):
        (folder / name).write_text("not a video\n" * 20)
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"\n".join(os.fsencode(folder / name) for name in (names_matrix.NOT_UTF8, "good.mp4")))
    output = tmp_path / "out.jsonl"
    code, out, err = detect(
        capfd,
        folder,
        f"@{listing}",
        "--model",
        model,
        "--output",
        output,
        "--timeline-png",
        tmp_path / "plots",
        "--format",
        "json",
    )
    assert code == 1  # the two text files fail; every video gets its verdict
    entries = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    verdicts = {Path(e["path"]).name for e in entries if "label" in e}
    assert verdicts == {"caf\\xe9 \\xff.mp4", names_matrix.LONG, "good.mp4"}
    failures = sorted(Path(e["path"]).name for e in entries if "error" in e)
    assert failures == sorted(["evil\\nerror forged line.mp4", "\\x1b[31mred\\x1b[0m.mp4"])
    assert len(out) == 1 and out[0].startswith("3 verdicts") and "2 failed" in out[0]  # the summary, one line
    errors = [line for line in err if line.startswith("error ")]
    assert len(errors) == 2 and not any(line.startswith("error forged") for line in err) and "\x1b" not in "".join(err)
    assert len(list((tmp_path / "plots").glob("*.png"))) == 3


HOSTILE_NAMES = (
    "javascript:alert(document.domain);x=_.mp4",  # a URL scheme as a link
    "a#b?c%41.mp4",  # fragment, query, escape
    "back\\slash.mp4",
    "invoice_\u202egnp.mp4",  # a right-to-left override: would show as "invoice_mp4.png"
    '"><img src=x onerror=alert(1)>.mp4',
)


def test_report_links_and_titles_carry_no_active_name(tmp_path, clip, model, capfd):
    import html.parser
    import urllib.parse

    folder = tmp_path / "in"
    folder.mkdir()
    for name in HOSTILE_NAMES:
        (folder / name).write_bytes(clip.read_bytes())
    reports = tmp_path / "reports"
    code, out, err = detect(capfd, folder, "--model", model, "--report", reports)
    assert code == 0, err
    hrefs: list[str] = []

    class Links(html.parser.HTMLParser):
        def handle_starttag(self, tag, attrs):
            assert tag != "img" or dict(attrs).get("src", "").startswith("data:image/")  # only the embedded images
            hrefs.extend(value for key, value in attrs if key == "href")

    Links().feed((reports / "index.html").read_text(encoding="utf-8"))
    assert len(hrefs) == len(HOSTILE_NAMES)
    for href in hrefs:  # relative, percent-encoded, naming a report of this folder
        assert href.startswith("./") and "/" not in href[2:] and not set("#?:\\") & set(href), href
        assert (reports / urllib.parse.unquote(href[2:])).is_file()
    for page in reports.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "\u202e" not in text and "<img src=x" not in text and "<script" not in text
    assert any("invoice_\\u202egnp.mp4" in p.read_text(encoding="utf-8") for p in reports.glob("invoice*.html"))


def test_a_failed_plot_keeps_the_verdict_and_the_batch(tmp_path, clip, model, capfd, monkeypatch):
    import emoboost.detector.timeline

    def broken(verdict, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(emoboost.detector.timeline, "plot_timeline", broken)
    code, out, err = detect(
        capfd,
        clip,
        "--model",
        model,
        "--timeline-png",
        tmp_path / "plots",
        "--output",
        tmp_path / "o.jsonl",
        "--format",
        "json",
    )
    assert code == 1 and len(out) == 1 and "1 verdict" in out[0] and "1 plot(s) or report(s) not written" in out[0]
    assert any("timeline not written (No space left on device); the verdict is kept" in line for line in err)
    assert json.loads((tmp_path / "o.jsonl").read_text())["label"]


def _no_space(*args, **kwargs):
    raise OSError(28, "No space left on device")


def _three_copies(tmp_path, clip) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        (folder / name).write_bytes(clip.read_bytes())
    return folder


def test_a_full_disk_under_output_keeps_earlier_entries_shows_the_verdict_and_resumes(
    tmp_path, clip, model, capfd, monkeypatch
):
    import emoboost.detector.outputs as outputs

    folder, output = _three_copies(tmp_path, clip), tmp_path / "out.jsonl"
    real_fsync, calls = outputs.os.fsync, []

    def fsync_then_full(fd):
        calls.append(fd)
        return real_fsync(fd) if len(calls) == 1 else _no_space()

    monkeypatch.setattr(outputs.os, "fsync", fsync_then_full)
    code, out, err = detect(capfd, folder, "--model", model, "--output", output, "--format", "json")
    assert code == 1
    errors = [line for line in err if line.startswith("error ")]
    assert errors == [
        f"error --output {output}: cannot be written (No space left on device); the 1 entries before this one are "
        "kept (rerun the same command to go on)"
    ]
    assert "1 input(s) not attempted; rerun the same command to go on" in err
    shown = [json.loads(line) for line in out if line.startswith("{")]
    assert [Path(e["path"]).name for e in shown] == ["b.mp4"] and shown[0]["label"]  # the verdict it could not keep
    assert [Path(json.loads(line)["path"]).name for line in output.read_text().splitlines()] == ["a.mp4"]
    monkeypatch.setattr(outputs.os, "fsync", real_fsync)  # space freed: the rerun goes on from there
    code, out, err = detect(capfd, folder, "--model", model, "--output", output, "--format", "json")
    assert code == 0 and "1 taken from" in out[-1]
    assert sorted(Path(json.loads(line)["path"]).name for line in output.read_text().splitlines()) == [
        "a.mp4",
        "b.mp4",
        "c.mp4",
    ]


def test_a_full_disk_when_the_output_is_finished_keeps_the_journal(tmp_path, clip, model, capfd, monkeypatch):
    import emoboost.detector.outputs as outputs

    output = tmp_path / "out.csv"
    monkeypatch.setattr(outputs, "write_text_atomic", _no_space)
    code, out, err = detect(capfd, clip, "--model", model, "--output", output)
    journal = tmp_path / ".out.csv.journal"
    assert code == 1 and journal.is_file() and not output.exists()
    assert err[-1] == (
        f"error --output {output}: cannot be written (No space left on device); its 1 entries are kept in {journal} "
        "(rerun the same command to finish the file)"
    )
    monkeypatch.undo()
    code, out, err = detect(capfd, clip, "--model", model, "--output", output)
    assert code == 0 and "1 taken from" in out[-1] and output.is_file() and not journal.exists()


def test_a_full_disk_for_the_report_index_keeps_the_reports(tmp_path, clip, model, capfd, monkeypatch):
    import emoboost.detector.case_report as case_report

    real = case_report.write_text_atomic
    monkeypatch.setattr(
        case_report,
        "write_text_atomic",
        lambda target, text: _no_space() if target.name == "index.html" else real(target, text),
    )
    code, out, err = detect(capfd, clip, "--model", model, "--report", tmp_path / "reports")
    assert code == 1 and len(list((tmp_path / "reports").glob("*.html"))) == 1
    assert err[-1] == (
        f"error --report {tmp_path / 'reports' / 'index.html'}: index not written (No space left on device); the "
        "case reports are kept"
    )


def test_a_full_disk_under_extract_stops_with_one_line_and_keeps_earlier_records(tmp_path, clip, capfd, monkeypatch):
    from emoboost.features.store import FeatureStore

    folder = _three_copies(tmp_path, clip)
    (folder / "c.mp4").write_bytes(b"other bytes, not a video\n" * 40)  # differs: a, b share content
    real_put, calls = FeatureStore.put, []

    def put_then_full(self, record, key):
        calls.append(key)
        return real_put(self, record, key) if len(calls) == 1 else _no_space()

    monkeypatch.setattr(FeatureStore, "put", put_then_full)
    (folder / "b.mp4").write_bytes(clip.read_bytes() + b"\0")  # other content, still a video
    store = tmp_path / "store"
    code = run(["extract", str(folder), "--out", str(store)])
    captured = capfd.readouterr()
    err = captured.err.splitlines()
    assert code == 1 and "Traceback" not in captured.err
    errors = [line for line in err if line.startswith("error ")]
    assert len(errors) == 1 and errors[0].startswith(f"error {folder / 'b.mp4'}: features not written to {store}")
    assert errors[0].endswith("(No space left on device)")
    assert (
        "1 done, 0 skipped, 1 failed, 1 not attempted (the disk is full: free space and rerun to go on)" in captured.out
    )
    assert len(list(store.rglob("*.safetensors"))) == 1 and not list(store.rglob("*.tmp*"))


def test_a_second_run_on_the_same_output_is_refused(tmp_path, clip, model, capfd):
    output = tmp_path / "out.jsonl"
    holder = ResultLog(output, "json")  # a first run, still going
    code, out, err = detect(capfd, clip, "--model", model, "--output", output)
    assert (
        code == 2 and len(err) == 1 and "another emoboost run is writing it" in err[0] and ".out.jsonl.lock" in err[0]
    )
    holder.close()
    code, out, err = detect(capfd, clip, "--model", model, "--output", output)
    assert code == 0


def test_a_torn_journal_line_does_not_swallow_the_next_entry(tmp_path):
    output = tmp_path / "out.jsonl"
    journal = tmp_path / ".out.jsonl.journal"
    journal.write_text('{"path": "/a.mp4", "label": "real", "sha256": "1"}\n{"path": "/b.mp4", "lab')  # killed mid-line
    log = ResultLog(output, "json")
    assert set(log.entries) == {"/a.mp4"}
    log.add({"path": "/c.mp4", "label": "fake", "sha256": "3"})
    assert set(log.entries) == {"/a.mp4", "/c.mp4"}
    log._handle.close()
    log._handle = None
    log._release()
    again = ResultLog(output, "json")  # a crash now: the journal is read back whole
    assert set(again.entries) == {"/a.mp4", "/c.mp4"}


def _fuzz_found(tmp: Path, model: Path) -> list[tuple[list[str], int, str]]:
    """Argument vectors that gave tracebacks in scripts/fuzz_cli.py, with the exit code and message now expected."""
    (tmp / "file.txt").write_text("hello\n")
    (tmp / "dir").mkdir()
    (tmp / "binary.csv").write_bytes(b"\xff\xfe\x00\x01path\n")
    return [
        (["detect", "x" * 5000, "--model", str(model)], 1, "cannot be opened (File name too long)"),
        (["extract", "x" * 5000, "--out", str(tmp / "s")], 1, "cannot be opened (File name too long)"),
        (["detect", str(tmp / "binary.csv"), "--model", str(model)], 2, "a manifest needs a 'path' column"),
        (["detect", str(tmp / "file.txt"), "--model", str(model), "--output", ""], 2, "needs a file name"),
        (["extract", str(tmp / "file.txt"), "--out", str(tmp / "file.txt")], 2, "is a file, not a folder"),
        (["extract", str(tmp / "file.txt"), "--out", str(tmp / "file.txt" / "s")], 2, "cannot create the folder"),
        (
            ["extract", str(tmp / "file.txt"), "--out", str(tmp / "s"), "--config", str(tmp / "dir")],
            2,
            "config file not found",
        ),
        (
            ["extract", str(tmp / "file.txt"), "--out", str(tmp / "s"), "--config", str(tmp / "binary.csv")],
            2,
            "not UTF-8",
        ),
        (
            ["train", "--manifest", str(tmp / "binary.csv"), "--store", str(tmp / "s"), "--out", str(tmp / "o")],
            2,
            "not an emoboost manifest",
        ),
    ]


def test_arguments_the_fuzz_pass_broke_are_one_line_errors(tmp_path, model, capfd):
    for arguments, expected, says in _fuzz_found(tmp_path, model):
        code = run(arguments)
        err = capfd.readouterr().err.strip().splitlines()
        assert (code, len(err)) == (expected, 1) and says in err[0], (arguments[:2], code, err)


def test_messages_stay_one_line_when_output_goes_to_a_file(tmp_path, model, capfd):
    folder = tmp_path / ("a folder with a long name " * 6).strip()
    folder.mkdir()
    code, out, err = detect(capfd, folder, "--model", model)
    assert code == 2 and len(err) == 2  # rich wraps at 80 columns into a file or pipe unless told not to
    assert (
        err[0].startswith("warning ") and err[0].endswith(": no video files in this folder") and str(folder) in err[0]
    )
    assert err[1] == "error no video files found in the given inputs"


def test_verdict_tracks_hold_no_nan(tmp_path, model):
    import math

    from detector_fixture import tiny_record

    record = tiny_record()
    record.arrays["face_mask"][:50] = False  # tokens without a face have no expression
    verdict = Detector.from_pretrained(model).predict_record(record)
    text = json.dumps(verdict.to_dict(tracks=True), allow_nan=False)  # raises on NaN
    assert None in json.loads(text)["tracks"]["expressions"][0] and not math.isnan(verdict.probability)
