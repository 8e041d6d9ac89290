"""Small configurations and batches shared by the model tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from lnfmusic.config import ModelConfig, preset
from lnfmusic.data.batching import Batch, make_batch


def tiny_config(model: str = "af-af", kind: str = "music", vocab: int = 5) -> ModelConfig:
    """The tiny preset's model with the data fields filled in; 2 LSTM layers, no dropout."""
    cfg = preset("tiny", kind, model).model
    cfg.num_layers = 2
    cfg.dropout = cfg.prior_dropout = 0.0
    cfg.data_kind = kind
    cfg.output_dim = 88 if kind == "music" else vocab
    cfg.max_length = 16
    return cfg


def random_seqs(
    lengths: list[int], kind: str = "music", vocab: int = 5, seed: int = 0
) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "music":
        return [(rng.random((n, 88)) < 0.1).astype(np.uint8) for n in lengths]
    return [rng.integers(0, vocab, n).astype(np.int64) for n in lengths]


def random_batch(
    lengths: list[int],
    kind: str = "music",
    vocab: int = 5,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Batch:
    batch = make_batch(random_seqs(lengths, kind, vocab, seed))
    if kind == "music":
        batch.x = batch.x.to(dtype)
    return batch


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    """Small LSTMs run far faster on one thread, above all on a shared, busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
