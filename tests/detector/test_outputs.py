"""The --output journal: never half-written, resumable, and only reused when it still answers the question."""

import json

import pytest

from emoboost.detector import outputs
from emoboost.detector.outputs import ResultLog


def verdict(path, sha="a" * 64, weights="w1", threshold=0.5, llr=0.8, prior=0.5):
    return {
        "path": str(path),
        "sha256": sha,
        "label": "fake" if llr >= threshold else "real",
        "llr": llr,
        "log10_lr": llr / 2.302585,
        "lr_verbal": "weak support for manipulated",
        "prior": prior,
        "probability": 0.69,
        "threshold": threshold,
        "scores": {"emo": 1.0, "rgb": None, "acoustic": 0.5, "fused": llr},
        "modalities": {"face": 0.6, "voice": 0.4},
        "segments": [{"start_s": 0.0, "end_s": 2.0, "llr": llr, "probability": 0.69, "emotion_mismatch": 0.3}],
        "duration_s": 2.0,
        "model_id": "m",
        "warnings": ["face found in only 40% of frames"],
        "provenance": {"weights_sha256": weights},
    }


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv"])
def test_crash_then_resume(tmp_path, monkeypatch, name):
    monkeypatch.setattr(outputs, "SNAPSHOT_S", 0.0)  # snapshot after every entry
    output = tmp_path / name
    log = ResultLog(output, outputs.output_format(output, None))
    log.add(verdict(tmp_path / "a.mp4"))
    log.add({"path": str(tmp_path / "b.mp4"), "error": "no face found", "error_type": "no_face"})
    log.add(verdict(tmp_path / "c.mp4", sha="c" * 64))
    # the process dies here: no close(); then a torn half line lands in the journal
    with open(log.journal, "a") as handle:
        handle.write('{"path": "/x/d.mp4", "sha')
    log._release()  # the OS drops a dead process's lock
    text = output.read_text()
    assert text.count("\n") == (3 if name.endswith("jsonl") else 4) and text.endswith("\n")  # complete snapshot

    again = ResultLog(output, outputs.output_format(output, None))
    expected = lambda sha: (sha, "w1", 0.5, 0.5)  # noqa: E731
    assert again.finished(tmp_path / "a.mp4", lambda: expected("a" * 64)) is not None
    assert again.finished(tmp_path / "b.mp4", lambda: expected("a" * 64)) is None  # failures are retried
    assert again.finished(tmp_path / "c.mp4", lambda: expected("changed" + "c" * 57)) is None  # content changed
    assert again.finished(tmp_path / "a.mp4", lambda: ("a" * 64, "w2", 0.5, 0.5)) is None  # another detector
    assert again.finished(tmp_path / "a.mp4", lambda: ("a" * 64, "w1", 0.9, 0.5)) is None  # another threshold
    assert again.finished(tmp_path / "a.mp4", lambda: ("a" * 64, "w1", 0.5, 0.1)) is None  # another prior
    assert again.finished("/x/d.mp4", lambda: expected("a" * 64)) is None  # the torn line was dropped
    again.add(verdict(tmp_path / "b.mp4", sha="b" * 64))
    again.close()
    assert not again.journal.exists()
    final = output.read_text()
    if name.endswith("jsonl"):
        entries = [json.loads(line) for line in final.splitlines()]
        assert [e["path"][-5:] for e in entries] == ["a.mp4", "b.mp4", "c.mp4"] and "error" not in entries[1]
    else:
        assert final.splitlines()[0] == ",".join(outputs.CSV_COLUMNS) and len(final.splitlines()) == 4
        assert "face found in only 40% of frames" in final


def test_output_must_be_a_file(tmp_path):
    with pytest.raises(Exception, match="is a folder"):
        ResultLog(tmp_path, "json")


def test_csv_text_cells_never_start_a_formula_and_read_back_exactly(tmp_path):
    from emoboost.detector.outputs import csv_cell, csv_text

    for text in ('=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "'=x", "'plain", "plain.mp4"):
        cell = csv_cell(text)
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) and csv_text(cell) == text
    assert csv_cell(-3.5) == -3.5  # numbers stay numbers


def test_output_never_replaces_a_file_emoboost_did_not_write_nor_one_of_the_inputs(tmp_path):
    from emoboost.detector.outputs import ResultLog, refuse_inputs_as_output
    from emoboost.errors import ConfigError

    notes = tmp_path / "notes.csv"
    notes.write_text("my,own\nnotes,here\n")
    with pytest.raises(ConfigError, match="not an emoboost output; refusing to replace it"):
        ResultLog(notes, "csv")
    assert notes.read_text() == "my,own\nnotes,here\n"
    earlier = tmp_path / "v.csv"
    log = ResultLog(earlier, "csv")
    log.add({"path": "a.mp4", "error": "empty file", "error_type": "empty_file"})
    log.close()
    kept = earlier.read_text()
    with pytest.raises(ConfigError, match="as CSV, not JSON; rerun with --format csv"):
        ResultLog(earlier, "json")
    assert earlier.read_text() == kept
    evidence = tmp_path / "evidence.mp4"
    evidence.write_bytes(b"video")
    with pytest.raises(ConfigError, match="is one of the inputs"):
        refuse_inputs_as_output(tmp_path / "." / "evidence.mp4", [evidence])
