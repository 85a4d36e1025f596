"""The quickstart: SynthAV -> features -> cross-manipulation benchmark -> detector -> verdicts, in one command.

Everything lands under one folder (default ``runs/quickstart``): ``synthav/`` (clips, manifest,
folds), ``features/`` (the feature store), ``benchmark/`` (results.md/.csv/.json, PNGs),
``detector/`` (the detector trained on every category), ``real_extra/`` (real clips of other
SynthAV identities, the further training data of that detector's real-only consistency model:
real clips are the cheap kind) and ``heldout/`` (a few clips of SynthAV identities drawn with
another seed, which neither the benchmark nor the detector ever sees, for the final ``detect``
step). The detector is also saved under the user cache as the named detector
``quickstart``, the default of ``emoboost detect``. Each step resumes: a rerun reuses the clips,
features and finished folds. Every config is read (from the packaged ``configs/``) and validated
before the first long step.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from emoboost.benchmark.config import BenchmarkConfig, load_benchmark_config
from emoboost.benchmark.results import BenchmarkResult
from emoboost.config import ExtractConfig, load_section, load_yaml
from emoboost.data.manifest import ManifestRow
from emoboost.data.synthav import SynthConfig
from emoboost.detector.verdict import Verdict
from emoboost.features.extract import ExtractSummary

QUICKSTART_CONFIG = "configs/benchmark/synthav.yaml"
# 20 identities in 10 swap pairs: the default identity fractions (50/10/10/30 %) give 10/2/2/6
# people, whole pairs in every split, so val and calib both hold real and fake clips (12 people gave
# val and calib one person each: a pair cannot sit in both, and calib was left without fakes)
QUICKSTART_SET = SynthConfig(identities=20, clips_per_identity=1, seconds=4.0, seed=0)
# other people: make_identity draws faces and voices (pitch, speed) from the seed, so seed 1 gives
# identities the quickstart's detector never saw; they are written under heldout/, apart from the set
HELD_OUT_SET = SynthConfig(identities=2, clips_per_identity=1, seconds=4.0, seed=1)
# real clips only, of people drawn with seed 2 (neither the set's nor the held-out ones): the shipped detector's
# consistency model trains on them besides the set's own real training clips; the benchmark's folds never do
EXTRA_REAL_SET = SynthConfig(identities=48, clips_per_identity=2, seconds=4.0, seed=2)
DETECTOR_NAME = "quickstart"  # the named detector under <cache>/detectors, `emoboost detect`'s default


def quickstart_settings(out: Path, config_path: str | Path = QUICKSTART_CONFIG) -> BenchmarkConfig:
    """The benchmark config of the quickstart, pointed at ``out``."""
    config = load_benchmark_config(config_path)
    return dataclasses.replace(
        config,
        folds=str(out / "synthav" / "folds"),
        store=str(out / "features"),
        root=str(out / "synthav"),
        ensemble_baseline=False,  # 2 test identities a fold cannot read it; it would train low-level twice
    )


def check_quickstart(out: Path, config_path: str | Path = QUICKSTART_CONFIG) -> BenchmarkConfig:
    """Read and validate every config the quickstart will use (benchmark, EmoForensics model and training
    of the main config and each ablation, the anchors file, extraction, the fold protocol), so a bad or
    missing file fails in a second instead of after the long steps. Returns the benchmark settings."""
    from emoboost.data.protocols import load_protocol
    from emoboost.models.emoforensics import EmoForensicsConfig
    from emoboost.training.loop import TrainConfig

    settings = quickstart_settings(out, config_path)
    for emo_config in (settings.emo_config, *settings.ablations):
        load_section(EmoForensicsConfig, emo_config, "model")
        load_section(TrainConfig, emo_config, "train")
    if settings.anchors:
        load_yaml(settings.anchors)
    ExtractConfig().validate()
    load_protocol(None)
    return settings


def held_out_examples(rows: Sequence[ManifestRow], folder: Path, count: int = 4) -> list[Path]:
    """``count`` clips of the held-out set for the final `detect` demonstration: half real, half fake
    (fakes of different categories)."""
    reals = [r for r in rows if r.label == 0][: count // 2]
    first_of_category: dict[str, ManifestRow] = {}
    for row in rows:
        if row.label == 1:
            first_of_category.setdefault(row.category, row)
    fakes = list(first_of_category.values())[: count - len(reals)]
    return [folder / r.path for r in reals + fakes]


class Progress(Protocol):
    """How :func:`run` reports: the CLI draws bars from it, a test records it; nothing here prints."""

    def step(self, title: str) -> None: ...  # one of the four steps starts

    def advance(self, task: str, total: int, current: str, done: int = 1) -> None: ...  # ``done`` items of ``task``

    def warn(self, line: str) -> None: ...

    def benchmarked(self, results: BenchmarkResult) -> None: ...  # the benchmark's results, before step 4


@dataclasses.dataclass(frozen=True)
class QuickstartResult:
    """What the quickstart made: every folder, the benchmark's results and the verdicts on unseen identities."""

    out: Path
    clips: int
    extracted: ExtractSummary
    results: BenchmarkResult
    detector_dir: Path
    named_detector: Path  # the copy under <cache>/detectors/quickstart, `emoboost detect`'s default
    verdicts: list[Verdict]
    seconds: float

    @property
    def report(self) -> Path:
        return self.out / "benchmark" / "results.md"


def run(out: Path, progress: Progress, workers: int | None = None) -> QuickstartResult:
    """SynthAV -> features -> benchmark -> detector -> verdicts under ``out`` (see the module docstring).

    Every config is checked and the encoders loaded before the first long step; each step resumes.
    ``workers`` processes draw the SynthAV identities (default: up to 4 cores; the set is the same)."""
    from emoboost.benchmark.runner import run_benchmark
    from emoboost.data.protocols import load_protocol, write_checked_folds
    from emoboost.data.synthav import clips_per_scenario, generate
    from emoboost.detector.detector import Detector
    from emoboost.detector.outputs import prepare_folder
    from emoboost.features.extract import FeatureExtractor, extract_many
    from emoboost.features.store import FeatureStore
    from emoboost.files import cache_dir

    started = time.perf_counter()
    settings = check_quickstart(out)  # every config read and validated before the long steps
    extractor = FeatureExtractor(ExtractConfig())  # and the encoders' weights present before the long steps too
    workers = workers or min(4, os.cpu_count() or 1)

    def synthav(
        folder: Path, config: SynthConfig, task: str, categories: tuple[str, ...] | None = None
    ) -> list[ManifestRow]:
        per_scenario = len(categories) if categories else clips_per_scenario(config)
        total = config.identities * config.clips_per_identity * per_scenario

        def on_clip(row: ManifestRow) -> None:
            progress.advance(task, total, row.path.rsplit("/", 1)[-1])

        return generate(folder, config, on_clip=on_clip, categories=categories, workers=workers)

    progress.step("1/4 SynthAV: generated talking faces (checks the pipeline; not FakeAVCeleb)")
    rows = synthav(out / "synthav", QUICKSTART_SET, "synth")
    write_checked_folds(rows, load_protocol(None), out / "synthav" / "folds")
    held_out = synthav(out / "heldout", HELD_OUT_SET, "held-out identities")
    extra = synthav(out / "real_extra", EXTRA_REAL_SET, "real clips of other people", ("real",))
    settings = dataclasses.replace(settings, detector_extra_real=str(out / "real_extra" / "manifest.csv"))
    progress.step("2/4 features")
    store = FeatureStore(prepare_folder(out / "features", "--out"))
    paths = [out / "synthav" / row.path for row in rows] + [out / "real_extra" / row.path for row in extra]

    def extracted(outcome) -> None:
        if outcome.message:
            progress.warn(outcome.message)
        progress.advance("extract", len(paths), outcome.path.name)

    summary = extract_many(paths, store, extractor, on_outcome=extracted)
    if summary.failed:
        progress.warn(f"{len(summary.failed)} clips without features are left out of the benchmark")
    progress.step("3/4 leave-one-category-out benchmark, then a detector trained on every category")
    detector_dir = out / "detector"
    folds = len(settings.categories) * settings.repeats
    results = run_benchmark(
        settings,
        out / "benchmark",
        lambda category, stage: progress.advance("benchmark", folds, f"{category}: {stage}", stage.startswith("done")),
        detector_dir,
    )
    progress.benchmarked(results)
    detector = Detector.from_pretrained(detector_dir)
    named = detector.save_pretrained(cache_dir() / "detectors" / DETECTOR_NAME)
    progress.step(f"4/4 emoboost detect on clips of {HELD_OUT_SET.identities} identities the detector never saw")
    verdicts = [detector.predict(path) for path in held_out_examples(held_out, out / "heldout")]
    return QuickstartResult(
        out, len(rows), summary, results, detector_dir, named, verdicts, time.perf_counter() - started
    )
