"""Generation: draw T from p(T), then ``eps -> z -> x`` (or the LSTM's ancestral sampler).

Sample ``i`` of a call with ``seed`` uses its own generator seeded ``seed + i``, so any one
sample can be reproduced alone (``--seed seed+i --num 1``) and the seeds can be recorded.

References:
    Ziegler & Rush (2019), Section 5 (generation) and Figure 7.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

import lnfmusic
from lnfmusic.checkpoint import ModelBundle
from lnfmusic.config import SampleConfig
from lnfmusic.errors import LnfError
from lnfmusic.model.base import LatentSequenceModel, UnsupportedError

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


def fresh_seed() -> int:
    """A new seed for a call without ``--seed`` (reported, so the output can be redone)."""
    return secrets.randbelow(2**32)


def with_seed(config: SampleConfig) -> SampleConfig:
    """``config`` validated, with a fresh seed when it has none."""
    config.validate()
    return config if config.seed is not None else dataclasses.replace(config, seed=fresh_seed())


def check_length(bundle: ModelBundle, length: int, what: str = "length") -> None:
    """A one-line error when ``what`` (a number of steps) is beyond the positions the model
    knows."""
    limit = bundle.model.max_generate_length
    if length > limit:
        extend = bundle.dataset.length_prior.extend or 1.0
        rule = f"{extend:g} x " if extend > 1 else ""
        raise LnfError(
            f"{what} {length} is beyond the {limit} steps this {bundle.config.model.name} "
            f"model knows (its length embeddings cover 1..{limit}: {rule}the longest training "
            "sequence)",
            bundle.path,
        )


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(bundle: ModelBundle, **settings: Any) -> dict[str, Any]:
    """What regenerates an output exactly: the package and torch versions, the checkpoint
    (path, name, sha256) and ``settings`` (seed, length, temperature, ...; paths of input
    files become ``{"path", "sha256"}``)."""
    out: dict[str, Any] = {
        "lnfmusic": lnfmusic.__version__,
        "torch": torch.__version__,
        "checkpoint": {
            "path": str(bundle.path),
            "model": bundle.name,
            "sha256": file_sha256(bundle.path),
        },
    }
    for key, value in settings.items():
        if isinstance(value, Path):
            value = {"path": str(value), "sha256": file_sha256(value)}
        out[key] = value
    return out


def sample_lengths(bundle: ModelBundle, config: SampleConfig, longer_than: int = 0) -> list[int]:
    """``config.num`` lengths: ``config.length`` for all, or sample ``i`` drawn under seed
    ``config.seed + i`` from the empirical distribution of the training lengths (the
    smoothed p(T) stays for likelihoods; a checkpoint without counts uses it), restricted
    to lengths ``> longer_than``."""
    if config.length is not None:
        return [config.length] * config.num
    prior = bundle.dataset.length_prior.empirical()
    if longer_than:
        cond = prior.conditional(longer_than) or bundle.dataset.length_prior.conditional(
            longer_than
        )
        if cond is None or longer_than >= bundle.model.max_generate_length:
            raise LnfError(
                f"the primer's {longer_than} steps leave nothing to continue within the "
                f"{bundle.model.max_generate_length} steps this model knows",
                bundle.path,
            )
        prior = cond
    assert config.seed is not None
    out = []
    for i in range(config.num):
        g = torch.Generator().manual_seed(config.seed + i)
        out.append(min(int(prior.sample(1, generator=g)[0]), bundle.model.max_generate_length))
    return out


def _run(bundle: ModelBundle, config: SampleConfig, kind: str, lengths: list[int], fn) -> list:
    """``fn(i, lengths (1,), generator)`` for each sample on the model's device, in eval
    mode (restored afterwards), with sample ``i``'s generator seeded ``config.seed + i``."""
    require_kind(bundle, kind)
    for T in lengths:
        check_length(bundle, T)
    model = bundle.model
    device = model.device
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for i, T in enumerate(lengths):
                g = torch.Generator(device=device).manual_seed(config.seed + i)
                x = fn(i, torch.tensor([T], dtype=torch.long, device=device), g)
                out.append(x[0, :T].cpu().numpy())
    finally:
        model.train(was_training)
    return out


def generate(bundle: ModelBundle, config: SampleConfig, kind: str) -> list[np.ndarray]:
    """``config.num`` sequences from ``bundle.model`` on its device (checked to be a ``kind``
    model): music ``(T_i, 88)`` uint8, text ``(T_i,)`` ids. Sample ``i`` uses its own
    generator seeded ``config.seed + i`` (a config without a seed gets a fresh one: pass
    it through :func:`with_seed` first to know it)."""
    config = with_seed(config)
    model = bundle.model

    def one(i: int, lengths: Tensor, g: torch.Generator) -> Tensor:
        return model.generate(
            lengths, temperature=config.temperature, threshold=config.threshold, generator=g
        )

    return _run(bundle, config, kind, sample_lengths(bundle, config), one)


def continue_sequence(
    bundle: ModelBundle, prefix: np.ndarray, config: SampleConfig, kind: str
) -> list[np.ndarray]:
    """``config.num`` sequences that begin with ``prefix`` (music ``(K, 88)``, text
    ``(K,)`` ids) and go on for a length drawn from the training lengths above ``K`` (or
    ``config.length``, which must exceed ``K``). Raises :class:`LnfError` for a family that
    cannot continue, or lengths out of range."""
    config = with_seed(config)
    require_kind(bundle, kind)
    K = len(prefix)
    what = "primer" if kind == "music" else "prefix"
    if K < 1:
        raise LnfError(f"the {what} is empty")
    if K >= bundle.model.max_generate_length:
        raise LnfError(
            f"the {what} has {K} steps; this {bundle.config.model.name} model knows pieces of "
            f"at most {bundle.model.max_generate_length} steps, so nothing is left to continue "
            f"(use --primer-steps to take fewer)"
            if kind == "music"
            else f"the {what} has {K} characters; this model knows lines of at most "
            f"{bundle.model.max_generate_length}",
            bundle.path,
        )
    if config.length is not None and config.length <= K:
        raise LnfError(f"--length {config.length} must exceed the {what}'s {K} steps")
    model = bundle.model
    x = torch.as_tensor(np.asarray(prefix))[None]

    def one(i: int, lengths: Tensor, g: torch.Generator) -> Tensor:
        try:
            return model.continue_sequence(
                x, lengths, temperature=config.temperature, threshold=config.threshold, generator=g
            )
        except UnsupportedError as e:
            raise LnfError(e.message, bundle.path) from None

    return _run(bundle, config, kind, sample_lengths(bundle, config, longer_than=K), one)


def _latent_model(bundle: ModelBundle, what: str) -> LatentSequenceModel:
    model = bundle.model
    if not isinstance(model, LatentSequenceModel):
        raise LnfError(
            f"{what} needs a model with latents (af-af, af-scf, iaf-scf, af-only); this is a "
            f"{bundle.config.model.name} model",
            bundle.path,
        )
    return model


def variations(bundle: ModelBundle, roll: np.ndarray, config: SampleConfig) -> list[np.ndarray]:
    """``config.num`` variations of ``roll`` ``(T, 88)``: ``z`` drawn from q(z | x) with its
    spread scaled by ``config.temperature`` (0 would be the posterior mean), then x from the
    emission (``config.threshold`` as in sampling). Same length as ``roll``."""
    config = with_seed(config)
    model = _latent_model(bundle, "variations")
    T = len(roll)
    x = torch.as_tensor(np.asarray(roll))[None]

    def one(i: int, lengths: Tensor, g: torch.Generator) -> Tensor:
        z = model.encode(x, lengths, config.temperature, g)
        return model.decode(z, lengths, config.threshold, g)

    return _run(bundle, config, "music", [T] * config.num, one)


def slerp(a: Tensor, b: Tensor, t: float) -> Tensor:
    """Spherical interpolation between ``a`` and ``b`` (flattened), linear when they are
    (nearly) parallel; ``t = 0`` gives ``a``, ``t = 1`` gives ``b``."""
    fa, fb = a.flatten().double(), b.flatten().double()
    cos = torch.dot(fa, fb) / (fa.norm() * fb.norm()).clamp_min(1e-30)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(omega.sin()) < 1e-6:
        out = (1 - t) * fa + t * fb
    else:
        out = (torch.sin((1 - t) * omega) * fa + torch.sin(t * omega) * fb) / omega.sin()
    return out.view_as(a).to(a.dtype)


def interpolate(
    bundle: ModelBundle, a: np.ndarray, b: np.ndarray, steps: int, config: SampleConfig
) -> list[np.ndarray]:
    """``steps`` pieces from ``a`` to ``b`` (rolls ``(T, 88)``): both are cropped to the
    shorter one's length (or ``config.length``, at most that), encoded (posterior mean),
    mapped to the prior's base noise, interpolated spherically and decoded; piece ``i``
    uses ``t = i / (steps - 1)`` and seed ``config.seed + i`` for its notes."""
    config = with_seed(dataclasses.replace(config, num=steps))
    model = _latent_model(bundle, "interpolation")
    if steps < 2:
        raise LnfError(f"--steps {steps}: interpolation needs at least 2 pieces")
    L = min(len(a), len(b))
    if config.length is not None:
        if config.length > L:
            raise LnfError(f"--length {config.length} is longer than the shorter piece ({L} steps)")
        L = config.length
    check_length(bundle, L, "the common length")
    device = model.device
    lengths = torch.tensor([L], device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            ends = [
                model.to_noise(
                    model.encode(torch.as_tensor(np.asarray(r[:L]))[None], lengths), lengths
                )
                for r in (a, b)
            ]
    finally:
        model.train(was_training)

    def one(i: int, lengths: Tensor, g: torch.Generator) -> Tensor:
        eps = slerp(ends[0], ends[1], i / (steps - 1))
        return model.decode(model.from_noise(eps, lengths), lengths, config.threshold, g)

    return _run(bundle, config, "music", [L] * steps, one)


def resolve_checkpoint(
    checkpoint: str | os.PathLike[str] | None, kind: str, what: str = "--checkpoint"
) -> Path:
    """``checkpoint`` as a path when it is a file, else the name of a shipped model (``jsb``
    -> ``models/jsb.pt`` in the model folder); None: the shipped default of ``kind``.
    ``what`` names the argument in errors."""
    if checkpoint is None:
        return default_checkpoint_path(kind)
    path = Path(checkpoint)
    if path.is_file() or path.suffix == ".pt" or os.sep in str(checkpoint):
        return path  # loading names what is wrong with it
    folder = default_checkpoint_path(kind).parent
    named = folder / f"{checkpoint}.pt"
    if named.is_file():
        return named
    shipped = sorted(p.stem for p in folder.glob("*.pt"))
    raise LnfError(
        f"{what} {checkpoint}: no such file, nor a shipped model (shipped in {folder}: "
        f"{', '.join(shipped) or 'none'})"
    )


def shipped_models() -> list[Path]:
    """Every model shipped beside the default music model (``models/*.pt``), by name."""
    return sorted(default_checkpoint_path("music").parent.glob("*.pt"))


def model_key(bundle: ModelBundle) -> bool:
    """Whether the model's training pieces were all transposed to C major / C minor."""
    from lnfmusic.data.registry import DATASETS

    info = DATASETS.get(bundle.dataset.name)
    return bool(info is not None and info.in_c)


def read_piece(
    bundle: ModelBundle,
    path: str | os.PathLike[str],
    transpose: int | str = "auto",
    steps: int | None = None,
) -> tuple[np.ndarray, int]:
    """A MIDI file as a roll on the model's grid (steps per beat from the checkpoint), its
    first ``steps`` steps if given, moved by ``transpose`` semitones (``"auto"``: its
    estimated tonic to C when the model's data was all in C, else 0). Returns the roll and
    the shift applied. One-line :class:`LnfError` naming the file for anything unusable."""
    from lnfmusic.data.keys import shift_to_c
    from lnfmusic.data.keys import transpose as move
    from lnfmusic.io.midi import midi_to_roll

    require_kind(bundle, "music")
    meta = bundle.dataset.meta
    roll = midi_to_roll(
        path,
        steps_per_beat=int(meta.get("steps_per_beat", 2) or 2),
        pitch_offset=int(meta.get("pitch_offset", 21)),
    )
    if steps is not None:
        if steps > len(roll):
            raise LnfError(
                f"--primer-steps {steps} is longer than the piece ({len(roll)} steps)", path
            )
        roll = roll[:steps]
    if not roll.any():
        raise LnfError("the piece has no notes in the steps used", path)
    if transpose == "auto":
        try:
            shift = shift_to_c(roll) if model_key(bundle) else 0
        except LnfError as e:
            raise LnfError(e.message, path) from None
    else:
        shift = int(transpose)
    try:
        return move(roll, shift), shift
    except LnfError as e:
        raise LnfError(e.message, path) from None


def encode_prefix(bundle: ModelBundle, text: str) -> np.ndarray:
    """``text`` as ids of the checkpoint's vocabulary (spaces -> the word boundary of PTB
    models); one-line :class:`LnfError` for a character the model never saw (even where the
    vocabulary has ``<unk>``, so nothing is replaced silently)."""
    from lnfmusic.data.text import Vocabulary

    require_kind(bundle, "text")
    meta = bundle.dataset.meta
    vocab = meta["vocab"]
    vocab = Vocabulary.from_dict(vocab) if isinstance(vocab, dict) else Vocabulary(list(vocab))
    boundary = meta.get("word_boundary")
    symbols = text.replace(" ", boundary) if boundary else text
    known = set(vocab.chars)
    for c in symbols:
        if c not in known:  # refused even where the vocabulary has <unk>: never silently
            raise LnfError(
                f"--prefix: unknown character {c!r} (not in the model's vocabulary of "
                f"{len(vocab)} symbols)"
            )
    return vocab.encode(symbols)


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
