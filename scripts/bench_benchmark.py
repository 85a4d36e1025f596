"""Time and memory of one FakeAVCeleb-size benchmark fold, on generated features.

    python scripts/bench_benchmark.py [--scale 1.0] [--epochs 1] [--fold RVFA] [--device cpu]

Builds, under --work, a FakeAVCeleb-shaped tree (placeholder files: scripts/fakeavceleb_shape.py:
500 identities in 5 ethnicities x 2 genders, swap partners inside a group, the dataset's type
sizes: ~21,500 clips), its manifest and folds (configs/protocols/fakeavceleb_loco.yaml), and a
feature store with one record per clip: random features of the real shapes (default encoders),
clip lengths 3-15 s (log-normal, median 6 s), face crops at 2.5 fps, log-mel. ``--scale`` shrinks
the swap fakes (and the identities, to no fewer than 100) to that fraction. Then runs one fold of
``emoboost benchmark`` with configs/benchmark/fakeavceleb.yaml (every EmoForensics row, RGB,
acoustic, fusions, bootstrap) in a child process, with every detector's epochs capped at --epochs
(the output says so), timing each epoch. Random features: the metrics mean nothing, the timings do.

The projection assumes time linear in clips: per detector, the configured epoch count (an upper
bound: early stopping usually stops sooner) x the measured seconds per epoch x (training clips of
the full-size fold / training clips here), plus the fold's other work (index, scoring, fusion,
bootstrap) scaled by all its clips. It is made from CPU seconds (on a shared machine wall time
mostly measures the neighbours; run with ``--threads 1`` there, since idle threads spin and
inflate CPU time) and from this run's wall time. Last line: JSON with ``clips``,
``seconds_per_epoch`` per detector, ``projected_fold_hours_cpu``, ``peak_rss_mb`` (the fold's
child process). Exit 1 when the peak is above --limit-mb (8 GB). ``--memory-only`` skips training:
one pass over the fold's data as an epoch reads it, and its peak RSS (run it with ``--scale 1``).

On a GPU box: ``--device cuda`` trains every network there (benchmark ``device``, the training loop
moves the model and each batch; the fusions, metrics and bootstrap stay on the CPU); see README
"FakeAVCeleb at full size".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fakeavceleb_shape import FULL_SWAPS, random_record, write_tree  # noqa: E402  (beside this script)

from emoboost.config import load_section, load_yaml, resolve_config  # noqa: E402
from emoboost.features.version import key_prefix  # noqa: E402
from emoboost.training.loop import TrainConfig  # noqa: E402

FULL_CLIPS = 4 * 500 + sum(FULL_SWAPS.values())  # clips of the full-size manifest
KEY = key_prefix() + "bench"  # records of this extraction version
BENCHMARK = "configs/benchmark/fakeavceleb.yaml"  # shipped configs: ./configs/ first, else the packaged ones
CHILD = Path(__file__).with_name("bench_fold_child.py")  # the fold (time) and its data path (memory)


def clip_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Clip lengths: log-normal, median 6 s, clipped to 3-15 s (FakeAVCeleb averages ~6.4 s)."""
    return np.clip(rng.lognormal(np.log(6.0), 0.3, n), 3.0, 15.0)


def build(work: Path, scale: float, seed: int) -> tuple[Path, Path, list, dict]:
    """Tree, manifest, folds and store under ``work`` (reused when ``work/done.json`` matches)."""
    from emoboost.data.fakeavceleb import read_fakeavceleb
    from emoboost.data.manifest import write_manifest
    from emoboost.data.protocols import FAKEAVCELEB_PROTOCOL, load_protocol, write_checked_folds
    from emoboost.features.store import FeatureStore

    root, store = work / "FakeAVCeleb_v1.2", FeatureStore(work / "store")
    done = work / "done.json"
    wanted = {"scale": scale, "seed": seed}
    identities = max(100, round(500 * scale))
    swaps = {method: round(total * scale) for method, total in FULL_SWAPS.items()}
    if not (done.exists() and json.loads(done.read_text()).get("build") == wanted):
        started = time.perf_counter()
        write_tree(root, identities, swaps, seed)
        rows, _ = read_fakeavceleb(root, verify=False)
        rng = np.random.default_rng(seed)
        lengths = clip_seconds(rng, len(rows))
        for index, (row, seconds) in enumerate(zip(rows, lengths, strict=True)):
            store.put(random_record(rng, store.content_hash(root / row.path), float(seconds)), KEY)
            if index % 2000 == 0:
                print(f"  records {index}/{len(rows)}", flush=True)
        write_manifest(work / "manifest.csv", rows)
        write_checked_folds(rows, load_protocol(FAKEAVCELEB_PROTOCOL), work / "folds")
        info = {
            "build": wanted,
            "clips": len(rows),
            "mean_seconds": float(lengths.mean()),
            "build_seconds": time.perf_counter() - started,
        }
        done.write_text(json.dumps(info))
    return root, store.root, json.loads(done.read_text())


def full_fold_clips(work: Path, fold: str, seed: int) -> dict[str, int]:
    """Clips per split of ``fold`` in the full-size manifest: the projection's target (placeholders, no records)."""
    from emoboost.data.fakeavceleb import read_fakeavceleb
    from emoboost.data.protocols import FAKEAVCELEB_PROTOCOL, load_protocol, make_folds

    cache = work / f"full_fold_sizes_seed{seed}.json"
    if not cache.exists():
        root = write_tree(work / "full_manifest" / "FakeAVCeleb_v1.2", 500, FULL_SWAPS, seed)
        rows, _ = read_fakeavceleb(root, verify=False)
        folds = make_folds(rows, load_protocol(FAKEAVCELEB_PROTOCOL))
        cache.write_text(json.dumps({f.held_out: {s: sum(pair) for s, pair in f.counts().items()} for f in folds}))
    return json.loads(cache.read_text())[fold]


def capped_configs(
    work: Path,
    fold: str,
    root: Path,
    store: Path,
    epochs: int,
    bootstrap: int,
    device: str = "cpu",
    speed: dict | None = None,
) -> Path:
    """configs/benchmark/fakeavceleb.yaml for the generated data, every detector's epochs capped (``speed``:
    train settings such as ``precision`` / ``channels_last`` given to every network)."""
    import yaml

    speed = speed or {}
    config = load_yaml(BENCHMARK)
    emo_paths = []
    for path in [config["emo_config"], *config["ablations"]]:
        emo = load_yaml(path)
        emo.setdefault("train", {})["epochs"] = min(epochs, load_section(TrainConfig, path, "train").epochs)
        emo["train"].update(speed)
        target = work / "configs" / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(emo))
        emo_paths.append(str(target))
    config.update(
        folds=str(work / "folds"),
        root=str(root),
        store=str(store),
        categories=[fold],
        emo_config=emo_paths[0],
        ablations=emo_paths[1:],
        anchors=str(resolve_config(config["anchors"])),
        bootstrap=bootstrap,
        device=device,
    )
    config["lowlevel_train"]["epochs"] = min(epochs, config["lowlevel_train"]["epochs"])
    config["lowlevel_train"].update(speed)
    path = work / "configs" / "benchmark.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def configured_epochs() -> dict[str, int]:
    """Each detector's epoch count in the shipped FakeAVCeleb configs (what a real run may use)."""
    config = load_yaml(BENCHMARK)
    out = {"emo": load_section(TrainConfig, config["emo_config"], "train").epochs}
    for path in config["ablations"]:
        out[f"emo:{Path(path).stem}"] = load_section(TrainConfig, path, "train").epochs
    # the ensemble baseline's second pair trains with the same settings at another seed
    out["rgb"] = out["acoustic"] = out["rgb_seed2"] = out["acoustic_seed2"] = config["lowlevel_train"]["epochs"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of FakeAVCeleb's swap fakes (and identities, >= 100)"
    )
    parser.add_argument("--epochs", type=int, default=1, help="cap on every detector's epochs for the timing run")
    parser.add_argument("--fold", default="RVFA", help="held-out category of the fold to run")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="torch threads of the fold (1 on a shared machine)"
    )
    parser.add_argument("--limit-mb", type=float, default=8192.0)
    parser.add_argument("--memory-only", action="store_true", help="read the fold once as an epoch does, no training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--precision", choices=["config", "fp32", "bf16"], default="config", help="train.precision of every network"
    )
    parser.add_argument(
        "--channels-last", choices=["config", "on", "off"], default="config", help="train.channels_last of all"
    )
    parser.add_argument("--work", type=Path, default=Path("runs/bench_benchmark"))
    args = parser.parse_args()
    work = args.work / f"scale{args.scale:g}"
    print(f"building the FakeAVCeleb-shaped store under {work} (scale {args.scale:g}) ...", flush=True)
    root, store, info = build(work, args.scale, args.seed)
    print(
        f"  {info['clips']} clips, mean {info['mean_seconds']:.2f} s, built in {info['build_seconds']:.0f} s",
        flush=True,
    )
    speed: dict = {} if args.precision == "config" else {"precision": args.precision}
    if args.channels_last != "config":
        speed["channels_last"] = args.channels_last == "on"
    config = capped_configs(work, args.fold, root, store, args.epochs, args.bootstrap, args.device, speed)
    if args.memory_only:
        memory(args, info, config)
        return
    out = work / f"run_epochs{args.epochs}"
    if out.exists():
        import shutil

        shutil.rmtree(out)
    print(
        f"running fold {args.fold} with every detector capped at {args.epochs} epoch(s) (a timing run) ...", flush=True
    )
    child = run_child(["time", str(config), str(out), str(args.threads)], "the fold")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    (out / "timings.json").write_text(json.dumps({**child, "peak_rss_mb": peak}, indent=1))  # kept for a re-report
    report(args, info, child, peak, out)


def run_child(argv: list[str], what: str) -> dict:
    """Run scripts/bench_fold_child.py with ``argv`` in a child Python with this checkout first on the path;
    its last stdout line, parsed as JSON."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, str(CHILD), *argv], capture_output=True, text=True, env=env, cwd=REPO, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{what} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory(args: argparse.Namespace, info: dict, config: Path) -> None:
    child = run_child(["memory", str(config)], "the memory pass")
    print(
        f"memory pass over fold {args.fold} ({child['sizes']}): read {child['crop_gb_read']:.2f} GB of face crops in"
        f" {child['seconds']:.0f} s, acoustic normaliser input {child['normaliser_mb']:.0f} MB,"
        f" peak RSS {child['peak_rss_mb']:.0f} MB"
    )
    print(json.dumps({"clips": info["clips"], "scale": args.scale, "fold": args.fold, "memory_only": True, **child}))
    if child["peak_rss_mb"] > args.limit_mb:
        sys.exit(1)


def report(args: argparse.Namespace, info: dict, child: dict, peak: float, out: Path) -> None:
    fold = json.loads((out / "folds" / f"{args.fold}.json").read_text())
    sizes = {split: sum(pair) for split, pair in fold["sizes"].items()}
    full_sizes = full_fold_clips(args.work, args.fold, args.seed)
    fold_clips, full = sum(sizes.values()), sum(full_sizes.values())
    ratio = (
        sizes["train"] / full_sizes["train"]
    )  # an epoch: linear in the training clips (validation is the smaller part)
    other_ratio = fold_clips / full  # scoring, fusion: linear in all clips
    per_epoch = {name: float(np.mean(seconds)) for name, seconds in child["epochs"].items()}
    cpu_per_epoch = {name: float(np.mean(seconds)) for name, seconds in child["cpu"].items()}
    other = child["seconds"] - sum(sum(seconds) for seconds in child["epochs"].values())
    other_cpu = child["cpu_seconds"] - sum(sum(seconds) for seconds in child["cpu"].values())
    epochs = configured_epochs()
    epochs.update({f"trimmed:{name}": n for name, n in list(epochs.items())})  # the silence-trimmed retraining
    unknown = sorted(set(per_epoch) - set(epochs))
    if unknown:
        raise SystemExit(
            f"no configured epoch count for {', '.join(unknown)} (the runner trains a model this script does not know);"
            f" the measured timings are in {out / 'timings.json'}"
        )
    projected = (
        sum(epochs[name] * seconds for name, seconds in per_epoch.items()) / ratio + other / other_ratio
    ) / 3600
    # CPU seconds do not count the time other processes hold the cores; with one torch thread they are
    # the wall time of one uncontended core, and two cores can at best halve them
    one_core = (
        sum(epochs[name] * seconds for name, seconds in cpu_per_epoch.items()) / ratio + other_cpu / other_ratio
    ) / 3600
    print(
        f"EPOCHS CAPPED AT {args.epochs} for this timing run (the configs ask for {epochs});"
        " metrics on random features mean nothing"
    )
    print(
        f"fold {args.fold}: real/fake clips per split {fold['sizes']} ({fold_clips} clips; at full size {full_sizes});"
        f" missing features {len(fold['missing'])}"
    )
    for name, seconds in per_epoch.items():
        print(
            f"  {name:<18} {seconds:8.1f} s/epoch here ({cpu_per_epoch[name]:.1f} CPU s),"
            f" {cpu_per_epoch[name] / ratio:8.1f} CPU s/epoch at full size,"
            f" {epochs[name]} epochs configured"
        )
    print(f"  other work (index, scoring, fusion, bootstrap): {other:.0f} s here; the longest stages (wall, here):")
    for name, seconds in sorted(child["stages"].items(), key=lambda item: -item[1])[:8]:
        print(f"    {seconds:7.1f} s  {name}")
    print(
        f"fold wall {child['seconds']:.0f} s ({child['cpu_seconds']:.0f} CPU s, {args.threads} torch thread(s));"
        f" projected full-size fold: {one_core:.1f} h of CPU time (one uncontended core;"
        f" >= {one_core / 2:.1f} h on 2 idle cores), {projected:.1f} h at this"
        f" run's wall speed; peak RSS {peak:.0f} MB (limit {args.limit_mb:.0f});"
        f" load average {os.getloadavg()[0]:.1f} (other processes share the cores: wall times are that much slower)"
    )
    print(
        json.dumps(
            {
                "clips": info["clips"],
                "scale": args.scale,
                "fold": args.fold,
                "fold_sizes": fold["sizes"],
                "epochs_cap": args.epochs,
                "seconds_per_epoch": {k: round(v, 2) for k, v in per_epoch.items()},
                "cpu_seconds_per_epoch": {k: round(v, 2) for k, v in cpu_per_epoch.items()},
                "seconds_per_epoch_full_size": {k: round(v / ratio, 1) for k, v in per_epoch.items()},
                "cpu_seconds_per_epoch_full_size": {k: round(v / ratio, 1) for k, v in cpu_per_epoch.items()},
                "fold_clips": fold_clips,
                "full_size_fold_clips": full_sizes,
                "configured_epochs": epochs,
                "fold_seconds": round(child["seconds"], 1),
                "projected_fold_hours_cpu": round(one_core, 2),
                "projected_fold_hours_2cores_lower_bound": round(one_core / 2, 2),
                "projected_fold_hours_at_this_wall_speed": round(projected, 2),
                "projected_five_folds_hours_cpu": round(5 * one_core, 2),
                "threads": args.threads,
                "precision": args.precision,
                "channels_last": args.channels_last,
                "load_average": round(os.getloadavg()[0], 2),
                "peak_rss_mb": round(peak, 1),
                "limit_mb": args.limit_mb,
                "cpu_count": os.cpu_count(),
            }
        )
    )
    if peak > args.limit_mb:
        sys.exit(1)


if __name__ == "__main__":
    main()
