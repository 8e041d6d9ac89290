"""The state of a training run — model, optimizer, plateau schedule, counters, RNG states —
and its round trip through a checkpoint, so that a resumed run continues exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lnfmusic.checkpoint import DatasetInfo
from lnfmusic.config import RunConfig
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


@dataclass
class TrainState:
    """What a checkpoint must hold to continue a run: epoch epochs and step
    optimizer steps done, seconds of training wall time before this process."""

    model: SequenceModel
    optimizer: torch.optim.Optimizer
    schedule: PlateauSchedule
    epoch: int = 0
    step: int = 0
    seconds: float = 0.0

    @classmethod
    def create(cls, config: RunConfig, device: str | torch.device) -> TrainState:
        """A fresh run: every RNG seeded from config.train.seed, then the model built."""
        tc = config.train
        torch.manual_seed(tc.seed)
        np.random.seed(tc.seed % 2**32)
        random.seed(tc.seed)
        model = build_model(config.model).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        return cls(model, optimizer, PlateauSchedule(lr=tc.lr))

    def load(self, ckpt: dict[str, Any]) -> None:
        """Continue from a checkpoint written by :meth:`checkpoint` (RNG states included)."""
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.schedule = PlateauSchedule(**ckpt.get("scheduler", ckpt.get("schedule")))
        self.epoch, self.step = int(ckpt["epoch"]), int(ckpt["step"])
        self.seconds = float(ckpt.get("seconds", 0.0))
        set_rng_state(ckpt["rng"])

    def checkpoint(self, config: RunConfig, dataset: DatasetInfo, seconds: float) -> dict[str, Any]:
        """The checkpoint dict (plain types and tensors) of this state after seconds of
        cumulative training time."""
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
            "rng": rng_state(),
        }
