"""Which encoder streams read emotion, and how much of them is mouth opening? Identity-held-out probes on SynthAV.

    python scripts/probe_encoders.py [--identities 12] [--clips 3] [--seconds 6] [--face-mesh-stride 1]
                                     [--work runs/probe_encoders]

Real SynthAV clips (drawn faces, espeak-ng voices, one emotion trajectory driving face and voice)
are generated with their ground truth kept: the per-frame emotion weights and the mouth opening
that drove the drawing. Every clip is extracted once with all visual encoders side by side
(``face-geometry+fer-minixception+faceapi-expression``: each stream is a named column group) and
``egemaps``; the speech stream without clip normalisation is computed from the same audio.

Samples are 5-frame tokens (what EmoForensics reads): face streams averaged over frames with a
face, speech streams over frames with speech (the Silero VAD audio mask). A token is labelled with
the emotion that covers >= 80 % of it (others are left out). Per stream:

- ``accuracy``: standardisation + multinomial logistic regression, GroupKFold over identities
  (no identity in both parts of a fold); ``majority``: the training part's majority class;
- ``accuracy_expressed``: the same probe with the tokens of phrases this stream plays muted
  (v3's natural incongruence: gain 0.1-0.4, so the label names an emotion the stream barely shows)
  left out of training and testing; the labels are each stream's own (the face's are lagged);
- rows ending ``+-2 tokens``: each token with the stream's mean over the tokens within 1 s beside
  it (what a sequence model sees; the plain rows are one 200 ms token alone);
- ``mouth_r2``: the share of the stream's (standardised) variance explained by the ground-truth
  mouth opening (a linear model on opening and opening^2, identity held out the same way);
  1 - sum of squared errors / total sum of squares over all columns;
- ``mouth_from_stream_r2``: the other direction: how well a ridge regression on the stream
  predicts the mouth opening (identity held out). A stream can be mostly something else and
  still carry the mouth precisely; both numbers matter.

SynthAV numbers are a pipeline check on generated faces and voices, never FakeAVCeleb results.
The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

VISUAL = "face-geometry+fer-minixception+faceapi-expression"
MIN_SHARE = 0.8
TOKEN_FRAMES = 5
CONTEXT = 2  # the context rows: each token with the stream's mean over +-2 tokens (1 s at 5 Hz) beside it
FULL_GAIN = 0.6  # a token whose phrase the stream expresses at >= this gain (full: 0.7-1.0, muted: 0.1-0.4)


def generate(work: Path, identities: int, clips: int, seconds: float) -> list[tuple[Path, str, Path]]:
    """Real SynthAV v3 clips of the development seed with their ground truth (``.npz``: the voice's and
    the face's emotion weights ``[T, 5]``, mouth ``[T]``); probes and tuning never use a benchmark seed."""
    from emoboost.data import synthav_v3
    from emoboost.data.synthav import DEVELOPMENT_SEED, SynthConfig
    from emoboost.data.synthav_v2 import write_clip

    config = SynthConfig(seconds=seconds, seed=DEVELOPMENT_SEED)
    made = []
    for index in range(identities):
        identity = synthav_v3.make_identity(index, DEVELOPMENT_SEED)
        for clip in range(clips):
            path = work / "clips" / f"{identity.name}_{clip}.mp4"
            truth = path.with_suffix(".npz")
            if not path.exists() or not truth.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                seed = synthav_v3.scene_seed(config, identity, clip)
                scene = synthav_v3.draw_scene(identity, np.random.default_rng(seed), seconds)
                write_clip(path, synthav_v3.make_real(identity, scene, seed), seed)
                phrase = synthav_v3._frame_of_phrase(scene.voice, len(scene.voice.weights))
                np.savez(
                    truth,
                    weights=scene.voice.weights,
                    face_weights=scene.face_weights(),
                    mouth=scene.voice.mouth_open,
                    voice_gain=np.asarray(scene.voice_gain, np.float32)[phrase],
                    face_gain=synthav_v3._lagged(np.asarray(scene.face_gain, np.float32)[phrase], scene.lag),
                )
            made.append((path, identity.name, truth))
    return made


def streams_of(record, raw_speech: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Named ``[T, D]`` streams and the frame mask each is averaged over."""
    groups = record.meta["visual_groups"]
    face, audio = record.face_mask, record.audio_mask

    def cols(name: str) -> np.ndarray:
        start, stop = groups[name]
        return record.visual[:, start:stop]

    upper, lower = cols("face-geometry/upper"), cols("face-geometry/lower")
    fer, faceapi = cols("fer-minixception/embedding"), cols("faceapi-expression/embedding")
    return {
        "fer-minixception": (fer, face),
        "faceapi-expression": (faceapi, face),
        "face-geometry (upper)": (upper, face),
        "face-geometry (lower)": (lower, face),
        "face-geometry (all)": (np.concatenate([upper, lower], axis=1), face),
        "fer-minixception + geometry upper": (np.concatenate([fer, upper], axis=1), face),
        "faceapi-expression + geometry upper": (np.concatenate([faceapi, upper], axis=1), face),
        "egemaps (clip-normalised)": (record.speech, audio),
        "egemaps (no clip normalisation)": (raw_speech, audio),
        f"face-geometry+fer-minixception, +-{CONTEXT} tokens": (np.concatenate([upper, lower, fer], axis=1), face),
        f"egemaps (clip-normalised), +-{CONTEXT} tokens": (record.speech, audio),
    }


def tokens(
    values: np.ndarray, mask: np.ndarray, weights: np.ndarray, mouth: np.ndarray, gain: np.ndarray, context: int = 0
):
    """Token means of a stream, the token labels (-1: no dominant emotion), the labels of tokens the stream
    expresses at full strength (-1 also where its phrase is muted) and mouth opening."""
    from emoboost.models.tokens import token_means

    stream, count = token_means(values, mask, TOKEN_FRAMES)
    everywhere = np.ones(len(weights), bool)
    shares, _ = token_means(weights, everywhere, TOKEN_FRAMES)
    strength, _ = token_means(gain[:, None], everywhere, TOKEN_FRAMES)
    opening, _ = token_means(mouth[:, None], mask, TOKEN_FRAMES)
    labels = np.where(shares.max(axis=1) >= MIN_SHARE, shares.argmax(axis=1), -1)
    expressed = np.where(strength[:, 0] >= FULL_GAIN, labels, -1)
    if context:  # beside each token, the mean of the stream over the tokens within +-context of it
        kernel = np.ones(2 * context + 1, np.float32)
        weight = np.convolve(count, kernel, mode="same")
        summed = np.stack([np.convolve(stream[:, d] * count, kernel, mode="same") for d in range(stream.shape[1])], 1)
        stream = np.concatenate([stream, summed / np.maximum(weight, 1e-12)[:, None]], axis=1)
    keep = count > 0
    return stream[keep], labels[keep], expressed[keep], opening[keep, 0]


def _opening_basis(mouth: np.ndarray) -> np.ndarray:
    """``[N] -> [N, 2]``: the opening and its square (a closed mouth and a wide one differ non-linearly)."""
    return np.stack([mouth, mouth**2], axis=1)


def probe(x: np.ndarray, y: np.ndarray, mouth: np.ndarray, groups: np.ndarray, folds: int) -> dict[str, float]:
    from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeCV
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labelled = y >= 0
    correct = majority = 0
    sse = sst = mouth_sse = mouth_sst = 0.0
    for train, test in GroupKFold(folds).split(x, y, groups):
        tr, te = train[labelled[train]], test[labelled[test]]
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
        model.fit(x[tr], y[tr])
        correct += int((model.predict(x[te]) == y[te]).sum())
        majority += int((y[te] == np.bincount(y[tr]).argmax()).sum())
        scaler = StandardScaler().fit(x[train])
        target_train, target_test = scaler.transform(x[train]), scaler.transform(x[test])
        regression = LinearRegression().fit(_opening_basis(mouth[train]), target_train)
        sse += float(((regression.predict(_opening_basis(mouth[test])) - target_test) ** 2).sum())
        sst += float(((target_test - target_train.mean(axis=0)) ** 2).sum())
        reader = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13))).fit(x[train], mouth[train])
        mouth_sse += float(((reader.predict(x[test]) - mouth[test]) ** 2).sum())
        mouth_sst += float(((mouth[test] - mouth[train].mean()) ** 2).sum())
    total = int(labelled.sum())
    return {
        "accuracy": correct / total,
        "majority": majority / total,
        "mouth_r2": 1 - sse / max(sst, 1e-12),
        "mouth_from_stream_r2": 1 - mouth_sse / max(mouth_sst, 1e-12),
        "tokens": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=12)
    parser.add_argument("--clips", type=int, default=3, help="real clips per identity")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--work", type=Path, default=Path("runs/probe_encoders"))
    parser.add_argument(
        "--face-mesh-stride", type=int, default=1, help="face mesh on every k-th face frame (encoders.face_mesh_stride)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from emoboost.config import EncoderConfig, ExtractConfig
    from emoboost.encoders.speech import EgemapsEncoder
    from emoboost.features.extract import FeatureExtractor
    from emoboost.media.decode import MediaReader

    started = time.perf_counter()
    clips = generate(args.work, args.identities, args.clips, args.seconds)
    extractor = FeatureExtractor(
        ExtractConfig(encoders=EncoderConfig(visual=VISUAL, face_mesh_stride=args.face_mesh_stride))
    )
    raw_egemaps = EgemapsEncoder(clip_normalisation=False)
    samples: dict[str, list] = {}
    for path, identity, truth_path in clips:
        record = extractor.extract(path)
        truth = np.load(truth_path)
        n = record.n_frames
        raw = raw_egemaps.encode(MediaReader(path, extractor.config.media, require_audio=True).audio, n)
        for name, (values, mask) in streams_of(record, raw).items():
            voice = name.startswith("egemaps")
            weights = truth["weights" if voice else "face_weights"]  # each stream's own truth
            gain = truth["voice_gain" if voice else "face_gain"]
            context = CONTEXT if name.endswith(" tokens") else 0
            x, y, expressed, mouth = tokens(values, mask, weights[:n], truth["mouth"][:n], gain[:n], context)
            samples.setdefault(name, []).append((x, y, expressed, mouth, np.full(len(y), identity)))
    table = {}
    for name, parts in samples.items():
        x, y, expressed, mouth, groups = (np.concatenate(column) for column in zip(*parts, strict=True))
        table[name] = probe(x, y, mouth, groups, args.folds)
        clean = probe(x, expressed, mouth, groups, args.folds)  # labels of muted phrases left out of train and test
        row = table[name]
        row["accuracy_expressed"], row["majority_expressed"] = clean["accuracy"], clean["majority"]
        row["tokens_expressed"] = clean["tokens"]
        print(
            f"{name:38s} acc {row['accuracy']:.3f} (majority {row['majority']:.3f})"
            f"  expressed {row['accuracy_expressed']:.3f} (majority {row['majority_expressed']:.3f})"
            f"  variance from mouth R^2 {row['mouth_r2']:.3f}"
            f"  mouth from stream R^2 {row['mouth_from_stream_r2']:.3f}  tokens {row['tokens']}"
        )
    summary = {
        "set": f"SynthAV real clips (generated): {args.identities} identities x {args.clips} clips "
        f"x {args.seconds:g} s",
        "emotions": 5,
        "folds": args.folds,
        "face_mesh_stride": args.face_mesh_stride,
        "token_frames": TOKEN_FRAMES,
        "seconds": round(time.perf_counter() - started, 1),
        "streams": table,
    }
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
