"""`emoboost detect` end to end: every kind of input, output formats, resume after SIGKILL, timelines."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import detector_fixture
import media_matrix
import numpy as np
import pytest
from PIL import Image

from emoboost.calibration import verbal
from emoboost.cli import run
from emoboost.detector.detector import Detector
from emoboost.detector.outputs import CSV_COLUMNS
from emoboost.models.fusion import Fusion

NOISE = ("Traceback", "[mov", ".cc:", "DECORDError", "moov atom not found\n", "Error while decoding")


@pytest.fixture
def model(tiny_model) -> Path:
    return tiny_model  # shared by the session (tests/conftest.py); copied before any test changes it


def detect(capfd, *args) -> tuple[int, str, str]:
    code = run(["detect", *map(str, args)])
    captured = capfd.readouterr()
    return code, captured.out, captured.err


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def check_schema(verdict: dict) -> None:
    assert set(verdict) == detector_fixture.VERDICT_KEYS
    assert verdict["label"] in ("real", "fake") and 0 <= verdict["probability"] <= 1 and 0 < verdict["prior"] < 1
    fused, bounds = verdict["scores"]["fused"], verdict["provenance"]["llr_bounds"]
    assert verdict["label"] == ("fake" if fused >= verdict["threshold"] else "real")  # decided on the fused score
    assert verdict["provenance"]["llr_unbounded"] == pytest.approx(fused)
    assert verdict["llr"] == pytest.approx(fused if bounds is None else min(max(fused, bounds[0]), bounds[1]))
    prior_odds = math.log(verdict["prior"] / (1 - verdict["prior"]))
    assert verdict["probability"] == pytest.approx(
        1 / (1 + math.exp(-(verdict["llr"] + prior_odds))), abs=1e-5
    )  # the posterior
    assert verdict["log10_lr"] == pytest.approx(verdict["llr"] / math.log(10), abs=1e-5)
    generated_only = any("verdicts on real footage are not validated" in w for w in verdict["warnings"])
    assert verdict["lr_verbal"] == ("not validated for this material" if generated_only else verbal(verdict["llr"]))
    assert len(verdict["sha256"]) == 64 and verdict["duration_s"] > 0
    # the tiny detector has the real-only consistency detector: a fourth score, per window too
    assert set(verdict["scores"]) == {"emo", "rgb", "acoustic", "consistency", "fused"}
    assert set(verdict["modalities"]) == {"face", "voice"}
    assert all(isinstance(v, float) for v in verdict["scores"].values() if v is not None)
    assert verdict["segments"] and all(
        set(s) == {"start_s", "end_s", "llr", "probability", "emotion_mismatch", "consistency"}
        for s in verdict["segments"]
    )
    assert all(isinstance(s["consistency"], float) for s in verdict["segments"])
    assert all(0 <= s["start_s"] < s["end_s"] <= verdict["duration_s"] + 0.05 for s in verdict["segments"])
    assert set(verdict["provenance"]) >= {
        "weights_sha256",
        "operating_point",
        "threshold_source",
        "training_data",
        "face_stride",
        "fps",
        "visual_encoder",
        "speech_encoder",
    }
    assert set(verdict["provenance"]["operating_point"]) >= {"rule", "fpr", "tpr", "real_clips", "fake_clips"}
    assert isinstance(verdict["warnings"], list)


@pytest.mark.slow
def test_every_kind_of_input(tmp_path, talking_clip, faceless_clip, model, capfd, monkeypatch):
    cases = media_matrix.broken(tmp_path / "broken", talking_clip) + media_matrix.awkward(tmp_path / "awkward")
    locked = tmp_path / "locked.mp4"
    locked.write_bytes(talking_clip.read_bytes())
    # CI runs as root, who reads anything: make the permission check itself say no for this file
    monkeypatch.setattr("emoboost.media.decode.os.access", lambda p, mode: Path(p) != locked)
    listing = tmp_path / "inputs.txt"  # a list file is where a directory turns up where a file was expected
    listing.write_text("\n".join(str(c.path) for c in cases) + f"\n{faceless_clip}\n{locked}\n", encoding="utf-8")
    code, stdout, stderr = detect(
        capfd, f"@{listing}", "--model", model, "--format", "json", "--output", tmp_path / "out.jsonl"
    )

    assert code == 1  # some inputs failed, the rest were processed
    for noise in NOISE:
        assert noise not in stdout + stderr, noise
    errors = [line for line in stderr.splitlines() if line.strip()]
    failing = [c for c in cases if c.error] + [
        media_matrix.Case("no face", faceless_clip, None, "no face found"),
        media_matrix.Case("unreadable", locked, None, "permission denied"),
    ]
    assert len(errors) == len(failing), stderr
    for case in failing:
        line = next((line for line in errors if line.startswith(f"error {case.path}: ")), None)
        assert line is not None and case.says in line, (case.name, stderr)
    assert "--allow-audio-only" in next(line for line in errors if str(faceless_clip) in line)

    assert (
        "verdicts" in stdout and "-> " in stdout
    )  # with --output, stdout says what was done; the verdicts are in the file
    verdicts = {
        Path(v["path"]).name: v
        for v in json_lines((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
        if "error" not in v
    }
    expected = {c.path.name for c in cases if c.error is None}
    assert set(verdicts) == expected
    for verdict in verdicts.values():
        check_schema(verdict)
    assert verdicts["telephone.mp4"]["duration_s"] == pytest.approx(2.0, abs=0.05)
    assert verdicts["uhd.mp4"]["provenance"]["fps"] == 25
    two = verdicts["two tracks.mkv"]
    assert two["provenance"]["video_track"] == 1 and two["duration_s"] == pytest.approx(2.0, abs=0.05)
    assert "the file has 2 video tracks; track v:1 was analysed (the one with the most frames)" in two["warnings"]
    assert verdicts["uhd.mp4"]["provenance"]["video_track"] == 0
    # the output file holds one entry per input, failures included, and no journal is left behind
    entries = json_lines((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert len(entries) == len(failing) + len(expected)
    assert {e["error_type"] for e in entries if "error" in e} >= {
        "no_face",
        "permission_denied",
        "empty_file",
        "not_a_file",
        "too_short",
    }
    assert not list(tmp_path.glob(".out.jsonl*"))


def test_audio_only_verdict_when_allowed(faceless_clip, model, capfd, tmp_path):
    # the untrained detector's even fusion has no subset fusions: the missing rgb counts as 0, and it says so
    code, stdout, stderr = detect(capfd, faceless_clip, "--model", model, "--format", "json", "--allow-audio-only")
    assert code == 0, stderr
    assert "uncalibrated_subset" in json_lines(stdout)[0]["warning_codes"]
    fitted = Detector.from_pretrained(model)  # given a fusion fitted on calibration logits, subsets included
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(40), np.ones(40)].astype(int)
    calib = labels[:, None] * 0.5 + rng.normal(0, 1, (80, len(fitted.fusion.inputs)))
    fitted.fusion = Fusion.fit(calib, labels, fitted.fusion.inputs)
    model = fitted.save_pretrained(tmp_path / "fitted")
    code, stdout, stderr = detect(capfd, faceless_clip, "--model", model, "--format", "json", "--allow-audio-only")
    assert code == 0, stderr
    (verdict,) = json_lines(stdout)
    check_schema(verdict)
    assert (
        verdict["modalities"]["face"] is None and verdict["scores"]["rgb"] is None
    )  # no face: no face evidence claimed
    assert verdict["modalities"]["voice"] is not None and verdict["scores"]["acoustic"] is not None
    assert any("no face" in w for w in verdict["warnings"])
    # the LR is the fusion of the scores the clip has (fitted on calib without rgb), not rgb counted as logit 0
    fusion = Detector.from_pretrained(model).fusion
    present = [name for name in fusion.inputs if verdict["scores"][name] is not None]
    subset = fusion.subset(present)
    assert "rgb" not in present and subset is not None
    expected = sum(w * verdict["scores"][n] for w, n in zip(subset["weights"], present, strict=True)) + subset["bias"]
    assert verdict["scores"]["fused"] == pytest.approx(expected, abs=1e-5)
    shares = verdict["provenance"]["llr_contributions"]
    assert shares["rgb"] == 0 and sum(shares.values()) == pytest.approx(verdict["scores"]["fused"], abs=1e-5)
    assert verdict["provenance"]["llr_bounds"] == pytest.approx(list(fusion.llr_bounds(present)), abs=1e-6)
    assert "uncalibrated_subset" not in verdict["warning_codes"]


def test_formats_are_deterministic_and_complete(talking_clip, model, capfd, tmp_path):
    first = detect(capfd, talking_clip, "--model", model, "--format", "json")
    second = detect(capfd, talking_clip, "--model", model, "--format", "json")
    assert first[0] == 0 and first[1] == second[1]  # same file twice -> identical output
    (verdict,) = json_lines(first[1])
    check_schema(verdict)
    code, stdout, _ = detect(capfd, talking_clip, "--model", model, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert code == 0 and len(rows) == 1 and tuple(rows[0]) == CSV_COLUMNS
    assert float(rows[0]["probability"]) == verdict["probability"] and rows[0]["label"] == verdict["label"]
    assert float(rows[0]["llr"]) == verdict["llr"] and rows[0]["lr_verbal"] == verdict["lr_verbal"]
    # with --output the CSV goes to the file and stdout gets one summary line; a rerun says what it skipped
    code, stdout, _ = detect(capfd, talking_clip, "--model", model, "--format", "csv", "--output", tmp_path / "v.csv")
    assert code == 0 and stdout.strip().splitlines() == [
        line for line in stdout.strip().splitlines() if "1 verdict (" in line
    ]
    assert list(csv.DictReader(io.StringIO((tmp_path / "v.csv").read_text(encoding="utf-8")))) == rows
    code, stdout, _ = detect(capfd, talking_clip, "--model", model, "--format", "csv", "--output", tmp_path / "v.csv")
    assert code == 0 and "1 taken from" in stdout
    code, stdout, _ = detect(capfd, talking_clip, "--model", model, "--threshold", "-1000")
    assert code == 0 and "fake" in stdout and "1 verdict (1 fake), 0 failed" in stdout
    # a different prior moves the posterior, not the LR
    code, stdout, _ = detect(capfd, talking_clip, "--model", model, "--format", "json", "--prior", "0.1")
    (low,) = json_lines(stdout)
    assert low["llr"] == verdict["llr"] and low["probability"] < verdict["probability"] and low["prior"] == 0.1


def test_usage_errors_exit_2(talking_clip, model, capfd, tmp_path):
    (tmp_path / "empty").mkdir()
    for args, says in [
        ((talking_clip, "--model", model, "--format", "xml"), "--format"),
        ((talking_clip, "--model", model, "--prior", "1.5"), "prior"),
        ((talking_clip, "--model", model, "--threshold", "0", "--target-fpr", "0.1"), "not both"),
        ((talking_clip, "--model", tmp_path / "nowhere"), "not a detector directory"),
        ((tmp_path / "empty", "--model", model), "no video files"),
        ((f"@{tmp_path / 'absent.txt'}", "--model", model), "list file not found"),
        ((talking_clip, "--model", model, "--output", tmp_path), "is a folder"),
        ((talking_clip, "--model", model, "--device", "gpu0"), "not a device name"),
        ((talking_clip, "--model", model, "--device", "mps"), "runs on cpu or cuda"),
    ]:
        code, stdout, stderr = detect(capfd, *args)
        assert code == 2, (args, stderr)
        assert says in stderr and "Traceback" not in stderr


def test_timeline_png(talking_clip, model, capfd, tmp_path):
    code, stdout, _ = detect(
        capfd, talking_clip, "--model", model, "--format", "json", "--timeline-png", tmp_path / "plots"
    )
    assert code == 0
    (verdict,) = json_lines(stdout)
    (png,) = (tmp_path / "plots").iterdir()
    assert png.name == f"{talking_clip.stem}_{verdict['sha256'][:8]}.png"
    image = np.asarray(Image.open(png).convert("L"))
    assert image.shape[1] >= 800 and image.std() > 10  # a drawn figure, not a blank canvas


def test_python_api_tracks(talking_clip, model):
    from emoboost import Detector, Verdict

    detector = Detector.from_pretrained(model)
    verdicts = detector.predict([talking_clip, talking_clip])
    assert len(verdicts) == 2 and all(isinstance(v, Verdict) for v in verdicts) and verdicts[0] == verdicts[1]
    tracks = verdicts[0].tracks
    n = len(tracks.time_s)
    assert n == int(np.ceil(verdicts[0].duration_s * 5))  # 5 Hz tokens
    assert tracks.expressions.shape == (n, 7) and np.allclose(
        np.nansum(tracks.expressions, axis=1)[tracks.face_fraction > 0], 1, atol=1e-3
    )
    assert set(tracks.prosody) == {"loudness", "pitch"} and tracks.mismatch.shape == (n,)
    data = json.loads(json.dumps(verdicts[0].to_dict(tracks=True)))
    assert set(data) == detector_fixture.VERDICT_KEYS | {"tracks"} and len(data["tracks"]["time_s"]) == n
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdicts[0].label = "real"  # frozen


@pytest.mark.slow
def test_batch_killed_with_sigkill_resumes(tmp_path, talking_clip, model):
    clips = []
    for i in range(4):  # distinct files (the resume key is the path and its content hash)
        clips.append(tmp_path / f"clip{i}.mp4")
        clips[-1].write_bytes(talking_clip.read_bytes())
    output = tmp_path / "verdicts.jsonl"
    journal = tmp_path / ".verdicts.jsonl.journal"
    command = [
        sys.executable,
        "-m",
        "emoboost.cli",
        "detect",
        *map(str, clips),
        "--model",
        str(model),
        "--format",
        "json",
        "--output",
        str(output),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= 1:
            break
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    done_before = [json.loads(line) for line in journal.read_text().splitlines() if line.endswith("}")]
    assert 1 <= len(done_before) < 4
    if output.exists():  # never half-written: whatever is there parses whole
        json_lines(output.read_text())

    again = subprocess.run(
        [*command[:-4], "--output", str(output)], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}
    )
    assert again.returncode == 0, again.stderr
    assert f"{len(done_before)} taken from" in again.stdout  # finished files were not redone
    entries = json_lines(output.read_text())
    assert sorted(Path(e["path"]).name for e in entries) == [c.name for c in clips]  # none lost, none twice
    for entry in done_before:
        assert entry in entries
    assert not journal.exists()


def table_lines(entries, details=False, shared=(), width=80) -> list[str]:
    from rich.console import Console

    from emoboost.cli.detect import print_verdicts

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    print_verdicts(entries, details, shared, console=console)
    return console.export_text().splitlines()


def test_table_fits_80_columns_with_lr_and_verbal_label():
    entry = {
        "path": "/evidence/a-rather-long-file-name-from-a-phone-2024-05-17.mp4",
        "sha256": "a" * 64,
        "label": "real",
        "llr": -math.log(450.0),
        "log10_lr": -math.log10(450.0),
        "lr_verbal": verbal(-math.log(450.0)),
        "prior": 0.5,
        "probability": 0.0022,
        "threshold": 0.0,
        "scores": {"emo": -1.0, "rgb": -2.0, "acoustic": 0.5, "fused": -6.1},
        "modalities": {"face": 0.2, "voice": 0.3},
        "segments": [{"start_s": 0.0, "end_s": 2.0, "llr": -5.0, "probability": 0.01, "emotion_mismatch": 0.3}],
        "duration_s": 2.0,
        "model_id": "m",
        "warnings": [
            "face found in only 40% of frames",
            "trained only on generated clips (synthav): verdicts on real footage are not validated",
        ],
        "provenance": {
            "weights_sha256": "w",
            "llr_contributions": {"emo": -0.5, "rgb": -0.3, "acoustic": -5.0, "bias": -0.3},
        },
    }
    shared = ("trained only on generated clips (synthav): verdicts on real footage are not validated",)
    lines = table_lines([entry], shared=shared)
    assert max(map(len, lines)) <= 80
    row = next(line for line in lines if "1/450" in line)  # the LR in one piece
    assert "real" in row and "0.002" in row and "moderately" in row
    assert (
        sum("verdicts on real footage" in line for line in lines) == 1
    )  # a detector-wide warning once, under the table
    assert any("1. face found in only 40% of frames" in line for line in lines)
    detailed = table_lines([entry], details=True)
    assert max(map(len, detailed)) <= 80
    start = next(i for i, line in enumerate(detailed) if "per-detector" in line)
    scores = next(line for line in detailed[start:] if "-1.00" in line)
    assert scores.split()[1:9] == ["-1.00", "-2.00", "+0.50", "-6.10", "0.20", "0.30", "0.0-2.0s", "-5.00"]
    assert "acoustic (-5.00 of -6.10)" in "\n".join(detailed)  # which detector carried the verdict


def test_case_report_is_self_contained(talking_clip, model, capfd, tmp_path):
    code, stdout, stderr = detect(
        capfd, talking_clip, "--model", model, "--report", tmp_path / "reports", "--prior", "0.2"
    )
    assert code == 0, stderr
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    (report,) = [p for p in (tmp_path / "reports").glob("*.html") if p.name != "index.html"]
    assert report.name in index and "case reports" in stdout
    text = report.read_text(encoding="utf-8")
    for needed in (
        "SHA-256",
        "h264",
        "LR ",
        "prior P(fake) of 0.2",
        "posterior",
        "fused LLR",
        "weights SHA-256",
        "calibration",
        "emoboost detect",
        "--prior 0.2",
        "driven by",
        "adds ",
    ):
        assert needed in text, needed
    assert "http://" not in text and "https://" not in text and "<script" not in text  # nothing fetched
    assert (
        text.count("data:image/png;base64,") == 1 and 3 <= text.count("data:image/jpeg;base64,") <= 6
    )  # timeline + key frames


def test_table_names_files_by_their_shortest_unique_path_and_never_splits_one():
    from emoboost.text import shortest_unique

    assert shortest_unique(["/d/id00001/00000_real.mp4", "/d/id00002/00000_real.mp4", "/d/x/clip.mp4"]) == [
        "id00001/00000_real.mp4",
        "id00002/00000_real.mp4",
        "clip.mp4",
    ]
    assert shortest_unique(["a/x.mp4", "a/x.mp4", "x.mp4"]) == ["a/x.mp4", "a/x.mp4", "x.mp4"]

    def entry(path: str, llr: float) -> dict:
        return {
            "path": path,
            "sha256": "a" * 64,
            "label": "fake" if llr > 0 else "real",
            "llr": llr,
            "lr_verbal": verbal(llr),
            "prior": 0.5,
            "probability": 0.5,
            "threshold": 0.0,
            "duration_s": 4.0,
            "model_id": "m",
            "scores": {"emo": 1.0, "rgb": -2.0, "acoustic": 0.5, "fused": llr},
            "modalities": {},
            "segments": [],
            "warnings": [],
            "provenance": {"llr_contributions": {"emo": 0.25, "rgb": -1.0, "acoustic": 0.5, "bias": llr - 0.25 + 0.5}},
        }

    twins = [entry("/q/real/id00001/00000_real.mp4", -1.0), entry("/q/fake/id00001/00000_real.mp4", 2.0)]
    lines = table_lines(twins)
    assert any("real/id00001/00000_real.mp4" in line for line in lines)
    assert any("fake/id00001/00000_real.mp4" in line for line in lines)
    long = "an-exhibit-name-far-too-long-for-the-file-column-of-an-80-column-terminal-2024.mp4"
    lines = table_lines([entry(f"/case/{long}", 3.0), entry("/case/short.mp4", -3.0)], details=True)
    assert sum(long in line for line in lines) == 1 and any(line.strip() == f"#1 {long}" for line in lines)
    assert not any(long[:20] in line and long not in line for line in lines)  # never a piece of the name
    shares = next(line for line in lines if line.strip().startswith("#1: "))
    terms = [float(t.split()[-1]) for t in shares.split("=")[0].split(": ", 1)[1].split(" + ")]
    assert math.isclose(sum(terms), 3.0, abs_tol=0.02) and shares.split("=")[1].split(";")[0].strip() == "+3.00"
