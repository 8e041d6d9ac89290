"""The length model p(T): the empirical histogram of train+valid lengths.

Non-autoregressive generation draws T first. For music LNF added one count to every length
in ``1..ceil(1.25 * longest)``; ``from_lengths(lengths, smoothing=1, extend=1.25)`` does the
same, so numbers stay comparable. Lengths outside the support have probability 0
(``log_prob`` returns ``-inf``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


class LengthPrior:
    """A categorical distribution over lengths ``1..max_length``."""

    def __init__(self, probs: np.ndarray):
        self.probs = np.asarray(probs, dtype=np.float64)  # probs[T - 1] = p(T)
        self.max_length = len(self.probs)

    @classmethod
    def from_lengths(
        cls, lengths: list[int] | np.ndarray, smoothing: float = 0.0, extend: float = 1.0
    ) -> LengthPrior:
        lengths = np.asarray(lengths, dtype=np.int64)
        if len(lengths) == 0 or lengths.min() < 1:
            raise ValueError("lengths must be a non-empty list of positive integers")
        max_length = max(int(math.ceil(extend * lengths.max())), int(lengths.max()))
        counts = np.bincount(lengths - 1, minlength=max_length).astype(np.float64) + smoothing
        return cls(counts / counts.sum())

    def log_prob(self, lengths: Tensor | np.ndarray | list[int]) -> Tensor:
        t = torch.as_tensor(lengths, dtype=torch.long).cpu()
        logp = torch.from_numpy(np.log(np.concatenate([self.probs, [0.0]])))
        idx = torch.where((t >= 1) & (t <= self.max_length), t - 1, self.max_length)
        with np.errstate(divide="ignore"):
            return logp[idx]

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        probs = torch.from_numpy(self.probs)
        return torch.multinomial(probs, n, replacement=True, generator=generator) + 1

    def to_dict(self) -> dict:
        return {"probs": self.probs.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> LengthPrior:
        return cls(np.asarray(d["probs"], dtype=np.float64))
