"""Fuzz the command line: hostile arguments and input kinds, each run in-process through ``emoboost.cli.run``.

Every case must end with a known exit code (0, 1 or 2) and stderr lines that are one message each,
never a traceback. Usage: ``python scripts/fuzz_cli.py [--model DETECTOR_DIR]``; the last stdout
line is JSON: ``{"cases": N, "tracebacks": [...], "bad_exit": [...]}``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path


def cases(tmp: Path, model: str, clip: str) -> list[list[str]]:
    """Argument vectors: wrong values for every option, and every kind of path where a file is expected."""
    (tmp / "file.txt").write_text("hello\n")
    (tmp / "notes.csv").write_text("my,own\nnotes,here\n")
    for prefix in ("concat:", "file:", "pipe:", "subfile:", "data:", "http:"):
        (tmp / f"{prefix}clip.mp4").write_text("not a video\n")  # names FFmpeg would read as a protocol
    (tmp / "dir").mkdir(exist_ok=True)
    (tmp / "bad.yaml").write_text("media: [1, 2\n")
    (tmp / "types.yaml").write_text("media:\n  max_side: big\nfaces:\n  stride: 0\n")
    (tmp / "list.yaml").write_text("- 1\n- 2\n")
    (tmp / "unknown.yaml").write_text("media:\n  nonsense: 1\n")
    (tmp / "binary.csv").write_bytes(b"\xff\xfe\x00\x01path\n")
    (tmp / "nul.txt").write_bytes(b"a\x00b\n")
    (tmp / "store").mkdir(exist_ok=True)
    (tmp / "store" / "store.json").write_text('{"format": ')
    os.mkfifo(tmp / "fifo.mp4") if not (tmp / "fifo.mp4").exists() else None
    kinds = [
        "",
        "@",
        "@" + str(tmp / "nul.txt"),
        str(tmp / "dir"),
        str(tmp / "file.txt"),
        "/dev/null",
        "/dev/zero",
        str(tmp / "fifo.mp4"),
        str(tmp / "binary.csv"),
        "-",
        "--",
        os.fsdecode(b"\xff\xfe.mp4"),
        "x" * 5000,
        "a\nb.mp4",
        *(f"{prefix}clip.mp4" for prefix in ("concat:", "file:", "pipe:", "subfile:", "data:", "http:")),
    ]
    vectors: list[list[str]] = []
    for kind in kinds:
        vectors.append(["detect", kind, "--model", model])
        vectors.append(["extract", kind, "--out", str(tmp / "out_store")])
    detect_options = [
        ["--model", str(tmp / "file.txt")],
        ["--model", ""],
        ["--model", str(tmp / "dir")],
        ["--model", "name/with/slash"],
        ["--format", "xml"],
        ["--format", ""],
        ["--threshold", "nan"],
        ["--threshold", "-1"],
        ["--threshold", "abc"],
        ["--threshold", "inf"],
        ["--device", "gpu"],
        ["--device", "cuda:99"],
        ["--device", "mps"],
        ["--device", ""],
        ["--output", str(tmp / "file.txt" / "x.jsonl")],
        ["--output", str(tmp / "dir")],
        ["--output", ""],
        ["--output", str(tmp / ("y" * 300))],
        ["--timeline-png", str(tmp / "file.txt")],
        ["--timeline-png", ""],
        ["--output", str(tmp / "binary.csv")],
        ["--output", clip],  # the evidence itself
        ["--output", str(tmp / "notes.csv")],  # a user's own file
        ["--prior", "nan"],
        ["--target-fpr", "nan"],
    ]
    for option in detect_options:
        arguments = ["detect", clip, *option]
        vectors.append(arguments if "--model" in option else [*arguments, "--model", model])
    extract_options = [
        ["--out", str(tmp / "file.txt")],
        ["--out", str(tmp / "store")],
        ["--out", str(tmp / "file.txt" / "s")],
        ["--config", str(tmp / "missing.yaml")],
        ["--config", str(tmp / "bad.yaml")],
        ["--config", str(tmp / "types.yaml")],
        ["--config", str(tmp / "list.yaml")],
        ["--config", str(tmp / "unknown.yaml")],
        ["--config", str(tmp / "dir")],
        ["--config", str(tmp / "binary.csv")],
        ["--engine", "spark"],
        ["--workers", "0"],
        ["--visual-encoder", "bogus"],
        ["--speech-encoder", "hf:" + str(tmp / "dir")],
        ["--root", str(tmp / "file.txt")],
    ]
    for option in extract_options:
        out = [] if "--out" in option else ["--out", str(tmp / "s2")]
        vectors.append(["extract", str(tmp / "file.txt"), *out, *option])
    for command in (["train"], ["benchmark"]):
        vectors.append(
            [*command, "--manifest", str(tmp / "binary.csv"), "--store", str(tmp / "store"), "--out", str(tmp / "o")]
        )
        vectors.append(
            [*command, "--manifest", str(tmp / "missing.csv"), "--store", str(tmp / "s3"), "--out", str(tmp / "o")]
        )
        vectors.append(
            [
                *command,
                "--manifest",
                str(tmp / "file.txt"),
                "--store",
                str(tmp / "s3"),
                "--out",
                str(tmp / "o"),
                "--config",
                str(tmp / "bad.yaml"),
            ]
        )
    vectors += _media_and_names(tmp, model, clip) + _external_scores(tmp)
    vectors += [
        ["manifest", "fakeavceleb", str(tmp / "missing"), "--out", str(tmp / "m")],
        ["manifest", "fakeavceleb", str(tmp / "file.txt"), "--out", str(tmp / "m")],
        ["manifest", "fakeavceleb", str(tmp / "dir"), "--out", str(tmp / "m")],
        ["synth", str(tmp / "file.txt"), "--identities", "1"],
        ["synth", str(tmp / "s"), "--seconds", "nan"],
        ["detect"],
        ["extract"],
        ["nonsense"],
        ["detect", "--help-me"],
        ["--verbose"],
    ]
    return vectors


def _ffmpeg(*arguments: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *arguments], check=True)


def _media_and_names(tmp: Path, model: str, clip: str) -> list[list[str]]:
    """Frames above media.max_pixels, 32 audio channels without a layout, a decoy first video track, and file
    names that would act in a report (a URL scheme, markup, a right-to-left override) through --report."""
    media = tmp / "media"
    media.mkdir(exist_ok=True)
    _ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=7776x4320:r=25", "-frames:v", "1", "-c:v", "libx264",
            "-preset", "ultrafast", str(media / "huge.mp4"))  # fmt: skip
    inputs = " ".join(f"[a{k}]" for k in range(32)).replace(" ", "")
    _ffmpeg("-i", clip, "-filter_complex", f"[0:a]asplit=32{inputs};{inputs}amerge=inputs=32[o]",
            "-map", "0:v", "-map", "[o]", "-c:v", "copy", "-c:a", "pcm_s16le", str(media / "array.mkv"))  # fmt: skip
    _ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64:r=25", "-t", "1", "-c:v", "libx264", str(media / "decoy.mkv"))
    _ffmpeg("-i", str(media / "decoy.mkv"), "-i", clip, "-map", "0:v", "-map", "1:v", "-map", "1:a", "-codec", "copy",
            str(media / "two tracks.mkv"))  # fmt: skip
    names = tmp / "names"
    names.mkdir(exist_ok=True)
    for name in ("javascript:alert(1);x=_.mp4", "a#b?c%41.mp4", "inv\u202egnp.mp4", '"><img src=x onerror=1>.mp4'):
        (names / name).write_bytes(Path(clip).read_bytes())
    return [["detect", str(media / name), "--model", model] for name in ("huge.mp4", "array.mkv", "two tracks.mkv")] + [
        ["detect", str(names), "--model", model, "--report", str(tmp / "reports")],
        ["detect", str(names), "--model", model, "--output", str(tmp / "names.csv")],
    ]


def _external_scores(tmp: Path) -> list[list[str]]:
    """Benchmarks whose external score files are broken: each must stop before anything trains."""
    folds = tmp / "ext_folds"
    folds.mkdir(exist_ok=True)
    header = "path,label,type,category,method,identity,ids,split\n"
    row = "real/{0}.mp4,0,RVRA,real,real,id{0},id{0},{1}\n"
    body = header + "".join(row.format(k, split) for k, split in enumerate(("train", "val", "calib", "test")))
    for category in ("RVFA", "FVRA-WL", "FVFA-FS", "FVFA-GAN", "FVFA-WL"):
        (folds / f"{category}.csv").write_text(body)
    (tmp / "manifest.csv").write_text(body)  # beside folds/: the manifest the folds came from
    broken = {
        "inf": "path,score\nreal/2.mp4,inf\nreal/3.mp4,0.5\n",
        "empty": "path,score\nreal/2.mp4,\nreal/3.mp4,0.5\n",
        "twice": "path,score\nreal/2.mp4,0.1\nreal/2.mp4,0.2\nreal/3.mp4,0.5\n",
        "missing": "path,score\nreal/2.mp4,0.1\n",
    }
    vectors = []
    for name, text in broken.items():
        scores = tmp / f"ext_{name}"
        scores.mkdir(exist_ok=True)
        for category in ("RVFA", "FVRA-WL", "FVFA-FS", "FVFA-GAN", "FVFA-WL"):
            (scores / f"{category}.csv").write_text(text)
        config = ["--config", "configs/benchmark/synthav.yaml", "--folds", str(folds), "--store", str(tmp / "s4")]
        vectors.append(["benchmark", *config, "--out", str(tmp / "b"), "--external", f"{name}={scores}"])
    return vectors


def run_case(arguments: list[str]) -> tuple[int | str, str]:
    from emoboost.cli import run

    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = run(arguments)
    except BaseException:  # noqa: BLE001  (the point is to see every escape)
        return "traceback", traceback.format_exc().splitlines()[-1]
    return code, stderr.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a valid detector folder")
    parser.add_argument("--clip", required=True, help="a valid short video")
    args = parser.parse_args()
    model, clip = os.path.abspath(args.model), os.path.abspath(args.clip)
    tracebacks, bad_exit = [], []
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # relative names such as concat:clip.mp4 are resolved here
        vectors = cases(Path(folder), model, clip)
        for arguments in vectors:
            code, text = run_case(arguments)
            shown = [a[:60] for a in arguments]
            if code == "traceback" or "Traceback" in text:
                tracebacks.append({"args": shown, "last": text.strip().splitlines()[-1] if text.strip() else ""})
            elif code not in (0, 1, 2):
                bad_exit.append({"args": shown, "code": code})
            last = text.strip().splitlines()[-1][:160] if text.strip() else ""
            print(f"{code!s:>9}  {' '.join(shown)[:150]}  |  {last}")
    print(json.dumps({"cases": len(vectors), "tracebacks": tracebacks, "bad_exit": bad_exit}))


if __name__ == "__main__":
    sys.exit(main())
