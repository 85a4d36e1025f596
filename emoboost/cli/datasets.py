"""Manifest commands for the datasets read for cross-dataset evaluation: AV-Deepfake1M, LAV-DF, DFDC, DeepfakeTIMIT.

Each command is one library call (the dataset's reader in ``emoboost.data``) and writes, as
``emoboost manifest fakeavceleb`` does, ``manifest.csv`` (one row per usable video, paths relative to ROOT)
and ``report.txt`` (the counts, then every problem on a line of its own) into ``--out``, each file
atomically. Each dataset keeps its own split in the ``split`` column where it has one. With ``--protocol``
(AV-Deepfake1M and LAV-DF, whose fakes come in three kinds: configs/protocols/avdeepfake1m_loco.yaml,
lavdf_loco.yaml) the command also draws identity-disjoint leave-one-category-out folds into ``folds/``, as
``emoboost manifest fakeavceleb`` does, their sizes appended to report.txt. A dataset with no usable clip is
one error line and exit 1 (after the report, which says why, is written).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from emoboost.cli.common import err, one_line, out
from emoboost.cli.data import manifest_app
from emoboost.errors import ConfigError, DataError

if TYPE_CHECKING:
    from emoboost.data.manifest import ManifestRow

VERIFY_HELP = "Check every file's container (reads a few bytes per file)."
OUT_HELP = "Where manifest.csv and report.txt go (paths in the manifest are relative to ROOT)."
PROTOCOL_HELP = (
    "Protocol YAML: also draw identity-disjoint leave-one-category-out folds (train / val / calib / test) into "
    "OUT/folds, e.g. configs/protocols/{}_loco.yaml."
)


class DatasetReport(Protocol):
    """What every reader's report offers: how many entries or files were left out, and its lines."""

    @property
    def problems(self) -> int: ...

    def lines(self) -> list[str]: ...


Reader = Callable[..., tuple[list["ManifestRow"], DatasetReport]]  # reader(root, verify=...) -> (rows, report)


def summary_lines(report: DatasetReport) -> list[str]:
    """The counts and notes of a report (its lines before the per-problem ones): what the terminal shows."""
    return [line for line in report.lines() if not line.startswith("  ") or line.startswith("  note: ")]


def write_dataset_manifest(
    name: str, read: Reader, root: Path, out_dir: Path, verify: bool, protocol: Path | None = None
) -> list[ManifestRow]:
    """Read the dataset at ``root`` with ``read``, write ``manifest.csv`` and ``report.txt`` into ``out_dir`` (both
    atomically, the manifest even when empty so no earlier one is left beside a new report) and print a summary;
    a DataError (exit 1) when no clip is usable. With ``protocol``, the folds too (module docstring): the
    protocol is read before the dataset, and a fold whose split lacks real or fake clips is exit 1."""
    from emoboost.data.manifest import count_by, write_manifest
    from emoboost.data.protocols import load_protocol, report_lines, write_checked_folds
    from emoboost.files import write_text_atomic

    settings = load_protocol(protocol) if protocol is not None else None
    if settings is not None:
        settings.validate()
    with err.status(f"reading {name}: metadata and folder tree"):
        rows, report = read(root, verify=verify)
    if settings is not None and rows:
        found = {r.category for r in rows}
        absent = [c for c in settings.categories if c not in found]
        if absent:
            raise ConfigError(
                f"{protocol}: categories {', '.join(absent)} are not in this {name} copy (it has "
                f"{', '.join(sorted(found))}); use the dataset's own protocol, e.g. {PROTOCOL_HELP.split('e.g. ')[1]}"
            )
    folds = write_checked_folds(rows, settings, out_dir / "folds") if settings is not None and rows else []
    manifest = write_manifest(out_dir / "manifest.csv", rows)
    fold_lines = ["", *report_lines(folds)] if folds else []
    write_text_atomic(out_dir / "report.txt", "\n".join([*report.lines(), *fold_lines]) + "\n")
    categories = ", ".join(f"{k} {v}" for k, v in count_by(rows, "category").items())
    splits = ", ".join(f"{k} {v}" for k, v in count_by([r for r in rows if r.split], "split").items())
    where = one_line(manifest)
    out.print(f"{len(rows)} videos ({categories or 'none'})" + (f"; split {splits}" if splits else "") + f" -> {where}",
              markup=False)  # fmt: skip
    out.print(f"{report.problems} problems (left out of the manifest; see {one_line(out_dir / 'report.txt')})",
              markup=False)  # fmt: skip
    for line in summary_lines(report):
        out.print(f"  {line.strip()}", markup=False)
    if not rows:
        raise DataError(f"{root}: no usable {name} clips ({report.problems} problems: see {out_dir / 'report.txt'})")
    if folds:
        from emoboost.cli.data import _print_folds, _refuse_unusable

        _print_folds(folds)
        _refuse_unusable(folds, out_dir / "folds")
    return rows


@manifest_app.command("avdeepfake1m")
def manifest_avdeepfake1m(
    root: Annotated[
        Path, typer.Argument(help="The AV-Deepfake1M folder (train_metadata.json, val_metadata.json, train/, val/).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP)],
    verify: Annotated[bool, typer.Option(help=VERIFY_HELP)] = True,
    protocol: Annotated[Path | None, typer.Option(help=PROTOCOL_HELP.format("avdeepfake1m"))] = None,
) -> None:
    """Cross-check AV-Deepfake1M's metadata with its folder tree; write the manifest (train and val splits, fake \
segments per modality) and the report.

    The test split's labels are not published: it is counted in the report, not read.

    Example: emoboost manifest avdeepfake1m /data/AV-Deepfake1M --out data_manifests/avdeepfake1m
    """
    from emoboost.data.avdeepfake1m import read_avdeepfake1m

    write_dataset_manifest("AV-Deepfake1M", read_avdeepfake1m, root, out_dir, verify, protocol)


@manifest_app.command("lavdf")
def manifest_lavdf(
    root: Annotated[
        Path, typer.Argument(help="The LAV-DF folder (metadata.json or metadata.min.json; train/, dev/, test/).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP)],
    verify: Annotated[bool, typer.Option(help=VERIFY_HELP)] = True,
    protocol: Annotated[Path | None, typer.Option(help=PROTOCOL_HELP.format("lavdf"))] = None,
) -> None:
    """Cross-check LAV-DF's metadata with its folder tree; write the manifest (its train / dev / test split, dev as \
val, and the fake segments) and the report.

    Example: emoboost manifest lavdf /data/LAV-DF --out data_manifests/lavdf
    """
    from emoboost.data.lavdf import read_lavdf

    write_dataset_manifest("LAV-DF", read_lavdf, root, out_dir, verify, protocol)


@manifest_app.command("dfdc")
def manifest_dfdc(
    root: Annotated[Path, typer.Argument(help="The folder holding DFDC's dfdc_train_part_<N>/ folders.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP)],
    verify: Annotated[bool, typer.Option(help=VERIFY_HELP)] = True,
) -> None:
    """Cross-check every DFDC training part's metadata.json with its folder; write the manifest and the report.

    The metadata labels clips REAL / FAKE only: which modality a fake has manipulated is not stated (some fakes'
    audio is), so every fake's video_fake and audio_fake follow the clip label. Score DFDC on the clip label.

    Example: emoboost manifest dfdc /data/dfdc_train --out data_manifests/dfdc
    """
    from emoboost.data.dfdc import read_dfdc

    write_dataset_manifest("DFDC", read_dfdc, root, out_dir, verify)


@manifest_app.command("deepfaketimit")
def manifest_deepfaketimit(
    root: Annotated[Path, typer.Argument(help="The DeepfakeTIMIT folder (lower_quality/, higher_quality/).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP)],
    verify: Annotated[bool, typer.Option(help=VERIFY_HELP)] = True,
) -> None:
    """List DeepfakeTIMIT's face-swapped videos (both qualities); write the manifest and the report.

    Every clip is a fake of the picture; the real recordings are VidTIMIT's, a separate download not read here.

    Example: emoboost manifest deepfaketimit /data/DeepfakeTIMIT --out data_manifests/deepfaketimit
    """
    from emoboost.data.deepfaketimit import read_deepfaketimit

    write_dataset_manifest("DeepfakeTIMIT", read_deepfaketimit, root, out_dir, verify)
