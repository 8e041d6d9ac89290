"""The state of a training run — model, optimizer, plateau schedule, counters, RNG states —
and its round trip through a checkpoint, so that a resumed run continues exactly."""

from __future__ import annotations

import inspect
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from lnfmusic.checkpoint import DatasetInfo
from lnfmusic.config import RunConfig
from lnfmusic.device import Processes
from lnfmusic.model.base import SequenceModel
from lnfmusic.model.registry import build_model
from lnfmusic.train.schedule import PlateauSchedule


def rng_state() -> dict[str, Any]:
    """The torch, numpy and python RNG states (and CUDA's, when present) as plain types and
    tensors, so that ``torch.load(weights_only=True)`` can read them back."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, mt, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {
            "version": int(version),
            "state": torch.tensor(mt, dtype=torch.int64),
            "gauss": gauss,
        },
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states saved by :func:`rng_state` (CUDA's only where available)."""
    torch.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    np.random.set_state(
        (
            n["kind"],
            n["keys"].cpu().numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached"],
        )
    )
    if "python" in state:
        p = state["python"]
        random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def rank_seed(seed: int, rank: int) -> int:
    """The RNG seed of process ``rank`` of a data-parallel run (rank 0: ``seed`` itself), so
    that posterior noise and dropout differ between processes."""
    return seed if rank == 0 else (seed * 1_000_003 + 7919 * rank) % 2**63


def gather_rng_states(procs: Processes) -> list[dict[str, Any]]:
    """Every process's RNG states, in rank order (a collective call when distributed)."""
    mine = rng_state()
    if not procs.distributed:
        return [mine]
    states: list[Any] = [None] * procs.world_size
    dist.all_gather_object(states, mine)
    return states


@dataclass
class TrainState:
    """What a checkpoint must hold to continue a run: ``epoch`` epochs and ``step``
    optimizer steps done, ``seconds`` of training wall time before this process.
    ``module`` is what training calls: the model itself, or its
    ``DistributedDataParallel`` wrapper (:meth:`wrap`)."""

    model: SequenceModel
    optimizer: torch.optim.Optimizer
    schedule: PlateauSchedule
    epoch: int = 0
    step: int = 0
    seconds: float = 0.0
    module: nn.Module | None = None

    @classmethod
    def create(
        cls, config: RunConfig, device: str | torch.device, procs: Processes | None = None
    ) -> TrainState:
        """A fresh run: every RNG seeded from ``config.train.seed``, then the model built
        (the same initial model on every process); then, in a data-parallel run, each
        process's RNGs move to its own :func:`rank_seed`."""
        tc = config.train
        _seed_all(tc.seed)
        model = build_model(config.model).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        if procs is not None and procs.distributed:
            _seed_all(rank_seed(tc.seed, procs.rank))
        return cls(model, optimizer, PlateauSchedule(lr=tc.lr), module=model)

    def wrap(self, procs: Processes, device: str | torch.device) -> None:
        """Train through ``DistributedDataParallel`` when several processes train together
        (gradients averaged in backward); the checkpointed weights stay the bare model's."""
        if not procs.distributed:
            self.module = self.model
            return
        device = torch.device(device)
        # On CPUs, gloo's threads share the cores with the backward pass, so overlapping the
        # two only slows both: one bucket for all gradients, reduced after backward (2-core
        # CPU, small preset: 1.74x vs 1.64x with 25 MB buckets). GPUs keep DDP's default.
        size_mb = sum(p.numel() * p.element_size() for p in self.model.parameters()) / 2**20
        bucket_mb = 25.0 if device.type == "cuda" else size_mb + 1.0
        # the only buffers are constant masks: never re-sent (the argument's name changed)
        no_buffer_sync = (
            {"forward_sync_buffers": False}
            if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
            else {"broadcast_buffers": False}
        )
        self.module = DistributedDataParallel(
            self.model,
            device_ids=[device.index] if device.type == "cuda" else None,
            gradient_as_bucket_view=True,  # gradients live in the all-reduce buckets: no copy
            bucket_cap_mb=bucket_mb,
            **no_buffer_sync,
        )

    def load(self, ckpt: dict[str, Any], procs: Processes | None = None) -> bool:
        """Continue from a checkpoint written by :meth:`checkpoint`, RNG states included.
        Returns whether the continuation is exact: it is unless the checkpoint came from a
        run with another number of processes (the other processes then reseed)."""
        procs = procs or Processes()
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.schedule = PlateauSchedule(**ckpt.get("scheduler", ckpt.get("schedule")))
        self.epoch, self.step = int(ckpt["epoch"]), int(ckpt["step"])
        self.seconds = float(ckpt.get("seconds", 0.0))
        ranks = ckpt.get("rng_ranks") or [ckpt["rng"]]
        if len(ranks) == procs.world_size:
            set_rng_state(ranks[procs.rank])
            return True
        if procs.main:
            set_rng_state(ckpt["rng"])
        else:
            _seed_all(rank_seed(int(ckpt["config"]["train"]["seed"]) + self.epoch, procs.rank))
        return False

    def checkpoint(
        self,
        config: RunConfig,
        dataset: DatasetInfo,
        seconds: float,
        rngs: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The checkpoint dict (plain types and tensors) of this state after ``seconds`` of
        cumulative training time; ``rngs``: every process's RNG states
        (:func:`gather_rng_states`; default: this process's)."""
        rngs = rngs or [rng_state()]
        extra = {"rng_ranks": rngs} if len(rngs) > 1 else {}
        return {
            "config": config.to_dict(),
            "dataset": dataset.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "best_valid": self.schedule.best,
            "seconds": seconds,
            "rng": rngs[0],
            "world_size": len(rngs),
            **extra,
        }
