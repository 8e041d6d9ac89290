"""The encoder's bidirectional LSTM on batches of unequal lengths: the packed ``nn.LSTM``
(``pack_padded_sequence``) against :func:`lnfmusic.nn.sequence.run_bilstm` (each layer and
direction unpacked on padded inputs), forward + backward, same weights, same batch.

On a CPU a packed LSTM whose sequences differ in length falls back to a per-step loop whose
backward pass grows faster than linearly in T; the long music sets (Piano-midi, MuseData,
pieces of up to ~4,000 steps) made that the whole cost of training. The headline is the
packed : unpacked time ratio per length, measured in the same run.

    python benchmarks/bench_bilstm.py --quick
    python benchmarks/bench_bilstm.py --threads 1 --out results/bilstm_benchmark_cpu.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from timing import emit, mean_seconds, report_head
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lnfmusic.nn.sequence import run_bilstm


def packed(lstm: nn.LSTM, x: Tensor, lengths: Tensor) -> Tensor:
    """The reference: the packed bidirectional LSTM, padded back to ``x``'s length."""
    seq = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = lstm(seq)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


def time_pass(
    run: Callable[[nn.LSTM, Tensor, Tensor], Tensor],
    lstm: nn.LSTM,
    x: Tensor,
    lengths: Tensor,
    device: torch.device,
    seconds: float,
    max_reps: int,
) -> float:
    """Mean seconds of one forward + backward pass (after one warm-up pass)."""

    def once() -> None:
        lstm.zero_grad(set_to_none=True)
        run(lstm, x, lengths).square().sum().backward()

    return mean_seconds(once, device, seconds, max_reps)[0]


def spread_lengths(B: int, T: int) -> Tensor:
    """``B`` lengths spread evenly from ``T // 4`` to ``T`` (a batch of unequal pieces)."""
    return torch.linspace(max(1, T // 4), T, B).round().long()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quick", action="store_true", help="--lengths 64 256 --seconds 0.5")
    p.add_argument("--lengths", type=int, nargs="+", default=[64, 256, 1024, 2048])
    p.add_argument("--batch", type=int, default=8, help="sequences per batch (small: 8)")
    p.add_argument("--input", type=int, default=128, help="input width (small: 128)")
    p.add_argument("--hidden", type=int, default=128, help="hidden units (small: 128)")
    p.add_argument("--layers", type=int, default=2, help="LSTM layers (small: 2)")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--max-reps", type=int, default=10)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N)")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.lengths, args.seconds, args.max_reps = [64, 256], 0.5, 2
    device = torch.device(args.device)
    started = dt.datetime.now().astimezone()
    torch.manual_seed(0)
    lstm = nn.LSTM(args.input, args.hidden, args.layers, batch_first=True, bidirectional=True)
    lstm = lstm.to(device)
    rows = [
        "| longest T | lengths | packed ms | unpacked ms | packed : unpacked |",
        "|---|---|---|---|---|",
    ]
    for T in args.lengths:
        lengths = spread_lengths(args.batch, T)
        x = torch.randn(args.batch, T, args.input, device=device)
        mask = (torch.arange(T) < lengths[:, None]).to(device)
        x = x * mask[..., None]
        # the same function: a benchmark of the wrong thing is worse than none
        diff = (packed(lstm, x, lengths) - run_bilstm(lstm, x, lengths)).abs().max().item()
        if diff > 1e-4:
            raise SystemExit(f"run_bilstm differs from the packed LSTM by {diff:.2e} at T = {T}")
        t_packed = time_pass(packed, lstm, x, lengths, device, args.seconds, args.max_reps)
        t_ours = time_pass(run_bilstm, lstm, x, lengths, device, args.seconds, args.max_reps)
        span = f"{int(lengths.min())}..{int(lengths.max())}"
        rows.append(
            f"| {T} | {span} | {t_packed * 1e3:,.1f} | {t_ours * 1e3:,.1f} "
            f"| {t_packed / t_ours:.1f} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    report = "\n".join(
        [
            "# Bidirectional LSTM on unequal lengths: packed against unpacked (`run_bilstm`)",
            "",
            *report_head("bench_bilstm.py", started, device),
            f"- one pass = forward + backward of a {args.layers}-layer bidirectional LSTM"
            f" ({args.input} -> {args.hidden} per direction), batch {args.batch}, lengths"
            " spread evenly from T/4 to T; outputs checked equal first",
            "",
            "Times and ratios measured in this run:",
            "",
            *rows,
            "",
        ]
    )
    emit(report, args.out)


if __name__ == "__main__":
    main()
