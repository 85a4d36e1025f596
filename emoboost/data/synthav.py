"""SynthAV, the generated audio-visual benchmark: one entry point for every generator version.

``SynthConfig.version`` picks the generator; the same version and seed give the same set on
any machine and for any number of workers.

- **v3** (default; :mod:`emoboost.data.synthav_v3`): each cue stands alone. An emotion-only
  fake (``RVFA-EMO``: the real clip re-voiced by the same speaker with the same words and
  timing, another emotion in part of it, no vocoder); every fake scenario rendered at both
  emotion-mismatch levels (a paired contrast); one artefact recipe per category (the manifest's
  ``generator`` column), so a held-out category is a held-out recipe; real clips with drawn,
  human-like face-voice incongruence; a distinct voice timbre per identity; faces drawn to be
  detectable.
- **v2** (:mod:`emoboost.data.synthav_v2`): the factorial set the README's earlier SynthAV
  results were measured on, kept reproducible.

Every version writes FakeAVCeleb's folder layout and manifest columns; SynthAV numbers test
the implementation under known conditions and are never FakeAVCeleb results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from emoboost.data import synthav_v2, synthav_v3
from emoboost.data.manifest import CATEGORIES, REAL, ManifestRow, write_manifest
from emoboost.data.synthav_v2 import SynthConfig
from emoboost.errors import ConfigError
from emoboost.files import write_json_atomic

__all__ = ["CATEGORIES", "VERSIONS", "SynthConfig", "categories_of", "clips_per_scenario", "generate"]

VERSIONS = {2: synthav_v2.identity_clips, 3: synthav_v3.identity_clips}
DEVELOPMENT_SEED = synthav_v3.DEVELOPMENT_SEED


def categories_of(version: int) -> tuple[str, ...]:
    """The categories a version writes (real first)."""
    return (REAL, *CATEGORIES) if version == 2 else (REAL, *synthav_v3.CATEGORIES_V3)


def clips_per_scenario(config: SynthConfig) -> int:
    """Clips one scenario writes: v2 one per category; v3 two per fake category (both mismatch levels)."""
    if config.version == 2:
        return 1 + len(CATEGORIES)
    return 1 + 2 * len(CATEGORIES) + 1


PHOTO_RECORD = "photo_faces.json"  # beside manifest.csv: which identities are real photographs (absent: none)


def _check_photo_faces(out: Path, photos: dict[str, str]) -> None:
    """Refuse to add clips to a set made with other photo faces (kept clips would mix two sets); record them."""
    record = out / PHOTO_RECORD
    existing = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else {}
    started = (out / "manifest.csv").exists() or any(out.glob("*/*/*/*.mp4"))
    if started and existing != photos:
        made = "with photo faces" if existing else "without photo faces"
        raise ConfigError(f"{out}: its clips were generated {made}; generate this set into another folder")
    if photos:
        from emoboost.data.synthav_photo import photo_face

        for name in sorted(set(photos.values())):
            photo_face(name)  # a missing package or an undetectable photograph stops the run before any clip
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(record, photos)


def generate(
    out: str | Path,
    config: SynthConfig,
    on_clip: Callable[[ManifestRow], None] | None = None,
    categories: tuple[str, ...] | None = None,
    workers: int = 1,
) -> list[ManifestRow]:
    """Write every clip of ``categories`` (default: all of the version's) under ``out`` and ``out/manifest.csv``.

    Clips already on disk are kept, so a stopped run resumes. ``workers`` > 1 draws identities in
    that many processes; every clip is seeded by its identity and scenario, so the set is the same
    for any number of workers (``on_clip`` then runs per identity).
    """
    if config.version not in VERSIONS:
        known = ", ".join(map(str, VERSIONS))
        raise ConfigError(f"SynthAV version {config.version} does not exist (versions: {known})")
    if config.version == 3:
        synthav_v3.check_size(config)
    elif config.photo_faces:
        raise ConfigError("photo faces exist in SynthAV v3 only (--synthav-version 3)")
    out = Path(out)
    _check_photo_faces(out, synthav_v3.photo_assignment(config) if config.version == 3 else {})
    wanted = categories or categories_of(config.version)
    per_identity = VERSIONS[config.version]
    indices = range(config.identities)
    if workers <= 1:
        rows = [row for i in indices for row in per_identity(out, config, i, wanted, on_clip)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        rows = []
        # forkserver: the caller may hold threads (a progress bar, torch) that a plain fork would copy mid-state
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
            jobs = [pool.submit(per_identity, out, config, i, wanted) for i in indices]
            try:
                for job in jobs:  # in identity order, so the manifest is the same as a one-process run's
                    for row in job.result():
                        rows.append(row)
                        if on_clip is not None:
                            on_clip(row)
            except BaseException:
                pool.shutdown(cancel_futures=True)  # one failed identity stops the run without drawing the rest
                raise
    write_manifest(out / "manifest.csv", rows)
    return rows
