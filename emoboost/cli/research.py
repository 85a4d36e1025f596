"""Research commands: train a detector, run the leave-one-category-out benchmark, a cross-dataset evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emoboost.benchmark.results import BenchmarkResult
from emoboost.cli.common import Engine, app, err, out, progress


@app.command()
def train(
    manifest: Annotated[
        Path,
        typer.Option(
            help="Fold CSV (train / val / calib splits; test is ignored) "
            "or a manifest without splits (every category, split by identity)."
        ),
    ],
    store: Annotated[Path, typer.Option(help="Feature store filled by `emoboost extract`.")],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Detector directory to write (for `emoboost detect --model`).")
    ],
    config: Annotated[
        Path,
        typer.Option(
            "--config", "-c", help="Benchmark YAML whose detector settings to use (configs/benchmark/*.yaml)."
        ),
    ] = Path("configs/benchmark/fakeavceleb.yaml"),
    root: Annotated[
        Path | None, typer.Option(help="Folder the manifest paths are relative to (default: next to the manifest).")
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="Train the networks here: cpu, cuda or cuda:N (default: the config's, cpu).")
    ] = None,
    consistency: Annotated[
        Path | None,
        typer.Option(
            help="A consistency detector made by `emoboost train-consistency`: used as it is instead of training one "
            "on this manifest's real clips."
        ),
    ] = None,
) -> None:
    """Train a detector: EmoForensics, RGB and acoustic on train (early stopping on val), EMO-BOOST fusion on calib;
    with the benchmark config's `consistency: true` (the default), the face-voice consistency detector too, on
    the real clips only.

    Example: emoboost train --manifest runs/synthav/folds/RVFA.csv --store runs/features --out runs/detector
    """

    from emoboost.benchmark.config import detector_configs, load_benchmark_config
    from emoboost.features.store import FeatureStore
    from emoboost.training.detector import train_detector

    settings = load_benchmark_config(config).override(store=store, device=device)
    configs = detector_configs(settings, settings.emo_config, settings.seed)
    with err.status("training (emo, rgb, acoustic, then the fusion on calib)") as status:
        detector = train_detector(
            manifest,
            configs,
            FeatureStore(store),
            settings.training_data(),
            root,
            lambda stage: status.update(stage),
            consistency_folder=consistency,
        )
    detector.save_pretrained(out_dir)
    scores = "  ".join(
        f"{name} {entry['val_auc']:.4f} ({entry['label']})" for name, entry in detector.meta["training"].items()
    )
    out.print(f"validation AUC {scores} -> {out_dir}", markup=False)


@app.command("train-consistency")
def train_consistency_command(
    manifests: Annotated[
        list[Path],
        typer.Argument(
            help="Manifests of real clips (any: their fakes are ignored), e.g. from `emoboost manifest real`."
        ),  # fmt: skip
    ],
    store: Annotated[Path, typer.Option(help="Feature store with their features (`emoboost extract`).")],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write (consistency.safetensors + config.json).")
    ],
    config: Annotated[
        Path,
        typer.Option("--config", "-c", help="Benchmark YAML whose consistency_model / consistency_train to use."),
    ] = Path("configs/benchmark/fakeavceleb.yaml"),
    root: Annotated[
        Path | None, typer.Option(help="Folder the manifests' paths are relative to (default: each manifest's).")
    ] = None,
    exclude: Annotated[
        list[Path] | None,
        typer.Option(
            help="A manifest whose people must not be trained on, e.g. a benchmark's fold files (repeatable)."
        ),
    ] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Training steps (default: the config's).")] = None,
    val_share: Annotated[
        float, typer.Option(min=0.01, max=0.5, help="Share of identities whose clips choose the step.")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the identity split and of training.")] = 0,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="The dataset the clips come from (e.g. voxceleb2, lrs3; see docs/datasets.md), recorded so that "
            "`emoboost cross-dataset` can refuse a test person it learnt from where both name people alike."
        ),
    ] = None,
) -> None:
    """Train the face-voice consistency detector on real clips only (resumable: run it again to go on).

    Example: emoboost train-consistency runs/vox2/manifest.csv --root VoxCeleb2 --store runs/vox2_features
    --out runs/consistency --exclude runs/fakeavceleb/folds/RVFA.csv --dataset voxceleb2
    """
    import dataclasses

    from emoboost.benchmark.config import load_benchmark_config
    from emoboost.features.store import FeatureStore
    from emoboost.training.detector import RealData, train_consistency_detector

    settings = load_benchmark_config(config)
    train_config = dataclasses.replace(settings.consistency_train, seed=seed)
    if steps is not None:
        train_config = dataclasses.replace(train_config, steps=steps)
    data = RealData(tuple(manifests), root, tuple(exclude or ()), val_share, seed, dataset)
    with err.status("reading real clips") as status:

        def on_step(step: int, entry: dict) -> None:
            status.update(f"step {step}/{train_config.steps}: validation AUC {entry['val_mean_auc']:.3f}")

        folder = train_consistency_detector(
            data, FeatureStore(store), out_dir, settings.consistency_model, train_config, on_step
        )
    from emoboost.detector.checkpoints import read_config
    from emoboost.training.consistency import FORMAT

    written = read_config(folder, FORMAT)
    read, training = written["real_data"], written["training"]
    aucs = "  ".join(f"{kind} {value:.3f}" for kind, value in training["val_auc"].items())
    out.print(
        f"{read['train_clips']} real clips of {read['identities'] - read['val_identities']} identities "
        f"(step chosen on {read['val_identities']}); best step {training['best_step']}; validation AUC {aucs} "
        f"-> {folder}",
        markup=False,
    )
    if read["missing"]:
        err.print(f"{read['missing']} real clips had no features and were left out", markup=False)


@app.command()
def benchmark(
    config: Annotated[Path, typer.Option("--config", "-c", help="Benchmark YAML (configs/benchmark/*.yaml).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder (results.json/.csv/.md, PNGs, folds/).")],
    folds: Annotated[Path | None, typer.Option(help="Override: folder of fold CSVs.")] = None,
    store: Annotated[Path | None, typer.Option(help="Override: feature store.")] = None,
    root: Annotated[Path | None, typer.Option(help="Override: folder the manifest paths are relative to.")] = None,
    ablations: Annotated[
        bool,
        typer.Option(
            "--ablations",
            help="Also run the benchmark config's matched EmoForensics ablations (benchmark.ablation_set).",
        ),
    ] = False,
    external: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=FOLDER",
            help="Another detector's scores: a folder with one <category>.csv (path,score) per fold, each from a "
            "detector trained on that fold's training data (repeatable). Rows ext:NAME and emo+ext:NAME; the gain "
            "is measured over the first.",
        ),
    ] = None,
    external_untrained: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=FILE",
            help="One path,score CSV for every fold, only for a detector that never saw this dataset (repeatable).",
        ),
    ] = None,
    repeats: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Re-draw the identity partition (protocol seed + k) and training seeds N times; "
            "mean, spread and pooled interval.",
        ),
    ] = None,
    target_fpr: Annotated[
        float | None,
        typer.Option(
            help="Thresholds at this FPR on the calib split instead of the Bayes decision at prior 0.5 (LLR 0)."
        ),
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="Train the networks here: cpu, cuda or cuda:N (default: the config's, cpu).")
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(help="local (folds one after another) or ray (each fold of each repeat a Ray task)."),
    ] = Engine.local,
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join ('auto', 'ray://host:10001'); default: start a local one."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Ray engine, local cluster: folds side by side (benchmark.threads CPUs each).")
    ] = 2,
    consistency: Annotated[
        Path | None,
        typer.Option(
            "--consistency",
            help="A consistency detector of `emoboost train-consistency` (real clips of other people) that every "
            "fold uses instead of training one (benchmark.consistency_pretrained).",
        ),
    ] = None,
) -> None:
    """Leave-one-category-out benchmark: train, fuse (EMO-BOOST) and evaluate every fold (resumable).

    Example: emoboost benchmark --config configs/benchmark/fakeavceleb.yaml --out runs/benchmark
    """

    from emoboost.benchmark.config import load_benchmark_config

    settings = load_benchmark_config(config)
    settings = settings.override(
        folds=folds,
        store=store,
        root=root,
        target_fpr=target_fpr,
        repeats=repeats,
        device=device,
        consistency_pretrained=str(consistency) if consistency is not None else None,
        external=(*settings.external, *external) if external else None,
        external_untrained=(*settings.external_untrained, *external_untrained) if external_untrained else None,
    )
    if ablations:  # the benchmark's own matched set, never another model's
        settings = settings.with_ablation_set()
    settings.validate()
    settings.externals()  # a leaking score file is a usage error before anything runs
    benchmark_and_report(settings, out_dir, out_dir / "detector", Engine(engine).value, address, workers)


def benchmark_and_report(
    settings, out_dir: Path, detector_dir: Path, engine: str = "local", address: str | None = None, workers: int = 2
) -> BenchmarkResult:
    from emoboost.benchmark.runner import run_benchmark

    with progress() as bar:
        task = bar.add_task("benchmark", total=len(settings.categories) * settings.repeats, current="")

        def on_fold(category: str, stage: str) -> None:
            if stage.startswith("done"):
                bar.update(task, advance=1, current=f"{category}: {stage}")
            else:
                bar.update(task, current=f"{category}: {stage}")

        results = run_benchmark(settings, out_dir, on_fold, detector_dir, engine, address, workers)
    print_results(results)
    out.print(
        f"report: {out_dir / 'results.md'}"
        + (f"  detector: {detector_dir}" if (detector_dir / "config.json").exists() else ""),
        markup=False,
    )
    return results


def print_results(results: BenchmarkResult) -> None:
    """The AUC table of every row and the headline gain, as results.md states them."""
    from emoboost.benchmark.report import gain_lines, markdown

    table = markdown(results.to_dict()).split("## AP")[0]
    out.print(table.split("## AUC", 1)[-1].strip(), soft_wrap=True, highlight=False)
    headline = gain_lines(results.gain)
    if headline:
        out.print(headline[2].strip("*"), soft_wrap=True, highlight=False, markup=False)


@app.command("cross-dataset")
def cross_dataset(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Cross-dataset YAML (configs/benchmark/cross_dataset_*.yaml).")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (results.json/.md/.csv, scores.csv, PNGs, detector/).")
    ],
    detector: Annotated[
        Path | None,
        typer.Option(
            help="Override train.detector: a detector folder trained on train.manifest (`emoboost train`, or a "
            "benchmark's detector/) instead of training one."
        ),
    ] = None,
    train_store: Annotated[
        Path | None, typer.Option(help="Override train.store (the training clips' features).")
    ] = None,
    test_store: Annotated[Path | None, typer.Option(help="Override test.store (the test clips' features).")] = None,
    test_root: Annotated[
        Path | None, typer.Option(help="Override test.root: the folder the test manifest's paths are relative to.")
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="Train a detector here: cpu, cuda or cuda:N (default: the recipe's, cpu).")
    ] = None,
) -> None:
    """Cross-dataset evaluation: a detector trained on one dataset (given, or trained here with a benchmark recipe)
    tested on another's labelled split; every benchmark row calibrated on the training data, per category of the
    test set, with the gain and, where the test set has fake segments, temporal localisation.

    Example: emoboost cross-dataset --config configs/benchmark/cross_dataset_synthav_to_avdeepfake1m.yaml
    --out runs/cross
    """
    from emoboost.benchmark.cross_config import load_cross_dataset_config
    from emoboost.benchmark.cross_dataset import run_cross_dataset
    from emoboost.benchmark.report import gain_lines

    settings = load_cross_dataset_config(config).override(
        train__detector=detector, train__store=train_store, test__store=test_store, test__root=test_root
    )
    with err.status("cross-dataset evaluation") as status:
        result = run_cross_dataset(settings, out_dir, lambda stage: status.update(stage), device)
    data = result.to_dict()
    out.print(f"trained on {data['train']['dataset']}, tested on {data['test']['dataset']} ({data['test']['split']})",
              markup=False)  # fmt: skip
    out.print(data["identities"]["statement"], markup=False, soft_wrap=True)
    headline = gain_lines(result.gain)
    if headline:
        out.print(headline[2].strip("*"), soft_wrap=True, highlight=False, markup=False)
    out.print(f"report: {out_dir / 'results.md'}", markup=False)
