"""Does `emoboost detect` catch a real face given another person's real voice? (research script)

    python scripts/revoice_check.py --out runs/revoice [--model quickstart] [--identities 12] [--seed 7]
    python scripts/revoice_check.py --out runs/revoice --manifest MY_REAL_CLIPS.csv [--model DETECTOR]

Takes real talking-face clips (by default SynthAV real clips of ``--identities`` people drawn with
``--seed``, a seed neither the quickstart, its held-out clips nor the development runs use; or the
real rows of ``--manifest``, e.g. your own recordings) and, for each, writes a re-voiced file: the
clip's video stream with the audio of a clip of another identity (a derangement over identities),
muxed by ffmpeg (video copied, audio re-encoded AAC, cut to the shorter). Both files go through
``Detector.predict`` exactly as `emoboost detect` runs them (decode, faces, encoders, networks,
fusion), never through stored features.

Reports, per score (the verdict's LLR and each detector's): the AUC of originals vs re-voiced
files, how many clips scored higher re-voiced than original, the mean paired rise and a Wilcoxon
signed-rank p. Writes ``revoice.json`` (with the detector's hash and the clips' SHA-256) and
``revoice.md`` to ``--out``; the last stdout line is the JSON summary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np

from emoboost.benchmark.consistency import derangement, paired_control
from emoboost.data.manifest import read_manifest
from emoboost.data.synthav import SynthConfig, generate
from emoboost.detector.detector import Detector
from emoboost.files import write_json_atomic, write_text_atomic
from emoboost.media.inputs import dataset_root
from emoboost.media.write import ffmpeg_binary

SEED = 7  # not the quickstart's (0), its held-out clips' (1), its extra real clips' (2), CI's (3, 4) nor dev (1009)


def revoice(video: Path, voice: Path, target: Path) -> Path:
    """``video``'s picture with ``voice``'s sound (the first audio stream), written to ``target`` by ffmpeg."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file():
        partial = target.with_suffix(".partial.mp4")
        command = [ffmpeg_binary(), "-y", "-loglevel", "error", "-i", str(video), "-i", str(voice), "-map", "0:v:0",
                   "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-shortest", str(partial)]  # fmt: skip
        subprocess.run(command, check=True)
        partial.replace(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="quickstart", help="detector folder or name (default: quickstart)")
    parser.add_argument("--manifest", type=Path, help="real clips to use (label 0 rows) instead of SynthAV ones")
    parser.add_argument("--identities", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    if args.manifest is None:
        synth = SynthConfig(identities=args.identities, clips_per_identity=1, seconds=args.seconds, seed=args.seed)
        rows = generate(args.out / "synthav", synth, categories=("real",), workers=2)
        root = args.out / "synthav"
        source = f"SynthAV v{synth.version} real clips, seed {synth.seed}, {synth.identities} identities"
    else:
        rows, root, source = read_manifest(args.manifest), dataset_root(args.manifest, None), str(args.manifest)
    rows = [r for r in rows if r.label == 0]
    partner = derangement([r.identity for r in rows], args.seed)
    detector = Detector.from_pretrained(args.model)
    pairs = []
    for row, j in zip(rows, partner, strict=True):
        video, voice = root / row.path, root / rows[j].path
        target = revoice(video, voice, args.out / "revoiced" / f"{Path(row.path).stem}__voice_{rows[j].identity}.mp4")
        first, second = detector.predict(video), detector.predict(target)
        pairs.append(
            {
                "clip": row.path,
                "voice_of": rows[j].path,
                "sha256": first.sha256,
                "original": {"llr": first.llr, **first.scores},
                "revoiced": {"llr": second.llr, **second.scores},
            }
        )
    names = [k for k, v in pairs[0]["original"].items() if v is not None]
    summary = {
        name: paired_control(
            np.array([p["original"][name] for p in pairs]), np.array([p["revoiced"][name] for p in pairs])
        )
        for name in names
        if all(p["original"][name] is not None and p["revoiced"][name] is not None for p in pairs)
    }
    result = {"source": source, "detector": detector.model_id, "weights_sha256": detector.weights_sha256,
              "clips": len(pairs), "scores": summary, "pairs": pairs}  # fmt: skip
    write_json_atomic(args.out / "revoice.json", result)
    lines = [
        f"# Re-voiced real clips: {source}",
        "",
        f"Detector `{detector.model_id}` (weights SHA-256 {detector.weights_sha256}); {len(pairs)} clips, each also",
        "with the voice of another identity's clip, muxed by ffmpeg (`scripts/revoice_check.py`).",
        "",
        "| score | AUC original vs re-voiced | higher re-voiced | mean rise | Wilcoxon p |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {100 * s['auc']:.1f} | {round(s['share_risen'] * s['clips'])} of {s['clips']} | "
            f"{s['mean_rise']:+.3f} | "
            f"{s['wilcoxon_p']:.2g} |"
            for name, s in summary.items()
        ),
        "",
    ]
    write_text_atomic(args.out / "revoice.md", "\n".join(lines))
    print("\n".join(lines))
    print(json.dumps({"clips": len(pairs), **summary}, default=str).replace("NaN", "null"))


if __name__ == "__main__":
    main()
