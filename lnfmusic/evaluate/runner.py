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
                if split not in dataset.splits:
                    raise LnfError(f"no split {split!r} in dataset {dataset.name}", dataset.source)
                seqs = dataset.splits[split]
                if not seqs:
                    raise LnfError(f"split {split!r} of {dataset.name} is empty", dataset.source)
                torch.manual_seed(config.seed)
                batches = list(budget_batches(seqs, config.batch_size, config.max_elements))
                task = bar.add_task(f"{split} ({bundle.name})", total=len(batches))
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
