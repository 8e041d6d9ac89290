"""Checkpoints: one dict of plain types and tensors, written atomically.

Loadable with ``torch.load(path, weights_only=True)``. Layout::

    {"format": "lnfmusic-checkpoint", "version", "config": RunConfig dict,
     "dataset": {"name", "kind", "meta", "length_prior"}, "model": state_dict,
     "optimizer", "schedule", "epoch", "step", "best_valid", "rng"}
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lnfmusic import __version__
from lnfmusic.config import RunConfig
from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import atomic_path

FORMAT = "lnfmusic-checkpoint"


def rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "cached": cached},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus format and version fields) atomically to ``path``."""
    state = {"format": FORMAT, "version": __version__, **state}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint; any other file gives a one-line :class:`LnfError`."""
    path = Path(path)
    if not path.is_file():
        raise LnfError("checkpoint not found", path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError,
            OSError, AttributeError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LnfError(f"not a readable lnfmusic checkpoint ({first[:120]})", path) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise LnfError("not an lnfmusic checkpoint (no 'format: lnfmusic-checkpoint' field)", path)
    return ckpt


def load_model(path: str | Path, device: str | torch.device = "cpu"):
    """Rebuild the model stored in a checkpoint; returns ``(model, checkpoint)`` in eval mode."""
    from lnfmusic.model.build import build_model

    ckpt = load_checkpoint(path, device)
    try:
        cfg = RunConfig.from_dict(ckpt["config"])
        model = build_model(cfg.model)
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        first = str(e).strip().splitlines()[0][:160]
        raise LnfError(f"checkpoint does not match this version's models ({first})", path) from None
    return model.to(device).eval(), ckpt
