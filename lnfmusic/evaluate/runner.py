"""Evaluate a trained model (a :class:`~lnfmusic.checkpoint.ModelBundle`) on splits of its
dataset: one :class:`~lnfmusic.evaluate.results.EvalResult`.

References:
    Ziegler & Rush (2019), Section 6 and Table 3.
"""

from __future__ import annotations

import numpy as np
import torch
from rich.console import Console

from lnfmusic.checkpoint import ModelBundle
from lnfmusic.config import EvalConfig
from lnfmusic.data.dataset import SequenceDataset
from lnfmusic.errors import LnfError
from lnfmusic.evaluate.estimators import budget_batches, estimate_split
from lnfmusic.evaluate.results import EvalResult
from lnfmusic.progress import progress_bar


def check_compatible(
    bundle: ModelBundle, dataset: SequenceDataset, splits: tuple[str, ...] = ("test",)
) -> None:
    """Refuse data the model cannot score: another kind, another vocabulary (a text file
    edited since training: ids would index the wrong characters, or none), missing or empty
    splits, sequences longer than :data:`~lnfmusic.data.dataset.MAX_LENGTH`. One-line
    :class:`LnfError` naming the data, raised before any work."""
    where = dataset.source
    if dataset.kind != bundle.dataset.kind:
        raise LnfError(f"{bundle.dataset.kind} model, {dataset.kind} data", where)
    if dataset.kind == "text":
        ours, theirs = bundle.dataset.meta.get("vocab"), dataset.meta.get("vocab")
        if ours != theirs:
            new = sorted(set(theirs or ()) - set(ours or ()))
            shown = "".join(new[:10]) + ("..." if len(new) > 10 else "")
            why = f"{len(new)} character(s) it never saw: {shown!r}" if new else "ids differ"
            raise LnfError(
                f"the vocabulary of {dataset.name} is not the one the model was trained with "
                f"({why}); the data changed since training",
                where,
            )
    elif dataset.output_dim != bundle.config.model.output_dim:
        raise LnfError(
            f"{dataset.output_dim} keys, the model has {bundle.config.model.output_dim}", where
        )
    for split in splits:
        if split not in dataset.splits:
            raise LnfError(f"no split {split!r} in dataset {dataset.name}", where)
        if not dataset.splits[split]:
            raise LnfError(f"split {split!r} of {dataset.name} is empty", where)
    dataset.check_lengths(splits)


def evaluate_checkpoint(
    bundle: ModelBundle,
    dataset: SequenceDataset,
    config: EvalConfig | None = None,
    *,
    progress: bool = False,
    console: Console | None = None,
) -> EvalResult:
    """Evaluate ``bundle.model`` on ``config.splits`` of ``dataset`` with the bundle's p(T).

    Each split restarts the RNG from ``config.seed`` (the same seed gives identical
    numbers); the global RNG state is restored afterwards, and so is the model's mode.
    Exact families report ``samples = None`` (``"exact"``).
    """
    config = config or EvalConfig()
    config.validate()
    check_compatible(bundle, dataset, config.splits)
    model = bundle.model
    name = str(bundle.path) if bundle.path is not None else ""
    result = EvalResult(
        name,
        dataset.name,
        dataset.kind,
        bundle.name,
        bundle.config.preset,
        config.seed,
        bundle.config.model.variant(),
        length_model=bundle.dataset.length_prior.describe(),
    )
    device = model.device
    was_training = model.training
    model.eval()
    cuda = (
        [device.index if device.index is not None else torch.cuda.current_device()]
        if device.type == "cuda"
        else []
    )
    try:
        with (
            torch.random.fork_rng(devices=cuda),
            progress_bar(console, progress, transient=True) as bar,
        ):
            for split in config.splits:
                seqs = dataset.splits[split]
                torch.manual_seed(config.seed)
                batches = list(budget_batches(seqs, config.batch_size, config.max_elements))
                where = f"{bundle.path.name}, " if bundle.path is not None else ""
                task = bar.add_task(f"{split} ({where}{bundle.name})", total=len(batches))
                result.splits[split] = estimate_split(
                    model,
                    batches,
                    bundle.dataset.length_prior,
                    split,
                    dataset.kind,
                    num_samples=config.num_samples,
                    elbo_samples=config.elbo_samples,
                    max_elements=config.max_elements,
                    device=device,
                    advance=lambda task=task: bar.advance(task),
                )
                if dataset.kind == "music":
                    result.splits[split].num_notes = sum(int(np.count_nonzero(s)) for s in seqs)
    finally:
        model.train(was_training)
    return result
