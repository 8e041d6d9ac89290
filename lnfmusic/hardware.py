"""The machine a number was measured on, in words (for benchmarks and results)."""

from __future__ import annotations

import os
import platform

import torch


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
