"""Generation time against sequence length (the paper's Figure 7).

Times ``model.generate`` for ``iaf-scf``, ``af-scf``, ``af-af`` and the ``lstm`` baseline at
lengths T = 16, 32, ..., 1024 and batch sizes 1 and 64, with randomly initialised models of
a preset's size (timing does not depend on the weights). Each point is the mean of ``--runs``
timed runs after one warm-up, with a 95% t-interval. IAF/SCF is parallel over time when
sampling; AF priors and the LSTM are serial in T.

To keep a CPU run bounded, a (model, batch) series stops growing T once one run takes longer
on average than ``--max-run-seconds`` (the skipped points are listed) — except the two points of the
headline ratio (IAF/SCF and LSTM at the longest length, batch 1), which are always measured.

    python benchmarks/bench_generate.py                 # small models, results/ JSON + PNG
    python benchmarks/bench_generate.py --size paper --device cuda
    python benchmarks/bench_generate.py --quick         # a smoke run in seconds

References:
    Ziegler & Rush (2019), Section 6.3 and Figure 7.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from lnfmusic.config import preset
from lnfmusic.device import describe_device, resolve_device
from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import atomic_path, write_text_atomic
from lnfmusic.model.registry import build_model

MODELS = ("iaf-scf", "af-scf", "af-af", "lstm", "df-bipartite", "df-ar")
LENGTHS = tuple(16 * 2**k for k in range(7))  # 16 .. 1024
BATCHES = (1, 64)
RESULTS = Path(__file__).resolve().parents[1] / "results"


def build(model: str, size: str, max_length: int, device: str) -> torch.nn.Module:
    """A randomly initialised music model of the ``size`` preset (in eval mode)."""
    cfg = preset(size, "music", model).model
    cfg.data_kind, cfg.output_dim, cfg.max_length = "music", 88, max_length
    torch.manual_seed(0)
    return build_model(cfg).to(device).eval()


def t_quantile(n: int) -> float:
    """The 97.5% quantile of Student's t with ``n - 1`` degrees of freedom."""
    try:
        from scipy.stats import t

        return float(t.ppf(0.975, n - 1))
    except ImportError:  # the normal approximation
        return 1.96


@torch.no_grad()
def time_generate(
    model: torch.nn.Module, T: int, batch: int, runs: int, device: str
) -> list[float]:
    """Wall-clock seconds of ``runs`` calls to ``generate`` (after one warm-up call)."""
    lengths = torch.full((batch,), T, dtype=torch.long, device=device)
    g = torch.Generator(device=device).manual_seed(0)
    cuda = device.startswith("cuda")
    times = []
    for i in range(runs + 1):
        if cuda:
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        model.generate(lengths, generator=g)
        if cuda:
            torch.cuda.synchronize(device)
        if i > 0:
            times.append(time.perf_counter() - t0)
    return times


def summarise(times: list[float]) -> dict[str, Any]:
    mean = statistics.fmean(times)
    sd = statistics.stdev(times) if len(times) > 1 else 0.0
    half = t_quantile(len(times)) * sd / math.sqrt(len(times)) if len(times) > 1 else 0.0
    return {
        "mean_s": mean,
        "ci95_low_s": mean - half,
        "ci95_high_s": mean + half,
        "sd_s": sd,
        "runs": len(times),
        "times_s": times,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    device = resolve_device(args.device)
    lengths = [T for T in LENGTHS if T <= args.max_length]
    if not lengths:
        raise LnfError(f"--max-length {args.max_length} is below the shortest length 16")
    longest = lengths[-1]
    print(f"device: {describe_device(device)}", flush=True)
    print(
        f"models: {', '.join(args.models)}; size {args.size}; lengths {lengths}; "
        f"batches {list(args.batches)}; {args.runs} runs each",
        flush=True,
    )
    points: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for name in args.models:
        model = build(name, args.size, longest, device)
        for batch in args.batches:
            too_slow = False
            for T in lengths:
                headline = batch == 1 and T == longest and name in ("iaf-scf", "lstm")
                if too_slow and not headline:
                    skipped.append({"model": name, "batch": batch, "length": T})
                    continue
                stats = summarise(time_generate(model, T, batch, args.runs, device))
                points.append({"model": name, "batch": batch, "length": T, **stats})
                print(
                    f"  {name:8s} batch {batch:3d}  T {T:5d}  {stats['mean_s'] * 1e3:10.2f} ms "
                    f"[{stats['ci95_low_s'] * 1e3:.2f}, {stats['ci95_high_s'] * 1e3:.2f}]",
                    flush=True,
                )
                too_slow = too_slow or stats["mean_s"] > args.max_run_seconds
        del model
    result: dict[str, Any] = {
        "benchmark": "generation time vs length (Ziegler & Rush 2019, Figure 7)",
        "device": describe_device(device),
        "device_name": device,
        "size": args.size,
        "runs": args.runs,
        "lengths": lengths,
        "batches": list(args.batches),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "max_run_seconds": args.max_run_seconds,
        "points": points,
        "skipped": skipped,
    }
    ratio = headline_ratio(points, longest)
    result["ratio_lstm_over_iaf_scf"] = ratio
    if ratio is not None:
        print(
            f"IAF/SCF vs LSTM at T={longest}, batch 1: IAF/SCF is {ratio:.2f}x "
            f"{'faster' if ratio >= 1 else 'slower'} (LSTM time / IAF-SCF time)",
            flush=True,
        )
    return result


def headline_ratio(points: list[dict[str, Any]], T: int) -> float | None:
    """LSTM mean time / IAF-SCF mean time at length ``T``, batch 1 (> 1: IAF/SCF faster)."""
    mean = {p["model"]: p["mean_s"] for p in points if p["batch"] == 1 and p["length"] == T}
    if "iaf-scf" in mean and "lstm" in mean:
        return mean["lstm"] / mean["iaf-scf"]
    return None


def plot(result: dict[str, Any], path: Path) -> bool:
    """Mean time against length with 95% intervals, one panel per batch size."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'lnfmusic[plot]')")
        return False
    batches = result["batches"]
    fig, axes = plt.subplots(1, len(batches), figsize=(5 * len(batches), 4), squeeze=False)
    for ax, batch in zip(axes[0], batches, strict=True):
        for name in dict.fromkeys(p["model"] for p in result["points"]):
            pts = sorted(
                (p for p in result["points"] if p["model"] == name and p["batch"] == batch),
                key=lambda p: p["length"],
            )
            if not pts:
                continue
            x = [p["length"] for p in pts]
            y = [p["mean_s"] for p in pts]
            # a log axis cannot show a lower bound <= 0: clip the bar just above zero
            lo = [min(p["mean_s"] - p["ci95_low_s"], 0.99 * p["mean_s"]) for p in pts]
            hi = [p["ci95_high_s"] - p["mean_s"] for p in pts]
            ax.errorbar(x, y, yerr=[lo, hi], marker="o", capsize=3, label=name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("length T")
        ax.set_ylabel("generation time (s)")
        ax.set_title(f"batch {batch}")
        ax.legend()
    fig.suptitle(f"{result['device']} — {result['size']} models", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return True


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--size",
        choices=("paper", "small", "tiny"),
        default="small",
        help="model sizes: a preset's (default small)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--runs", type=int, default=10, help="timed runs per point (default 10)")
    p.add_argument("--max-length", type=int, default=1024, help="longest T (default 1024)")
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    p.add_argument(
        "--max-run-seconds",
        type=float,
        default=1.0,
        help="stop lengthening a series once its mean run time exceeds this (default 1)",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        default=RESULTS,
        help="where bench_generate.json/.png go (default: the repository's results/)",
    )
    p.add_argument("--name", default="bench_generate", help="file name stem of the outputs")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: T up to 64, 3 runs, tiny models"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.max_length, args.runs, args.size = min(args.max_length, 64), 3, "tiny"
    if args.runs < 2:
        p.error("--runs must be at least 2 (for an interval)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
    except LnfError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    json_path = args.out_dir / f"{args.name}.json"
    write_text_atomic(json_path, json.dumps(result, indent=2) + "\n")
    print(f"wrote {json_path}")
    png = args.out_dir / f"{args.name}.png"
    if plot(result, png):
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
