"""Generation: draw T from p(T), then ``eps -> z -> x`` (or the LSTM's ancestral sampler).

Sample ``i`` of a call with ``seed`` uses its own generator seeded ``seed + i``, so any one
sample can be reproduced alone (``--seed seed+i --num 1``) and the seeds can be recorded.

References:
    Ziegler & Rush (2019), Section 5 (generation) and Figure 7.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import lnfmusic
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.errors import LnfError

DEFAULT_NAME = "default.pt"


def default_checkpoint_path() -> Path:
    """The shipped default model: ``$LNF_MODEL_DIR/default.pt``, else the repository's
    ``models/default.pt``, else ``./models/default.pt``."""
    candidates = []
    env = os.environ.get("LNF_MODEL_DIR")
    if env:
        candidates.append(Path(env) / DEFAULT_NAME)
    candidates.append(Path(lnfmusic.__file__).resolve().parents[1] / "models" / DEFAULT_NAME)
    candidates.append(Path("models") / DEFAULT_NAME)
    for path in candidates:
        if path.is_file():
            return path
    raise LnfError(
        "no default model found (looked for "
        + ", ".join(str(p) for p in candidates)
        + "); pass --checkpoint or set LNF_MODEL_DIR"
    )


def checkpoint_kind(ckpt: dict[str, Any]) -> str:
    """``"music"`` or ``"text"``, from the checkpoint's dataset record."""
    try:
        return str(ckpt["dataset"]["kind"])
    except (KeyError, TypeError):
        return str(ckpt.get("config", {}).get("model", {}).get("data_kind", "music"))


def require_kind(ckpt: dict[str, Any], kind: str, path: str | Path | None = None) -> None:
    """Raise a one-line :class:`LnfError` unless the checkpoint models ``kind`` data."""
    found = checkpoint_kind(ckpt)
    if found != kind:
        what = "`lnf sample` (music)" if kind == "music" else "`lnf text-sample`"
        other = "lnf text-sample" if found == "text" else "lnf sample"
        raise LnfError(
            f"this is a {found} checkpoint; {what} needs a {kind} model (use `{other}`)", path
        )


def _device_of(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _lengths(ckpt: dict[str, Any], num: int, length: int | None, seed: int) -> list[int]:
    """``num`` lengths: ``length`` for all, or sample ``i`` drawn from p(T) under ``seed + i``."""
    if length is not None:
        if length < 1:
            raise LnfError(f"--length must be at least 1 (got {length})")
        return [length] * num
    prior = LengthPrior.from_dict(ckpt["dataset"]["length_prior"])
    out = []
    for i in range(num):
        g = torch.Generator().manual_seed(seed + i)
        out.append(int(prior.sample(1, generator=g)[0]))
    return out


@torch.no_grad()
def _generate(
    model: nn.Module,
    ckpt: dict[str, Any],
    kind: str,
    num: int,
    length: int | None,
    temperature: float,
    threshold: float | None,
    seed: int,
) -> list[np.ndarray]:
    if num < 1:
        raise LnfError(f"--num must be at least 1 (got {num})")
    if temperature <= 0:
        raise LnfError(f"--temperature must be positive (got {temperature})")
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise LnfError(f"--threshold must be between 0 and 1 (got {threshold})")
    require_kind(ckpt, kind)
    device = _device_of(model)
    was_training = model.training
    model.eval()
    out = []
    try:
        for i, T in enumerate(_lengths(ckpt, num, length, seed)):
            g = torch.Generator(device=device).manual_seed(seed + i)
            lengths = torch.tensor([T], dtype=torch.long, device=device)
            x = model.generate(lengths, temperature=temperature, threshold=threshold, generator=g)
            out.append(x[0, :T].cpu().numpy())
    finally:
        model.train(was_training)
    return out


def sample_music(
    model: nn.Module,
    ckpt: dict[str, Any],
    num: int = 1,
    length: int | None = None,
    temperature: float = 1.0,
    threshold: float | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> list[np.ndarray]:
    """``num`` piano rolls, each ``(T_i, 88)`` uint8 (pitch ``21 + k`` in column ``k``).

    ``T_i`` is drawn from the checkpoint's p(T) unless ``length`` is given; notes are
    Bernoulli draws (or ``p > threshold``); ``temperature`` scales the prior's base noise
    (the LSTM baseline divides its logits by it). Generation runs on ``device`` (the model
    is moved there) or, when it is None, on the model's device.
    """
    if device is not None:
        model.to(device)
    rolls = _generate(model, ckpt, "music", num, length, temperature, threshold, seed)
    return [r.astype(np.uint8) for r in rolls]


def decode_text(ids: np.ndarray, meta: dict[str, Any]) -> str:
    """Ids ``(T,)`` to readable text with the checkpoint's vocabulary (PTB ``_`` -> space;
    the unknown-character symbol, if any, -> U+FFFD so one id stays one character)."""
    from lnfmusic.data.text import Vocabulary, to_text

    vocab = meta["vocab"]
    vocab = Vocabulary.from_dict(vocab) if isinstance(vocab, dict) else Vocabulary(list(vocab))
    chars = vocab.decode(ids)
    if vocab.unk is not None:
        chars = ["\ufffd" if int(i) == vocab.unk else c for i, c in zip(ids, chars, strict=True)]
    return to_text(chars, meta.get("word_boundary"))


def sample_text(
    model: nn.Module,
    ckpt: dict[str, Any],
    num: int = 1,
    length: int | None = None,
    temperature: float = 1.0,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> list[str]:
    """``num`` strings decoded with the checkpoint's vocabulary; lengths from p(T) unless
    ``length`` is given."""
    if device is not None:
        model.to(device)
    seqs = _generate(model, ckpt, "text", num, length, temperature, None, seed)
    meta = ckpt["dataset"]["meta"]
    return [decode_text(s, meta) for s in seqs]
