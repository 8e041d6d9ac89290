"""The independent-Bernoulli floor of a music set: each of the 88 keys sounds independently
of the others and of time, with its own probability fitted on the training split. Any model
that learns something about music must beat it; how far below it a model gets says more
than the raw nats (the sets differ in how many notes sound per step)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from lnfmusic.data.dataset import SequenceDataset
from lnfmusic.evaluate.reference import DATASET_COLUMNS


def bernoulli_floor(train: Sequence[np.ndarray], test: Sequence[np.ndarray]) -> float:
    """Per-frame NLL (nats per step, ``sum -log p(x) / sum T``) of ``test`` under per-key
    Bernoulli probabilities fitted on ``train`` (rolls ``(T, 88)`` of 0/1) with add-one
    smoothing, ``p_k = (on_k + 1) / (steps + 2)``, so that a key never heard in training
    still has a finite cost."""
    on = np.zeros(88)
    steps = 0
    for roll in train:
        on += np.asarray(roll, dtype=np.float64).sum(0)
        steps += len(roll)
    p = (on + 1) / (steps + 2)
    log_on, log_off = np.log(p), np.log1p(-p)
    total, frames = 0.0, 0
    for roll in test:
        r = np.asarray(roll, dtype=np.float64)
        total -= float((r @ log_on + (1 - r) @ log_off).sum())
        frames += len(r)
    return total / frames


def floors_by_column(
    datasets: Iterable[SequenceDataset], splits: Iterable[str]
) -> dict[str, dict[str, float]]:
    """``split -> grid column -> floor`` of the music sets among ``datasets`` (the grid's
    column name, :data:`~lnfmusic.evaluate.reference.DATASET_COLUMNS`, or the set's own)."""
    music = [d for d in datasets if d.kind == "music"]
    return {
        split: {
            DATASET_COLUMNS.get(d.name, d.name): bernoulli_floor(d.splits["train"], d.splits[split])
            for d in music
        }
        for split in splits
    }
