"""Data commands: extract features, build FakeAVCeleb manifests, generate SynthAV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from emoboost.cli.common import Engine, app, err, one_line, out, progress
from emoboost.errors import ConfigError

if TYPE_CHECKING:
    from emoboost.features.extract import ExtractSummary


@app.command()
def extract(
    inputs: Annotated[
        list[str], typer.Argument(help="Video files, folders, manifest CSVs (path column) or @list.txt.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Feature store directory.")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config (media, faces, encoders, runtime).")
    ] = None,
    root: Annotated[
        Path | None,
        typer.Option(
            help=(
                "Folder that manifest paths are relative to (default: the manifest's folder; "
                "its parent for folds/<category>.csv)."
            )
        ),
    ] = None,
    visual_encoder: Annotated[
        str | None,
        typer.Option(
            help=(
                "Override encoders.visual (face-geometry+fer-minixception, fer-minixception, face-geometry, "
                "faceapi-expression, a+b, or hf:<name>)."
            )
        ),
    ] = None,
    speech_encoder: Annotated[str | None, typer.Option(help="Override encoders.speech (egemaps or hf:<name>).")] = None,
    engine: Annotated[
        Engine, typer.Option(help="local (this process) or ray (Ray Data actors; pip install 'emoboost\\[ray]').")
    ] = Engine.local,
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join ('auto', 'ray://host:10001'); default: start a local one."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Ray actors (one CPU each).")] = 2,
    allow_outside_root: Annotated[
        bool,
        typer.Option("--allow-outside-root", help="Read manifest rows whose path leaves the manifest's dataset root."),
    ] = False,
) -> None:
    """Extract emotion features of videos into a feature store (cached, resumable).

    Example: emoboost extract runs/synthav/manifest.csv --out runs/features
    """

    from emoboost.config import apply_runtime, load_extract_config
    from emoboost.media.inputs import expand_inputs

    settings = load_extract_config(config)
    apply_runtime(settings.runtime)
    settings = settings.override(encoders__visual=visual_encoder, encoders__speech=speech_encoder)
    paths = expand_inputs(inputs, root, allow_outside_root)
    if not paths:
        raise ConfigError("no video files found in the given inputs")
    if extract_files(paths, out_dir, settings, Engine(engine).value, address, workers).failed:
        raise typer.Exit(1)


def extract_files(
    paths, out_dir: Path, settings, engine: str = "local", address: str | None = None, workers: int = 2
) -> ExtractSummary:
    from emoboost.detector.outputs import prepare_folder
    from emoboost.features.store import FeatureStore

    store = FeatureStore(prepare_folder(out_dir, "--out"))  # the destination is checked before any work
    with progress() as bar:
        task = bar.add_task(f"extract ({engine})", total=len(paths), current="")

        def report(outcome) -> None:
            if outcome.status == "failed":
                err.print(f"[red]error[/red] {escape(one_line(outcome.message))}", soft_wrap=True)
            elif outcome.message:
                err.print(f"[yellow]warning[/yellow] {escape(one_line(outcome.message))}", soft_wrap=True)
            bar.update(task, advance=1, current=escape(outcome.path.name))

        if engine == "ray":
            from emoboost.features.distributed import extract_with_ray, shutdown

            try:
                summary = extract_with_ray(paths, store.root, settings, address, workers, on_outcome=report)
            finally:
                shutdown()
        else:
            from emoboost.features.extract import FeatureExtractor, extract_many

            with err.status("loading models"):
                extractor = FeatureExtractor(settings)
            summary = extract_many(paths, store, extractor, on_outcome=report)
    out.print(f"{summary.line()} -> {store.root}", markup=False)
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
    if folds and len(folds[0].group_counts()) > 1:
        from emoboost.data.protocols import GROUP_TABLE_HEADER, group_table

        groups = Table(
            title=f"identity groups: identities/clips per split (fold {folds[0].held_out}; every fold in report.txt)"
        )
        for column in GROUP_TABLE_HEADER:
            groups.add_column(column, justify="left" if column == "group" else "right")
        for row in group_table(folds[0]):
            groups.add_row(*row)
        out.print(groups)
    for fold in folds:
        for line in fold.shortfalls:
            out.print(f"fold {fold.held_out}: sampled short: {line}", markup=False)
    from emoboost.data.protocols import CONTROL_SPLIT

    controls = {len([r for r in fold.rows if r.split == CONTROL_SPLIT]) for fold in folds}
    if controls - {0}:
        kinds = sorted({r.category for fold in folds for r in fold.rows if r.split == CONTROL_SPLIT})
        out.print(
            f"control rows per fold: {', '.join(map(str, sorted(controls)))} ({', '.join(kinds)} of test people; "
            "never trained on, scored against their real recordings)",
            markup=False,
        )


@manifest_app.command("fakeavceleb")
def manifest_fakeavceleb(
    root: Annotated[Path, typer.Argument(help="The FakeAVCeleb_v1.2 folder (holds meta_data.csv).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where manifest.csv, folds/ and report.txt go.")],
    protocol: Annotated[
        Path | None, typer.Option(help="Protocol YAML (default: the shipped leave-one-category-out protocol).")
    ] = None,
    verify: Annotated[bool, typer.Option(help="Check every file's container (reads a few bytes per file).")] = True,
) -> None:
    """Cross-check FakeAVCeleb's meta_data.csv with its folder tree; write the manifest and the folds.

    Example: emoboost manifest fakeavceleb FakeAVCeleb_v1.2 --out data_manifests/fakeavceleb
    """
    from emoboost.data.fakeavceleb import read_fakeavceleb
    from emoboost.data.manifest import count_by, write_manifest
    from emoboost.data.protocols import FAKEAVCELEB_PROTOCOL, load_protocol, report_lines, write_checked_folds
    from emoboost.files import write_text_atomic

    with err.status("reading meta_data.csv and the folder tree"):
        rows, report = read_fakeavceleb(root, verify=verify)
    folds = write_checked_folds(rows, load_protocol(protocol or FAKEAVCELEB_PROTOCOL), out_dir / "folds")
    write_manifest(out_dir / "manifest.csv", rows)
    write_text_atomic(out_dir / "report.txt", "\n".join([*report.lines(), "", *report_lines(folds)]) + "\n")
    out.print(f"{len(rows)} videos: " + ", ".join(f"{k} {v}" for k, v in count_by(rows, "category").items()))
    _print_folds(folds)
    out.print(f"{report.problems} problems (left out of the manifest; see {out_dir / 'report.txt'})", markup=False)
    for line in report.lines()[1:6]:
        out.print(f"  {line}", markup=False)
    _refuse_unusable(folds, out_dir / "folds")


@app.command()
def synth(
    out_dir: Annotated[
        Path, typer.Argument(help="Output folder (clips in FakeAVCeleb-style type folders, manifest.csv, folds/).")
    ],
    identities: Annotated[int, typer.Option(min=2, help="Number of identities.")] = 8,
    clips_per_identity: Annotated[
        int, typer.Option(min=1, help="Scenarios per identity; each gives 1 real + 11 fake clips (v2: 1 + 5).")
    ] = 2,
    seconds: Annotated[float, typer.Option(min=1.0, help="Clip length in seconds.")] = 4.0,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same set).")] = 0,
    protocol: Annotated[
        Path | None, typer.Option(help="Protocol YAML for the folds (default: leave-one-category-out).")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes drawing identities (the set does not change).")] = 1,
    synthav_version: Annotated[
        int, typer.Option(help="Generator: 3 (each cue alone, paired scenarios) or 2 (the earlier set).")
    ] = 3,
    real_only: Annotated[
        bool,
        typer.Option(
            "--real-only",
            help="Only the real clips (a corpus for `emoboost train-consistency`; no folds are written).",
        ),
    ] = False,
    photo_faces: Annotated[
        bool,
        typer.Option(
            "--photo-faces",
            help="v3: the first women of the set get real public-domain photographs as faces, animated by warping "
            "(emoboost.data.synthav_photo; photo_faces.json names them).",
        ),
    ] = False,
) -> None:
    """Generate SynthAV, a talking-face benchmark with FakeAVCeleb's categories (checks the pipeline; not \
FakeAVCeleb results).

    Example: emoboost synth runs/synthav --identities 20 --workers 2
    """
    from emoboost.data.synthav import SynthConfig

    config = SynthConfig(
        identities=identities, clips_per_identity=clips_per_identity, seconds=seconds, seed=seed,
        version=synthav_version, photo_faces=photo_faces,
    )  # fmt: skip
    if real_only:
        from emoboost.data.manifest import REAL

        if protocol is not None:
            raise ConfigError("--protocol: a --real-only set has no fakes, so no folds")
        rows = generate_with_progress(out_dir, config, "synth", workers, (REAL,))
        out.print(f"{len(rows)} real clips -> {out_dir / 'manifest.csv'} (no folds: real only)", markup=False)
        return
    synth_set(out_dir, config, protocol, workers)


def generate_with_progress(
    out_dir: Path, config, label: str, workers: int = 1, categories: tuple[str, ...] | None = None
) -> list:
    """SynthAV clips of ``config`` (``categories`` only, when given) under ``out_dir`` (resumable), with a progress
    bar named ``label``."""
    from emoboost.data.synthav import clips_per_scenario, generate

    per_scenario = clips_per_scenario(config) if categories is None else len(categories)
    total = config.identities * config.clips_per_identity * per_scenario
    with progress() as bar:
        task = bar.add_task(label, total=total, current="")
        return generate(
            out_dir,
            config,
            on_clip=lambda row: bar.update(task, advance=1, current=escape(row.path.rsplit("/", 1)[-1])),
            categories=categories,
            workers=workers,
        )


def synth_set(out_dir: Path, config, protocol: Path | None = None, workers: int = 1) -> None:
    from emoboost.data.protocols import load_protocol, write_checked_folds

    rows = generate_with_progress(out_dir, config, "synth", workers)
    folds = write_checked_folds(rows, load_protocol(protocol), out_dir / "folds")
    out.print(f"{len(rows)} clips -> {out_dir / 'manifest.csv'}", markup=False)
    _print_folds(folds)
    _refuse_unusable(folds, out_dir / "folds")


def _refuse_unusable(folds, folder: Path) -> None:
    """One warning line per fold whose splits lack real or fake clips, then exit 1 (the folds are written, so
    they can be read, but the benchmark cannot use them: give more identities or another protocol)."""
    from emoboost.data.protocols import shortfall_lines

    lines = shortfall_lines(folds)
    for line in lines:
        err.print(f"[yellow]warning[/yellow] {escape(line)}", soft_wrap=True)
    if lines:
        err.print(
            f"[red]error[/red] {len(lines)} of {len(folds)} folds in {escape(one_line(folder))} cannot be benchmarked "
            "(a split lacks real or fake clips): add identities or use another protocol",
            soft_wrap=True,
        )
        raise typer.Exit(1)


def _corpus_listing(readers, corpus: str, root: Path):
    """The listing of ``root`` by the reader named ``corpus``; one line when the name is unknown or nothing is found."""
    if corpus not in readers:
        raise ConfigError(f"corpus must be one of {', '.join(readers)}, not {corpus!r}")
    listing = readers[corpus](root)
    if not listing.rows:
        raise ConfigError(f"{root}: no {corpus} clips found ({len(listing.skipped)} files laid out otherwise)")
    return listing


def _print_left_out(skipped: dict[str, str], first: int = 5) -> None:
    """The first files a corpus reader left out, and why (names made printable: they come from the user's disk)."""
    from emoboost.text import printable

    for path, reason in list(skipped.items())[:first]:
        out.print(f"  left out {printable(path)}: {reason}", markup=False)


@manifest_app.command("emotion")
def manifest_emotion(
    corpus: Annotated[str, typer.Argument(help="ravdess or cremad.")],
    root: Annotated[
        Path, typer.Argument(help="The corpus folder (RAVDESS Actor_NN/ folders, or CREMA-D's VideoFlash/).")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Where manifest.csv goes (paths in it are relative to ROOT).")
    ],
) -> None:
    """Manifest of an acted emotion corpus (RAVDESS, CREMA-D) with an ``emotion`` column, for ``emoboost probe``.

    Example: emoboost manifest emotion ravdess RAVDESS --out runs/ravdess
    """
    from emoboost.data.emotion_corpora import READERS
    from emoboost.data.manifest import count_by, write_manifest

    listing = _corpus_listing(READERS, corpus, root)
    write_manifest(out_dir / "manifest.csv", listing.rows)
    counts = ", ".join(f"{k} {v}" for k, v in count_by(listing.rows, "emotion").items())
    out.print(f"{len(listing.rows)} clips of {len(count_by(listing.rows, 'identity'))} actors ({counts}); "
              f"{len(listing.skipped)} files left out -> {out_dir / 'manifest.csv'}", markup=False)  # fmt: skip
    _print_left_out(listing.skipped)


@manifest_app.command("real")
def manifest_real(
    corpus: Annotated[str, typer.Argument(help="voxceleb2, lrs3 or mead.")],
    root: Annotated[
        Path,
        typer.Argument(
            help="The corpus folder (VoxCeleb2 dev/ test/, LRS3 pretrain/ trainval/ test/, or MEAD's actor folders)."
        ),
    ],  # fmt: skip
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Where manifest.csv goes (paths relative to ROOT; MEAD: the joined files go here too)."
        ),
    ],
) -> None:
    """Manifest of a real talking-face corpus (every clip real), for ``emoboost train-consistency``.

    MEAD keeps picture and sound in separate files: each frontal video is joined with its audio
    (streams copied) under --out, and the manifest's paths are relative to --out.

    Example: emoboost manifest real voxceleb2 VoxCeleb2 --out runs/vox2
    """
    from emoboost.data.manifest import count_by, write_manifest
    from emoboost.data.real_corpora import READERS, MeadListing, mux_pairs

    listing = _corpus_listing(READERS, corpus, root)
    where = root
    if isinstance(listing, MeadListing):
        with progress() as bar:
            task = bar.add_task("joining video and audio", total=len(listing.sources), current="")
            written = mux_pairs(listing.sources, out_dir, lambda path: bar.update(task, advance=1, current=path))
        out.print(f"{written} files joined ({len(listing.sources) - written} already there)", markup=False)
        where = out_dir
    write_manifest(out_dir / "manifest.csv", listing.rows)
    people = len(count_by(listing.rows, "identity"))
    out.print(f"{len(listing.rows)} real clips of {people} identities; {len(listing.skipped)} files left out "
              f"-> {out_dir / 'manifest.csv'} (paths relative to {where})", markup=False)  # fmt: skip
    _print_left_out(listing.skipped)


@app.command()
def probe(
    manifest: Annotated[
        Path, typer.Argument(help="Manifest or fold CSV with an 'emotion' column (label or label@start_s;... track).")
    ],
    store: Annotated[Path, typer.Option("--store", "-s", help="Feature store made by `emoboost extract`.")],
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Write probe.json and probe.md here.")] = None,
    root: Annotated[
        Path | None,
        typer.Option(help="Folder that manifest paths are relative to (default: the manifest's folder)."),
    ] = None,
    stream: Annotated[
        list[str] | None, typer.Option("--stream", help="Record array to probe (repeat; default visual and speech).")
    ] = None,
    mouth: Annotated[
        str | None,
        typer.Option(help="ARRAY[:COLUMN] of the records with a mouth-opening signal: report R^2 per stream."),
    ] = None,
    folds: Annotated[int, typer.Option(min=2, help="Identity-held-out folds (GroupKFold).")] = 5,
    include_fakes: Annotated[bool, typer.Option(help="Probe fake clips too (default: real clips only).")] = False,
) -> None:
    """Linear probes of the emotion class per stream, identities held out, with chance and majority baselines.

    Example: emoboost probe runs/synthav/manifest.csv --store runs/features --out runs/probe
    """
    from emoboost.benchmark.probe import PRIMARY, ProbeConfig, run_probe, summary_line, write_report
    from emoboost.data.manifest import read_manifest
    from emoboost.features.store import FeatureStore
    from emoboost.media.inputs import dataset_root

    config = ProbeConfig(streams=tuple(stream or PRIMARY), folds=folds, real_only=not include_fakes, mouth=mouth)
    rows = read_manifest(manifest)
    with err.status("probing"):
        report = run_probe(rows, FeatureStore(store), dataset_root(manifest, root), config)
    out.print(report.markdown(), markup=False)
    if report.missing:
        err.print(f"[yellow]warning[/yellow] {report.missing} labelled clips have no features in {escape(str(store))}")
    if out_dir is not None:
        write_report(report, out_dir)
    out.print(summary_line(report), markup=False, soft_wrap=True)
