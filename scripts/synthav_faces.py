"""How often the pipeline's face detector finds each SynthAV v3 identity (research check, not CI).

Draws one real scenario per identity, renders it (camera jitter, lighting, noise, blinks, head
motion; before encoding) and runs emoboost's MTCNN detector (``FaceDetector``, the extractor's
``min_prob``) on every ``--stride``-th frame. Prints one line per identity under ``--floor`` and,
last, JSON: the minimum and mean share of frames with a face, and how many identities are under
the floor.

Usage: .venv/bin/python scripts/synthav_faces.py [--identities 110] [--seed 1009] [--stride 1]
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    from emoboost.config import FaceConfig
    from emoboost.data.synthav import DEVELOPMENT_SEED, SynthConfig
    from emoboost.data.synthav_v3 import draw_scene, make_identity, make_real, scene_seed
    from emoboost.media.faces import FaceDetector

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--identities", type=int, default=110)
    parser.add_argument("--seed", type=int, default=DEVELOPMENT_SEED)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--floor", type=float, default=0.95)
    args = parser.parse_args()
    min_prob = FaceConfig().min_prob
    detector = FaceDetector()
    config = SynthConfig(seconds=args.seconds, seed=args.seed)
    rates = []
    for index in range(args.identities):
        identity = make_identity(index, args.seed)
        base = scene_seed(config, identity, 0)
        scene = draw_scene(identity, np.random.default_rng(base), args.seconds)
        frames = make_real(identity, scene, base).frames[:: args.stride]
        found = [len(f.boxes) > 0 and f.probs.max() >= min_prob for f in detector.detect(frames)]
        rates.append(float(np.mean(found)))
        if rates[-1] < args.floor:
            print(f"{identity.name}: face in {rates[-1]:.0%} of {len(frames)} frames (skin {identity.skin}, "
                  f"background {identity.background})")  # fmt: skip
    print(json.dumps({
        "seed": args.seed, "identities": args.identities, "frames_each": len(frames), "min_prob": min_prob,
        "min_rate": round(min(rates), 4), "mean_rate": round(float(np.mean(rates)), 4),
        "under_floor": sum(r < args.floor for r in rates), "floor": args.floor,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
