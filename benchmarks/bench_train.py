"""Training throughput: sequence steps per second of one optimisation step (forward,
backward, gradient clipping and an Adam update) for each model, at the paper's and the
``small`` preset's sizes, on synthetic music batches.

The headline is the IAF/SCF : AF/SCF time ratio measured in the same run (issue 4 asks for
at most 4x): IAF/SCF evaluates its prior density serially in time during training, AF/SCF
in one parallel pass.

    python benchmarks/bench_train.py --quick
    python benchmarks/bench_train.py --device cuda --out results/train_benchmark_cuda.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import torch
from timing import emit, mean_seconds, report_head

from lnfmusic.config import model_names, preset
from lnfmusic.data.batching import make_batch
from lnfmusic.model.config import ModelConfig
from lnfmusic.model.registry import build_model

SIZES = ("paper", "small")


def model_config(name: str, size: str, max_length: int) -> ModelConfig:
    cfg = preset(size, "music", name).model
    cfg.data_kind, cfg.output_dim, cfg.max_length = "music", 88, max_length
    return cfg


def synthetic_batch(B: int, T: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return make_batch([(rng.random((T, 88)) < 0.05).astype(np.uint8) for _ in range(B)])


def time_steps(
    name: str, size: str, B: int, T: int, device: torch.device, seconds: float, max_reps: int
) -> tuple[float, float]:
    """(mean seconds per training step, seconds of the warm-up step)."""
    torch.manual_seed(0)
    model = build_model(model_config(name, size, T)).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = synthetic_batch(B, T).to(device)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        model(batch, num_samples=1).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()

    return mean_seconds(step, device, seconds, max_reps)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quick", action="store_true", help="--seconds 1 --max-reps 3")
    p.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    p.add_argument("--models", nargs="+", default=list(model_names()), choices=list(model_names()))
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        help="sequences per batch [default: the preset's: paper 16, small 8]",
    )
    p.add_argument("--length", type=int, default=64, help="steps per sequence (JSB: ~60)")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--max-reps", type=int, default=20)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N)")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.seconds, args.max_reps = 1.0, 3
    device = torch.device(args.device)
    started = dt.datetime.now().astimezone()
    rows = [
        "| size | model | batch x T | ms / step | sequence steps / s |",
        "|---|---|---|---|---|",
    ]
    ratios = []
    for size in args.sizes:
        B = args.batch or preset(size, "music").train.batch_size
        times = {}
        for name in args.models:
            mean, _ = time_steps(name, size, B, args.length, device, args.seconds, args.max_reps)
            times[name] = mean
            rate = B * args.length / mean
            rows.append(
                f"| {size} | {name} | {B} x {args.length} | {mean * 1e3:,.1f} | {rate:,.0f} |"
            )
            print(
                f"{size:5s} {name:8s} {mean * 1e3:10.1f} ms/step {rate:10,.0f} steps/s",
                file=sys.stderr,
                flush=True,
            )
        if "iaf-scf" in times and "af-scf" in times:
            ratios.append(
                f"- {size}: IAF/SCF : AF/SCF time per training step = "
                f"{times['iaf-scf'] / times['af-scf']:.2f}"
            )
    report = "\n".join(
        [
            "# Training throughput (sequence steps per second, higher is better)",
            "",
            *report_head("bench_train.py", started, device),
            "- one step = forward (1 ELBO sample) + backward + clip 0.25 + Adam; random weights,"
            " synthetic 5%-density rolls of equal length",
            "",
            *rows,
            "",
            "Ratios measured in this run:",
            "",
            *ratios,
            "",
        ]
    )
    emit(report, args.out)


if __name__ == "__main__":
    main()
