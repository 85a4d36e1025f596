"""A FakeAVCeleb-shaped dataset, data only: the v1.2 folder tree and meta_data.csv, placeholder files.

500 identities in 5 ethnicities x 2 genders (50 each, as the dataset's documentation describes),
one real, one RVFA, one FVRA-wav2lip and one FVFA-wav2lip clip per identity, and face-swap fakes
whose partner (``target1``, and the id in the file name) is another identity **of the same group**,
as FakeAVCeleb chose partners by face similarity. ``swaps`` sets the number of fakes per swap
method over all identities (spread as evenly as possible). Files are a few placeholder bytes: the
reader is run with ``verify=False`` and nothing is decoded.

Used by scripts/bench_benchmark.py (the full-size store; it passes the dataset's sizes,
``FULL_SWAPS``) and by tests/data and tests/training (partition, AVAD-size protocol, clip loader).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

ETHNICITIES = ("African", "Asian (East)", "Asian (South)", "Caucasian (American)", "Caucasian (European)")
GENDERS = ("men", "women")
TYPE_DIR = {
    "A": "RealVideo-RealAudio",
    "B": "RealVideo-FakeAudio",
    "C": "FakeVideo-RealAudio",
    "D": "FakeVideo-FakeAudio",
}
SWAP_METHODS = {"faceswap": "C", "fsgan": "C", "faceswap-wav2lip": "D", "fsgan-wav2lip": "D"}
# per-method totals giving the dataset's type sizes (~9.7k FVRA, ~10.8k FVFA with the wav2lip clips); the
# split between faceswap and fsgan is an even assumption, not a published count
FULL_SWAPS = {"faceswap": 4600, "fsgan": 4600, "faceswap-wav2lip": 5150, "fsgan-wav2lip": 5150}
SMALL_SWAPS = {method: 1000 for method in SWAP_METHODS}  # two per identity: fast tests


def spread(total: int, parts: int, rng: np.random.Generator) -> np.ndarray:
    """``parts`` non-negative integers summing to ``total``, differing by at most one."""
    counts = np.full(parts, total // parts)
    counts[rng.permutation(parts)[: total - counts.sum()]] += 1
    return counts


def meta_rows(identities: int = 500, swaps: dict[str, int] | None = None, seed: int = 0) -> list[list[str]]:
    """meta_data.csv rows: source, target1, target2, method, category, type, race, gender, path, folder."""
    rng = np.random.default_rng(seed)
    swaps = SMALL_SWAPS if swaps is None else swaps
    groups = [(e, g) for e in ETHNICITIES for g in GENDERS]
    group_of = [groups[n * len(groups) // identities] for n in range(identities)]
    members: dict[tuple[str, str], list[int]] = {}
    for n, group in enumerate(group_of):
        members.setdefault(group, []).append(n)
    per_identity = {method: spread(total, identities, rng) for method, total in swaps.items()}
    rows = []
    for n in range(identities):
        race, gender = group_of[n]
        identity = f"id{n:05d}"
        entries = [("A", "real", f"{n:05d}.mp4", "-"), ("B", "rtvc", f"{n:05d}_fake.mp4", "-")]
        entries += [("C", "wav2lip", f"{n:05d}_wavtolip.mp4", "-"), ("D", "wav2lip", f"{n:05d}_fake_wavtolip.mp4", "-")]
        partners = [m for m in members[group_of[n]] if m != n]
        for method, counts in per_identity.items():
            for k in range(int(counts[n])):
                target = f"id{partners[int(rng.integers(len(partners)))]:05d}"
                entries.append((SWAP_METHODS[method], method, f"{n:05d}_{k}_{target}_{method}.mp4", target))
        for category, method, name, target in entries:
            rows.append(meta_row(identity, target, method, category, race, gender, name))
    return rows


def clip_folder(category: str, race: str, gender: str, identity: str) -> str:
    """A clip's folder in the tree: ``<type>/<ethnicity>/<gender>/<id>``."""
    return f"{TYPE_DIR[category]}/{race}/{gender}/{identity}"


def meta_row(identity: str, target: str, method: str, category: str, race: str, gender: str, name: str) -> list[str]:
    """One ``meta_data.csv`` row, in FakeAVCeleb's column order (source, target1, target2, method, category,
    type, race, gender, path, folder)."""
    folder = clip_folder(category, race, gender, identity)
    return [identity, target, "-", method, category, TYPE_DIR[category], race, gender, name, f"FakeAVCeleb/{folder}"]


def write_tree(root: Path, identities: int = 500, swaps: dict[str, int] | None = None, seed: int = 0) -> Path:
    """The tree and meta_data.csv under ``root``; each file holds its own path (distinct content)."""
    rows = meta_rows(identities, swaps, seed)
    for row in rows:
        path = root / row[9].split("/", 1)[1] / row[8]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"placeholder {path.relative_to(root)}".encode())
    with open(root / "meta_data.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "target1", "target2", "method", "category", "type", "race", "gender", "path", ""])
        writer.writerows(rows)
    return root


# the default encoders' shapes (face-geometry 30 + fer-minixception 135; egemaps 76), crops, log-mel
VISUAL_DIM, SPEECH_DIM, EXPRESSIONS, N_MELS, CROP_SIZE, CROP_STRIDE = 165, 76, 7, 64, 112, 10
ENCODERS = {
    "visual_encoder": "face-geometry+fer-minixception",
    "visual_encoder_version": "1",
    "speech_encoder": "egemaps",
    "speech_encoder_version": "1",
}


def random_record(rng: np.random.Generator, sha256: str, seconds: float, encoders: dict[str, str] | None = None):
    """A feature record of the real shapes with random values: 25 fps features, face crops every
    ``CROP_STRIDE`` frames (2.5 fps, uint8), 100 Hz float16 log-mel, a leading silence of 0-1 s."""
    from emoboost.features.store import FeatureRecord

    frames = max(1, round(seconds * 25))
    face_mask = rng.random(frames) > 0.05
    crop_frames = np.flatnonzero(face_mask & (np.arange(frames) % CROP_STRIDE == 0)).astype(np.int64)
    crops = np.frombuffer(rng.bytes(len(crop_frames) * CROP_SIZE * CROP_SIZE * 3), np.uint8)
    levels = rng.uniform(-40, -10, frames).astype(np.float32)
    levels[: int(rng.integers(0, 26))] = -70.0
    arrays = {
        "visual": rng.standard_normal((frames, VISUAL_DIM), dtype=np.float32) * face_mask[:, None],
        "speech": rng.standard_normal((frames, SPEECH_DIM), dtype=np.float32),
        "face_mask": face_mask,
        "expressions": rng.dirichlet(np.ones(EXPRESSIONS), frames).astype(np.float32),
        "boxes": rng.uniform(0, 200, (frames, 4)).astype(np.float32),
        "audio_rms_db": levels,
        "audio_mask": levels > -60.0,  # voice activity: not in the leading silence
        "face_crops": crops.reshape(len(crop_frames), CROP_SIZE, CROP_SIZE, 3),
        "crop_frames": crop_frames,
        "logmel": rng.standard_normal((frames * 4, N_MELS), dtype=np.float32).astype(np.float16),
    }
    meta = {"sha256": sha256, "n_frames": frames, "fps": 25.0, "duration_s": frames / 25, **(encoders or ENCODERS)}
    return FeatureRecord(arrays, meta)
