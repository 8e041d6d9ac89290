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

import lnfmusic
from lnfmusic.checkpoint import ModelBundle
from lnfmusic.config import SampleConfig
from lnfmusic.errors import LnfError

DEFAULT_NAME = "default.pt"
DEFAULT_NAMES = {"music": DEFAULT_NAME, "text": "default-text.pt"}


def default_checkpoint_path(kind: str = "music") -> Path:
    """The shipped default model of ``kind`` (``default.pt`` for music, ``default-text.pt``
    for text): in ``$LNF_MODEL_DIR``, else the repository's ``models/``, else ``./models/``."""
    name = DEFAULT_NAMES[kind]
    candidates = []
    env = os.environ.get("LNF_MODEL_DIR")
    if env:
        candidates.append(Path(env) / name)
    candidates.append(Path(lnfmusic.__file__).resolve().parents[1] / "models" / name)
    candidates.append(Path("models") / name)
    for path in candidates:
        if path.is_file():
            return path
    raise LnfError(
        "no default model found (looked for "
        + ", ".join(str(p) for p in candidates)
        + "); pass a checkpoint or set LNF_MODEL_DIR"
    )


def require_kind(bundle: ModelBundle, kind: str) -> None:
    """Raise a one-line :class:`LnfError` (naming the checkpoint) unless the model was
    trained on ``kind`` data."""
    found = bundle.dataset.kind
    if found != kind:
        what = "`lnf sample` (music)" if kind == "music" else "`lnf text-sample`"
        other = "lnf text-sample" if found == "text" else "lnf sample"
        raise LnfError(
            f"this is a {found} checkpoint; {what} needs a {kind} model (use `{other}`)",
            bundle.path,
        )


def sample_lengths(bundle: ModelBundle, config: SampleConfig) -> list[int]:
    """``config.num`` lengths: ``config.length`` for all, or sample ``i`` drawn from p(T)
    under seed ``config.seed + i``."""
    if config.length is not None:
        return [config.length] * config.num
    out = []
    for i in range(config.num):
        g = torch.Generator().manual_seed(config.seed + i)
        out.append(int(bundle.dataset.length_prior.sample(1, generator=g)[0]))
    return out


@torch.no_grad()
def generate(bundle: ModelBundle, config: SampleConfig, kind: str) -> list[np.ndarray]:
    """``config.num`` sequences from ``bundle.model`` on its device (checked to be a ``kind``
    model): music ``(T_i, 88)`` uint8, text ``(T_i,)`` ids. Sample ``i`` uses its own
    generator seeded ``config.seed + i``; the model's mode is restored afterwards."""
    config.validate()
    require_kind(bundle, kind)
    model = bundle.model
    limit = model.max_generate_length
    if config.length is not None and limit is not None and config.length > limit:
        raise LnfError(
            f"length {config.length} is beyond the {limit} steps this "
            f"{bundle.config.model.name} model can generate (its factorised base has one "
            "table row per step of the longest training sequence)",
            bundle.path,
        )
    device = model.device
    was_training = model.training
    model.eval()
    out = []
    try:
        for i, T in enumerate(sample_lengths(bundle, config)):
            g = torch.Generator(device=device).manual_seed(config.seed + i)
            lengths = torch.tensor([T], dtype=torch.long, device=device)
            x = model.generate(
                lengths, temperature=config.temperature, threshold=config.threshold, generator=g
            )
            out.append(x[0, :T].cpu().numpy())
    finally:
        model.train(was_training)
    return out


def sample_music(bundle: ModelBundle, config: SampleConfig | None = None) -> list[np.ndarray]:
    """``config.num`` piano rolls, each ``(T_i, 88)`` uint8 (pitch ``21 + k`` in column
    ``k``).

    ``T_i`` is drawn from the checkpoint's p(T) unless ``config.length`` is given; notes are
    Bernoulli draws (or ``p > threshold``); ``temperature`` scales the prior's base noise
    (the LSTM baseline divides its logits by it). Runs on the model's device.
    """
    rolls = generate(bundle, config or SampleConfig(), "music")
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


def sample_text(bundle: ModelBundle, config: SampleConfig | None = None) -> list[str]:
    """``config.num`` strings decoded with the checkpoint's vocabulary; lengths from p(T)
    unless ``config.length`` is given. ``config.threshold`` must be None for text."""
    config = config or SampleConfig()
    if config.threshold is not None:
        raise LnfError("threshold applies to music only (text samples are categorical)")
    seqs = generate(bundle, config, "text")
    return [decode_text(s, bundle.dataset.meta) for s in seqs]
