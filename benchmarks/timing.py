"""What the benchmark scripts share: timing a callable, and the head and output of a
report (imported as ``timing`` when a script runs as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import datetime as dt
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from lnfmusic.device import describe_device, synchronize
from lnfmusic.io.atomic import write_text_atomic


def mean_seconds(
    fn: Callable[[], object], device: torch.device, seconds: float, max_reps: int
) -> tuple[float, float]:
    """(mean seconds of ``fn()`` over as many repetitions as fit in ``seconds``, between 1
    and ``max_reps``; seconds of the first, warm-up call, which is not in the mean)."""
    synchronize(device)
    t0 = time.perf_counter()
    fn()
    synchronize(device)
    first = time.perf_counter() - t0
    reps = max(1, min(max_reps, int(seconds / max(first, 1e-6))))
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    synchronize(device)
    return (time.perf_counter() - t0) / reps, first


def report_head(script: str, started: dt.datetime, device: torch.device) -> list[str]:
    """The command as run, the date, the device and the software: the first lines of every
    report."""
    return [
        f"- command: `python {' '.join([f'benchmarks/{script}', *sys.argv[1:]])}`",
        f"- date: {started:%Y-%m-%d %H:%M %Z}",
        f"- device: {describe_device(device)}",
        f"- torch {torch.__version__}, Python {platform.python_version()}",
    ]


def emit(report: str, out: Path | None) -> None:
    """Print ``report``; write it to ``out`` too, when given."""
    print(report)
    if out is not None:
        write_text_atomic(out, report)
