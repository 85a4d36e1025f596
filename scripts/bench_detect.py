"""How fast is one verdict? Bare decode vs every stage vs end-to-end ``Detector.predict``, in one run.

    python scripts/bench_detect.py [--model DIR] [--device cpu|cuda] [--seconds 10 60] [--threads N]
                                   [--visual-encoder NAME]

On generated 640x360, 25 fps talking-face clips (emoboost.data.demo; made once under --work)
it measures, per clip: the bare decode (opening the file and reading every grid frame and the
audio, nothing else), each stage of the pipeline (decode, face detection + tracking, crops,
visual encoder, speech encoder, log-mel, EmoForensics, RGB detector, acoustic detector, fusion),
and the end-to-end ``Detector.predict`` time (models loaded and warmed up first: the cost of
one more file). Bare decodes and end-to-end runs alternate (decode, predict, decode, predict,
...), so both halves of a pair see the same load on a shared machine; the ratio reported is
the median over the pairs, and times are medians (a single lucky run cannot move them; the
ratio of the fastest runs is printed beside it). The stage breakdown is that of the fastest
end-to-end run. It prints the ratios end-to-end / decode and end-to-end / clip duration (the
real-time factor) and the peak RSS of the process. The last line is one JSON object with
``e2e_over_decode``, ``rtf`` and
``peak_rss_mb`` for the first clip (targets on 2 CPU cores: <= 4 and <= 0.25), plus every
clip's figures.

Without --model it uses the default architecture with random weights (timing does not depend
on the weights; verdicts of such a detector mean nothing), sized for the default encoders or for
``--visual-encoder`` (e.g. ``fer-minixception``, the default before ``face-geometry`` joined it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import torch


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def bare_decode_s(path: Path, config) -> float:
    """Open the file and read every grid frame and the audio, as the pipeline does, and nothing else."""
    from emoboost.media.decode import MediaReader

    start = time.perf_counter()
    reader = MediaReader(path, config, require_audio=True)
    for _ in reader.iter_frames():
        pass
    _ = reader.audio
    return time.perf_counter() - start


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="detector directory (default: the default architecture, untrained)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: the config's runtime.threads, else torch's default)"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="interleaved decode + end-to-end pairs per clip (medians are reported)"
    )
    parser.add_argument("--work", type=Path, default=Path("runs/bench"), help="where generated clips are kept")
    parser.add_argument("--visual-encoder", help="visual encoder of the untrained detector (default: the config's)")
    args = parser.parse_args()
    if args.visual_encoder and args.model:
        raise SystemExit("error --visual-encoder sizes the untrained detector; a --model has its own encoders")

    from emoboost.config import ExtractConfig, apply_runtime
    from emoboost.data.demo import demo_clip
    from emoboost.detector.detector import Detector
    from emoboost.errors import ConfigError

    try:
        if args.model:
            detector = Detector.from_pretrained(args.model)
        else:
            config = ExtractConfig()
            if args.visual_encoder:
                encoders = dataclasses.replace(config.encoders, visual=args.visual_encoder)
                config = dataclasses.replace(config, encoders=encoders)
            detector = Detector.untrained(config)
        detector.to(args.device)
    except ConfigError as exc:
        raise SystemExit(f"error {exc}") from None
    if args.threads:
        runtime = dataclasses.replace(detector.extract_config.runtime, threads=args.threads)
        detector.extract_config = dataclasses.replace(detector.extract_config, runtime=runtime)
        apply_runtime(runtime)  # torch threads: process-wide, set here at the entry point
    clips = [
        demo_clip(args.work / f"demo_{seconds:g}s_640x360.mp4", seconds)
        if not (args.work / f"demo_{seconds:g}s_640x360.mp4").exists()
        else args.work / f"demo_{seconds:g}s_640x360.mp4"
        for seconds in args.seconds
    ]

    started = time.perf_counter()
    detector.predict(clips[0])  # load the encoders and MTCNN, warm every code path
    warm_up = time.perf_counter() - started
    faces = detector.extract_config.faces
    print(f"machine: {machine()}; device {args.device}")
    print(
        f"detector: {detector.model_id}; face detection every {faces.stride} grid frames "
        f"at <= {faces.detect_max_side} px, 25 fps grid; warm-up (model loading + first file) {warm_up:.2f} s"
    )
    results = []
    for path, seconds in zip(clips, args.seconds, strict=False):
        decodes, e2es, stages = [], [], {}
        for _ in range(args.repeats):
            decodes.append(bare_decode_s(path, detector.extract_config.media))
            start = time.perf_counter()
            verdict = detector.predict(path)
            e2es.append(time.perf_counter() - start)
            if e2es[-1] == min(e2es):
                stages = dict(detector.last_timings)
        decode, e2e = statistics.median(decodes), statistics.median(e2es)
        ratio = statistics.median(e / d for e, d in zip(e2es, decodes, strict=False))
        result = {
            "clip_s": seconds,
            "decode_s": round(decode, 3),
            "e2e_s": round(e2e, 3),
            "e2e_over_decode": round(ratio, 3),
            "e2e_over_decode_fastest": round(min(e2es) / min(decodes), 3),
            "rtf": round(e2e / seconds, 4),
            "stages_s": {k: round(v, 3) for k, v in stages.items()},
            "face_fraction": round(float(verdict.tracks.face_fraction.mean()), 3),
        }
        results.append(result)
        print(f"\n{seconds:g} s clip ({path.name}):")
        print(f"  bare decode      {decode:7.3f} s   (median of {len(decodes)})")
        print(f"  stages of the fastest end-to-end run ({min(e2es):.3f} s):")
        for stage, value in stages.items():
            print(f"    {stage:<18} {value:7.3f} s")
        print(f"  end to end       {e2e:7.3f} s   (median of {len(e2es)})")
        print(
            f"  end-to-end / decode        {ratio:6.2f}x   (target <= 4; median over the pairs; "
            f"fastest / fastest {result['e2e_over_decode_fastest']:.2f}x)"
        )
        print(f"  end-to-end / clip duration {e2e / seconds:6.3f}    (real-time factor, target <= 0.25)")
        print(f"  faces found in {result['face_fraction']:.0%} of 5 Hz tokens")
    summary = {
        "e2e_over_decode": results[0]["e2e_over_decode"],
        "rtf": results[0]["rtf"],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "device": args.device,
        "visual_encoder": detector.extract_config.encoders.visual,
        "threads": torch.get_num_threads(),
        "face_stride": faces.stride,
        "detect_max_side": faces.detect_max_side,
        "clips": results,
    }
    print(f"\npeak RSS {summary['peak_rss_mb']:.0f} MB")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
