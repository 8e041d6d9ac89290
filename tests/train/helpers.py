"""Synthetic datasets and tiny run configurations for the training tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from lnfmusic.config import RunConfig, preset
from lnfmusic.data.dataset import SequenceDataset


def synthetic_music(n_train: int = 24, n_valid: int = 8, seed: int = 0) -> SequenceDataset:
    """Pieces cycling through three chords (with a little noise), lengths 6..12."""
    rng = np.random.default_rng(seed)
    chords = [[39, 43, 46], [41, 44, 48], [38, 43, 46]]

    def piece() -> np.ndarray:
        T = int(rng.integers(6, 13))
        roll = np.zeros((T, 88), dtype=np.uint8)
        start = int(rng.integers(0, 3))
        for t in range(T):
            roll[t, chords[(start + t) % 3]] = 1
        roll[rng.random((T, 88)) < 0.01] = 1
        return roll

    splits = {
        "train": [piece() for _ in range(n_train)],
        "valid": [piece() for _ in range(n_valid)],
        "test": [piece() for _ in range(n_valid)],
    }
    meta = {"pitch_offset": 21, "num_pitches": 88, "steps_per_beat": 2}
    return SequenceDataset("synthetic", "music", splits, meta, "synthetic")


def synthetic_text(n_train: int = 24, n_valid: int = 8, seed: int = 0) -> SequenceDataset:
    rng = np.random.default_rng(seed)
    chars = ["_", "a", "b", "c"]

    def line() -> np.ndarray:
        return np.array([(t % 3) + 1 if t % 4 else 0 for t in range(int(rng.integers(4, 10)))])

    splits = {
        "train": [line() for _ in range(n_train)],
        "valid": [line() for _ in range(n_valid)],
        "test": [line() for _ in range(n_valid)],
    }
    return SequenceDataset("synthetic-text", "text", splits, {"vocab": chars}, "synthetic")


def tiny_run(model: str = "af-af", kind: str = "music", epochs: int = 2) -> RunConfig:
    config = preset("tiny", kind, model)
    config.train.epochs = epochs
    config.train.batch_size = 8
    return config


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    """Small LSTMs run far faster on one thread, above all on a shared, busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
