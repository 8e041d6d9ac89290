"""Checkpoints: one dict of plain types and tensors, written atomically.

Loadable with ``torch.load(path, weights_only=True)`` (only tensors, dicts, lists, str,
int, float, bool and None inside). Layout::

    {"format": "lnfmusic-checkpoint", "version": package version, "config": RunConfig dict,
     "dataset": {"name", "kind", "meta", "length_prior"}, "model": state_dict,
     "optimizer": state_dict, "scheduler": PlateauSchedule dict, "epoch": epochs done,
     "step": optimizer steps, "best_valid": best validation nats/step,
     "seconds": cumulative training wall time,
     "rng": {"torch", "numpy", "python"[, "cuda"]}}
"""

from __future__ import annotations

import pickle
import random
import warnings
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
        with warnings.catch_warnings():  # torch warns about pickle protocols of foreign files
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        zipfile.BadZipFile,
        ValueError,
        OSError,
        AttributeError,
        TypeError,
    ) as e:
        raise LnfError(f"not a readable lnfmusic checkpoint ({_load_failure(e)})", path) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise LnfError("not an lnfmusic checkpoint (no 'format: lnfmusic-checkpoint' field)", path)
    return ckpt


def _load_failure(e: Exception) -> str:
    """A short reason from torch.load's (often very long) exception."""
    text = str(e).strip()
    if text.startswith("Weights only load failed"):
        # torch's advice to use weights_only=False does not apply: say what was found
        detail = text.split("WeightsUnpickler error:", 1)[-1].strip().splitlines()
        reason = detail[0].strip() if detail and detail[0].strip() else "unsupported content"
        return f"it is not a plain tensor checkpoint: {reason}"
    return text.splitlines()[0][:120] if text else type(e).__name__


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[Any, dict[str, Any]]:
    """Rebuild the model stored in a checkpoint from its config; returns
    ``(model, checkpoint)`` with the model on ``device`` in eval mode."""
    from lnfmusic.model.build import build_model

    ckpt = load_checkpoint(path, "cpu")
    try:
        cfg = RunConfig.from_dict(ckpt["config"])
        model = build_model(cfg.model)
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        first = str(e).strip().splitlines()[0][:160]
        raise LnfError(f"checkpoint does not match this version's models ({first})", path) from None
    return model.to(device).eval(), ckpt


def export_checkpoint(src: str | Path, dst: str | Path, half: bool = False) -> dict[str, Any]:
    """Write a sampling/evaluation-only copy of a checkpoint: no optimizer or RNG state,
    optionally with float16 weights (restored to float32 when loaded). Returns the new dict."""
    ckpt = load_checkpoint(src)
    weights = {
        k: (v.half() if half and v.is_floating_point() else v) for k, v in ckpt["model"].items()
    }
    keep = ("config", "dataset", "epoch", "step", "best_valid")
    state = {k: ckpt[k] for k in keep if k in ckpt}
    state.update(
        model=weights, exported_from=str(src), weights_dtype="float16" if half else "float32"
    )
    save_checkpoint(dst, state)
    return state
