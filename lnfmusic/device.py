"""Where computation runs: resolving a device name, and describing the machine in words
(for benchmarks and recorded results).

Process-group set-up for data-parallel training belongs here too, beside device choice.
"""

from __future__ import annotations

import os
import platform

import torch

from lnfmusic.errors import LnfError

DEVICE_NAMES = "auto, cpu or cuda[:N]"


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` if available, else ``cpu``; ``cpu``; ``cuda`` or ``cuda:N``
    (checked against the devices present). Anything else is an :class:`LnfError`."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise LnfError(f"device {name!r}: CUDA is not available on this machine")
        if ":" in name:
            idx = name.split(":", 1)[1]
            if not idx.isdigit() or int(idx) >= torch.cuda.device_count():
                raise LnfError(f"device {name!r}: no such CUDA device")
        return name
    raise LnfError(f"device {name!r}: expected {DEVICE_NAMES}")


def describe_device(device: str | torch.device) -> str:
    """GPU name, or CPU model, core count and torch threads."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} ({device})"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"CPU {cpu}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"


def synchronize(device: str | torch.device) -> None:
    """Wait for queued GPU work so a timer measures it (no-op on CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
