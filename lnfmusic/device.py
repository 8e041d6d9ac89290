"""Where computation runs: resolving a device name, the processes of a data-parallel run
(PyTorch's own ``torch.distributed``, launched by ``torchrun``), and describing the machine
in words (for benchmarks and recorded results).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import torch
import torch.distributed as dist

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


@dataclass(frozen=True)
class Processes:
    """This process's place in a data-parallel run (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def main(self) -> bool:
        """The process that writes files and prints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise LnfError(f"environment variable {name}={value!r} is not an integer") from None


def launched_processes() -> Processes:
    """What ``torchrun`` (or any launcher setting its variables) says: ``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``; one process when they are unset."""
    world = _env_int("WORLD_SIZE", 1)
    return Processes(
        _env_int("RANK", 0),
        world,
        _env_int("LOCAL_RANK", 0),
        _env_int("LOCAL_WORLD_SIZE", world),
    )


def current_processes() -> Processes:
    """The processes of the initialised process group (one process when there is none)."""
    if dist.is_available() and dist.is_initialized():
        return Processes(
            dist.get_rank(),
            dist.get_world_size(),
            _env_int("LOCAL_RANK", dist.get_rank()),
            _env_int("LOCAL_WORLD_SIZE", dist.get_world_size()),
        )
    return Processes()


def start_processes(device: str, threads: int | None = None) -> tuple[Processes, str]:
    """Join the process group a launcher (``torchrun``) set up, if any, and pick this
    process's device: on CUDA ``cuda:LOCAL_RANK`` with the ``nccl`` backend, on CPU ``gloo``
    with ``threads`` torch threads (default: ``OMP_NUM_THREADS`` where set, as torchrun sets
    it to 1; else the cores divided among the processes of this machine). ``device`` is a
    resolved device (:func:`resolve_device`); under a launcher ``cuda`` means each
    process's own GPU. One process: nothing to join, ``device`` as it is. Returns the
    processes and the device to use."""
    procs = launched_processes()
    if not procs.distributed:
        return procs, device
    if not dist.is_available():
        raise LnfError("this torch build has no torch.distributed; run one process")
    if device.startswith("cuda"):
        if procs.local_rank >= torch.cuda.device_count():
            raise LnfError(
                f"LOCAL_RANK {procs.local_rank} but only {torch.cuda.device_count()} CUDA "
                f"device(s) on this machine: use --nproc_per_node <= the GPU count"
            )
        device, backend = f"cuda:{procs.local_rank}", "nccl"
        torch.cuda.set_device(device)
    else:
        device, backend = "cpu", "gloo"
        if threads is not None:
            torch.set_num_threads(threads)
        elif not os.environ.get("OMP_NUM_THREADS"):
            cores = os.cpu_count() or 1
            torch.set_num_threads(max(1, cores // max(procs.local_world_size, 1)))
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return current_processes(), device


def stop_processes(wait: bool = False) -> None:
    """Leave the process group (if one was joined); ``wait``: first wait until every process
    is here (after work that ended normally), so that none tears its connections down while
    another still uses them."""
    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()
