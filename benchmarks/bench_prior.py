"""Throughput of the flow priors: density evaluation and sampling, in latent steps per second.

For each prior (``af-af``, ``af-scf``, ``iaf-scf``, ``af-only``, NLSq, their default hidden
flows), each size (``paper``: H=50, LSTM 500x2, 5 hidden layers of width 500; ``small``: the
small preset), each length T and batch size B, times

- ``density``: ``prior.log_prob(z, lengths)`` (forward only, no gradient) — AF in time is one
  parallel pass, IAF in time is serial over T;
- ``sample``: ``prior.sample(lengths)`` (no gradient) — AF in time is serial over T (and
  ``af`` in hidden serial over H too), IAF in time is one parallel pass.

Throughput = B * T / (median seconds per call). Randomly initialised models (timings do not
depend on the weights), eval mode, float32. Each cell repeats its call until ``--budget``
seconds are spent (at least once, at most ``--max-reps`` times) after one warm-up at the
shortest length. Within a (size, prior, direction, B) series the lengths grow; once the
linear extrapolation from the previous length predicts a single call slower than
``--max-call`` seconds, the cell is not run and the estimate is printed as ``~est``. The two
sampling cells at the longest length with B = 1 for ``af-scf`` and ``iaf-scf`` (the AF/IAF
comparison with the same hidden flow) are always measured.

    python benchmarks/bench_prior.py                    # full grid (CPU: a few minutes)
    python benchmarks/bench_prior.py --quick            # small size, T 64/256, B 1
    python benchmarks/bench_prior.py --device cuda --markdown results/prior_benchmark_gpu.md

References:
    Ziegler & Rush (2019), Sections 4 and 6.3.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from lnfmusic.config import preset
from lnfmusic.device import describe_device
from lnfmusic.flows.prior import FlowPrior
from lnfmusic.io.atomic import write_text_atomic
from lnfmusic.model.lnf.config import LNFConfig
from lnfmusic.model.lnf.model import prior_of

PRIORS = ("af-af", "af-scf", "iaf-scf", "af-only")
SIZES = ("small", "paper")


def model_config(size: str, model: str, max_length: int) -> LNFConfig:
    """``paper``: the LNF sizes (H=50, 500 everywhere, 5 layers); else the named preset."""
    cfg = LNFConfig(prior=model) if size == "paper" else preset(size, "music", model).model
    cfg.max_length = max_length
    return cfg


def load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"


def timed(fn: Callable[[], object], device: torch.device, budget: float, max_reps: int) -> float:
    """Median seconds of ``fn()`` over repetitions filling ``budget`` seconds."""
    times: list[float] = []
    spent = 0.0
    while not times or (spent < budget and len(times) < max_reps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
        spent += times[-1]
    return statistics.median(times)


def call(prior: FlowPrior, direction: str, B: int, T: int, device: torch.device) -> Callable:
    lengths = torch.full((B,), T, dtype=torch.long, device=device)
    if direction == "density":
        z = torch.randn(B, T, prior.latent_dim, device=device)
        return lambda: prior.log_prob(z, lengths)
    g = torch.Generator(device=device).manual_seed(0)
    return lambda: prior.sample(lengths, generator=g)


@torch.no_grad()
def run(args: argparse.Namespace) -> tuple[list[dict], str]:
    device = torch.device(args.device)
    lengths, batches = sorted(args.lengths), sorted(args.batches)
    rows: list[dict] = []
    for size in args.sizes:
        for model in args.priors:
            torch.manual_seed(0)
            prior = prior_of(model_config(size, model, max(lengths))).to(device).eval()
            for direction in ("density", "sample"):
                for B in batches:
                    call(prior, direction, B, min(8, lengths[0]), device)()  # warm-up
                    prev: tuple[int, float] | None = None
                    for T in lengths:
                        must = (
                            direction == "sample"
                            and model in ("af-scf", "iaf-scf")
                            and B == batches[0]
                            and T == lengths[-1]
                        )
                        est = prev[1] * T / prev[0] if prev else 0.0
                        row = {"size": size, "prior": model, "direction": direction, "B": B, "T": T}
                        if est > args.max_call and not must:
                            row.update(seconds=est, estimated=True)
                        else:
                            secs = timed(
                                call(prior, direction, B, T, device),
                                device,
                                args.budget,
                                args.max_reps,
                            )
                            row.update(seconds=secs, estimated=False)
                            prev = (T, secs)
                        row["steps_per_s"] = B * T / row["seconds"]
                        rows.append(row)
                        mark = "~est" if row["estimated"] else ""
                        print(
                            f"{size:6} {model:8} {direction:8} B={B:<3} T={T:<5} "
                            f"{row['seconds']:9.4f} s {row['steps_per_s']:12.0f} steps/s {mark}",
                            file=sys.stderr,
                            flush=True,
                        )
    return rows, describe_device(device)


def markdown(
    rows: list[dict],
    args: argparse.Namespace,
    hw: str,
    started: str,
    load_before: str,
    load_after: str,
    wall: float,
) -> str:
    lengths, batches = sorted(args.lengths), sorted(args.batches)
    cmd = "python benchmarks/bench_prior.py " + " ".join(sys.argv[1:])
    out = [
        "# Flow prior throughput",
        "",
        f"- command: `{cmd.strip()}`",
        f"- date: {started}",
        f"- hardware: {hw}; device `{args.device}`",
        f"- torch {torch.__version__}, Python {platform.python_version()}",
        f"- {load_before} (before), {load_after} (after); wall time {wall:.0f} s",
        f"- budget {args.budget} s per cell, at most {args.max_reps} calls, cells predicted "
        f"slower than {args.max_call} s per call are not run (`~` = linear extrapolation)",
        "",
        "Latent steps per second (B x T / median seconds per call), float32, eval mode, no "
        "gradient. Density: `log_prob`; sample: `sample` (noise draw included).",
        "",
    ]
    for size in args.sizes:
        out += [f"## {size}", ""]
        header = (
            "| prior | direction | "
            + " | ".join(f"B={B} T={T}" for B in batches for T in lengths)
            + " |"
        )
        out += [header, "|" + "---|" * (2 + len(batches) * len(lengths))]
        for model in args.priors:
            for direction in ("density", "sample"):
                cells = []
                for B in batches:
                    for T in lengths:
                        r = next(
                            r
                            for r in rows
                            if (r["size"], r["prior"], r["direction"], r["B"], r["T"])
                            == (size, model, direction, B, T)
                        )
                        v = f"{r['steps_per_s']:,.0f}"
                        cells.append(f"~{v}" if r["estimated"] else v)
                out.append(f"| {model} | {direction} | " + " | ".join(cells) + " |")
        out.append("")
        if {"af-scf", "iaf-scf"} <= set(args.priors):
            out += [f"Sampling time af-scf / iaf-scf (same hidden flow), {size}:", ""]
            out += [
                "| B | " + " | ".join(f"T={T}" for T in lengths) + " |",
                "|" + "---|" * (1 + len(lengths)),
            ]
            for B in batches:
                ratios = []
                for T in lengths:
                    t = {
                        r["prior"]: r
                        for r in rows
                        if (r["size"], r["direction"], r["B"], r["T"]) == (size, "sample", B, T)
                    }
                    a, i = t["af-scf"], t["iaf-scf"]
                    mark = "~" if a["estimated"] or i["estimated"] else ""
                    ratios.append(f"{mark}{a['seconds'] / i['seconds']:.1f}")
                out.append(f"| {B} | " + " | ".join(ratios) + " |")
            out.append("")
    return "\n".join(out)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: small size, T 64 and 256, B 1, short budgets",
    )
    p.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES))
    p.add_argument("--priors", nargs="+", choices=PRIORS, default=list(PRIORS))
    p.add_argument("--lengths", nargs="+", type=int, default=[64, 256, 1024])
    p.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    p.add_argument("--budget", type=float, default=1.0, help="seconds of repetitions per cell")
    p.add_argument("--max-reps", type=int, default=5)
    p.add_argument(
        "--max-call",
        type=float,
        default=10.0,
        help="skip (and extrapolate) cells predicted slower than this per call",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.lengths, args.batches = ["small"], [64, 256], [1]
        args.budget, args.max_reps, args.max_call = 0.3, 3, 2.0
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = load()
    t0 = time.perf_counter()
    rows, hw = run(args)
    text = markdown(rows, args, hw, started, load_before, load(), time.perf_counter() - t0)
    print(text)
    if args.markdown:
        write_text_atomic(args.markdown, text + "\n")


if __name__ == "__main__":
    main()
