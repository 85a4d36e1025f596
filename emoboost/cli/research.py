"""Research commands: train EmoForensics, run the leave-one-category-out benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from emoboost.cli.common import app, err, out, progress
from emoboost.errors import ConfigError

@app.command()
def train(
    manifest: Annotated[Path, typer.Option(help="Fold CSV with a split column (train / val / test), from `emoboost manifest` or `emoboost synth`.")],
    store: Annotated[Path, typer.Option(help="Feature store filled by `emoboost extract`.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Checkpoint directory to write.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML with model and train sections (configs/emoforensics/*.yaml).")] = Path("configs/emoforensics/full.yaml"),
    root: Annotated[Optional[Path], typer.Option(help="Folder the manifest paths are relative to (default: next to the manifest).")] = None,
) -> None:
    """Train EmoForensics on a fold's train split, early-stopping on its val split."""
    import csv as csv_module

    from emoboost.cache import sha256_file, write_text_atomic
    from emoboost.checkpoints import save_emoforensics
    from emoboost.config import load_section, to_dict
    from emoboost.data.manifest import read_manifest
    from emoboost.features.store import FeatureStore
    from emoboost.media.inputs import dataset_root
    from emoboost.models.emoforensics import EmoForensicsConfig
    from emoboost.train import TrainConfig, load_clips, train_emoforensics

    model_config = load_section(EmoForensicsConfig, config, "model")
    train_config = load_section(TrainConfig, config, "train")
    rows = read_manifest(manifest)
    if not any(row.split for row in rows):
        raise ConfigError(f"{manifest}: no split column; train on a fold file (folds/<category>.csv)")
    base = dataset_root(manifest, root)
    feature_store = FeatureStore(store)
    with err.status("loading features"):
        sets = {split: load_clips([r for r in rows if r.split == split], feature_store, base, model_config.token_frames) for split in ("train", "val")}
    missing = sets["train"].missing + sets["val"].missing
    if missing:
        err.print(f"[yellow]warning[/yellow] {len(missing)} clips have no features and are skipped (first: {escape(str(missing[0]))})", soft_wrap=True)
    held_out = sorted({r.category for r in rows if r.split == "test" and r.label == 1})
    log_rows: list[dict] = []

    def log_csv() -> str:
        import io

        buffer = io.StringIO()
        writer = csv_module.DictWriter(buffer, fieldnames=list(log_rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(log_rows)
        return buffer.getvalue()

    with progress() as bar:
        task = bar.add_task("train", total=train_config.epochs, current="")

        def on_epoch(row: dict) -> None:
            log_rows.append(row)
            write_text_atomic(out_dir / "train_log.csv", log_csv())
            bar.update(task, advance=1, current=f"loss {row['train_loss']:.3f}  val AUC {row['val_score']:.3f}")

        result = train_emoforensics(sets["train"].clips, sets["val"].clips, model_config, train_config, on_epoch)
        bar.update(task, total=len(log_rows))
    meta = {
        "train": to_dict(train_config),
        "encoders": sets["train"].encoders,
        "data": {
            "manifest": str(manifest),
            "manifest_sha256": sha256_file(manifest),
            "held_out": ", ".join(held_out),
            "train_clips": len(sets["train"].clips),
            "val_clips": len(sets["val"].clips),
            "missing": len(missing),
        },
        "metrics": {"val_auc": result.best_score, "best_epoch": result.best_epoch, "epochs_run": len(result.history)},
    }
    save_emoforensics(out_dir, result.model, meta)
    out.print(f"best validation AUC {result.best_score:.4f} at epoch {result.best_epoch} -> {out_dir}", markup=False)


ABLATION_CONFIGS = tuple(f"configs/emoforensics/{name}.yaml" for name in ("visual_only", "speech_only", "intra_only", "inter_only"))


@app.command()
def benchmark(
    config: Annotated[Path, typer.Option("--config", "-c", help="Benchmark YAML (configs/benchmark/*.yaml).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder (results.json/.csv/.md, PNGs, folds/).")],
    folds: Annotated[Optional[Path], typer.Option(help="Override: folder of fold CSVs.")] = None,
    store: Annotated[Optional[Path], typer.Option(help="Override: feature store.")] = None,
    root: Annotated[Optional[Path], typer.Option(help="Override: folder the manifest paths are relative to.")] = None,
    ablations: Annotated[bool, typer.Option("--ablations", help="Also run the shipped EmoForensics ablations (visual/speech only, intra/inter only).")] = False,
    external: Annotated[Optional[list[Path]], typer.Option(help="path,score CSV of another detector (repeatable): scored alone and fused.")] = None,
    target_fpr: Annotated[Optional[float], typer.Option(help="Thresholds at this calibration FPR instead of the Bayes decision at prior 0.5 (LLR 0).")] = None,
) -> None:
    """Leave-one-category-out benchmark: train, fuse (EMO-BOOST) and evaluate every fold (resumable)."""
    import dataclasses

    from emoboost.benchmark import load_benchmark_config

    settings = load_benchmark_config(config)
    overrides = {"folds": folds, "store": store, "root": root}
    settings = dataclasses.replace(settings, **{k: str(v) for k, v in overrides.items() if v is not None})
    if ablations:
        settings = dataclasses.replace(settings, ablations=tuple(dict.fromkeys((*settings.ablations, *ABLATION_CONFIGS))))
    if target_fpr is not None:
        settings = dataclasses.replace(settings, target_fpr=target_fpr)
    if external:
        settings = dataclasses.replace(settings, external=(*settings.external, *(str(p) for p in external)))
    benchmark_and_report(settings, out_dir, out_dir / "detector")


def benchmark_and_report(settings, out_dir: Path, detector_dir: Path) -> dict:
    from emoboost.benchmark import run_benchmark
    from emoboost.report import markdown

    with progress() as bar:
        task = bar.add_task("benchmark", total=len(settings.categories), current="")

        def on_fold(category: str, stage: str) -> None:
            if stage.startswith("done"):
                bar.update(task, advance=1, current=f"{category}: {stage}")
            else:
                bar.update(task, current=f"{category}: {stage}")

        results = run_benchmark(settings, out_dir, on_fold, detector_dir)
    table = markdown(results).split("## AP")[0]
    out.print(table.split("## AUC", 1)[-1].strip(), soft_wrap=True, highlight=False)
    out.print(f"report: {out_dir / 'results.md'}" + (f"  detector: {detector_dir}" if (detector_dir / "config.json").exists() else ""), markup=False)
    return results
