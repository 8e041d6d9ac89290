"""Data-parallel scaling: training throughput (sequence steps per second, summed over the
processes) of 1, 2, ... processes training one model with DistributedDataParallel, measured
in the same run.

On a CPU each process gets one torch thread and gloo; with ``--device cuda`` each gets one
GPU and nccl (1 .. the GPU count). Every configuration trains the same model and preset on
the same data with the library's own loop (``fit``), ``--batch-size`` sequences per process;
the throughput is the median over the epochs after the first (warm-up). The configurations
take turns ``--repeats`` times, so a machine whose speed drifts (a shared VM) affects them
alike; the speed-up reported is the median of the per-round ratios.

    python benchmarks/bench_ddp.py                       # JSB, af-scf small, 1 and 2 CPUs
    python benchmarks/bench_ddp.py --quick               # a smoke run in seconds
    python benchmarks/bench_ddp.py --device cuda --out results/ddp_benchmark_cuda.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lnfmusic.config import preset
from lnfmusic.data.dataset import load_dataset
from lnfmusic.device import describe_device
from lnfmusic.io.atomic import write_text_atomic
from lnfmusic.train.loop import fit


def _worker(rank: int, world: int, store: str, job: dict) -> None:
    torch.set_num_threads(job.get("threads", 1))
    device = "cpu"
    backend = "gloo"
    if job["device"] == "cuda":
        device, backend = f"cuda:{rank}", "nccl"
        torch.cuda.set_device(device)
    if job.get("independent"):  # separate runs side by side, each in its own folder
        job = {**job, "run_dir": f"{job['run_dir']}/{rank}"}
        world = 1
    if world > 1:
        if backend == "gloo":
            os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # one machine: loopback only
        dist.init_process_group(backend, init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        data = load_dataset(job["dataset"], job["data_dir"])
        config = preset(job["preset"], data.kind, job["model"])
        config.train.batch_size = job["batch_size"]
        config.train.max_sequences = job["max_sequences"]
        fit(config, data, job["run_dir"], device=device, progress=False, epochs=job["epochs"])
        if world > 1:
            dist.barrier()  # leave together
    finally:
        if world > 1:
            dist.destroy_process_group()


def _rates(run_dir: Path) -> list[float]:
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["steps_per_s"] for r in rows]


def throughput(
    world: int, job: dict, independent: bool = False, threads: int = 1
) -> tuple[float, list[float]]:
    """Median sequence steps per second (all processes together) over epochs 2.., and all.
    ``independent``: ``world`` separate one-process runs side by side, their rates added;
    ``threads``: torch threads per process."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"ddp{world}-"))
    job = {**job, "run_dir": str(run_dir), "independent": independent, "threads": threads}
    # every configuration in fresh processes (one process too), so none inherits this one's
    # threads or memory; processes meet through a file store: no port to race for
    store = str(run_dir / "store")
    mp.spawn(_worker, args=(world, store, job), nprocs=world, join=True)
    if independent:
        per_run = [_rates(run_dir / str(r)) for r in range(world)]
        rates = [sum(epoch) for epoch in zip(*per_run, strict=True)]
    else:
        rates = _rates(run_dir)
    return statistics.median(rates[1:] or rates), rates


def _label(world: int, independent: bool, threads: int) -> str:
    if independent:
        return f"{world} separate runs side by side (no DDP)"
    if threads > 1:
        return f"{world} process, {threads} threads"
    return f"{world} process{'es' if world > 1 else ''} (DDP)" if world > 1 else "1 process"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="jsb")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--model", default="af-scf")
    p.add_argument("--preset", default="small")
    p.add_argument("--batch-size", type=int, default=8, help="sequences per process")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--max-sequences", type=int, default=None)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--processes", type=int, nargs="+", default=None, help="[default: 1 2]")
    p.add_argument("--repeats", type=int, default=3, help="rounds of all configurations")
    p.add_argument("--quick", action="store_true", help="tiny preset, 2 epochs, 1 round")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.preset, args.epochs, args.max_sequences, args.repeats = "tiny", 2, 64, 1
    worlds = args.processes or (
        list(range(1, torch.cuda.device_count() + 1)) if args.device == "cuda" else [1, 2]
    )
    job = {
        "dataset": args.dataset,
        "data_dir": args.data_dir,
        "model": args.model,
        "preset": args.preset,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "max_sequences": args.max_sequences,
        "device": args.device,
    }
    started = dt.datetime.now().astimezone()
    # a configuration: (processes, independent, threads). On a CPU two more: one process with
    # as many threads as the largest run has processes (the alternative to DDP on one run),
    # and as many separate runs side by side (the machine's ceiling; the way to run a sweep)
    configs = [(w, False, 1) for w in worlds]
    if args.device == "cpu" and worlds[-1] > 1:
        configs += [(1, False, worlds[-1]), (worlds[-1], True, 1)]
    rounds: list[dict[tuple[int, bool], float]] = []
    for i in range(args.repeats):
        rounds.append({})
        for world, independent, threads in configs:
            median, rates = throughput(world, job, independent, threads)
            rounds[-1][world, independent, threads] = median
            epochs = ", ".join(f"{r:,.0f}" for r in rates)
            what = _label(world, independent, threads)
            print(f"round {i + 1}: {what} {median:,.0f} steps/s ({epochs})", file=sys.stderr)
    first = configs[0]
    results = {c: statistics.median(r[c] for r in rounds) for c in configs}
    speedup = {c: statistics.median(r[c] / r[first] for r in rounds) for c in configs}
    rows = [
        "| configuration | sequence steps / s (median of rounds) | speed-up (median of rounds) "
        "| per round |",
        "|---|---|---|---|",
    ]
    rows += [
        f"| {_label(*c)} | {results[c]:,.0f} | {speedup[c]:.2f}x | "
        + ", ".join(f"{r[c] / r[first]:.2f}" for r in rounds)
        + " |"
        for c in configs
    ]
    unit = "GPU" if args.device == "cuda" else "CPU process, one thread"
    report = "\n".join(
        [
            "# Data-parallel training throughput",
            "",
            f"- command: `python {' '.join(['benchmarks/bench_ddp.py', *sys.argv[1:]])}`",
            f"- commit: {_commit()}, date: {started:%Y-%m-%d %H:%M %Z}",
            f"- hardware: {describe_device(args.device if args.device == 'cpu' else 'cuda:0')}",
            f"- torch {torch.__version__}, Python {platform.python_version()}",
            f"- {args.model}, {args.preset} preset, {args.dataset}, {args.batch_size} sequences"
            f" per process and step, {args.epochs} epochs (median of epochs 2..), one {unit}"
            f" each, {args.repeats} rounds taking turns",
            "",
            *rows,
            "",
            f"Ratio measured in this run: {worlds[-1]} : {worlds[0]} processes = "
            f"{speedup[worlds[-1], False, 1]:.2f}",
            "",
        ]
    )
    print(report)
    if args.out is not None:
        write_text_atomic(args.out, report)


if __name__ == "__main__":
    main()
