"""The length model p(T): the empirical histogram of train+valid lengths.

Non-autoregressive generation draws T first. ``from_lengths(lengths, smoothing, extend)``
counts each length, extends the support to ``1..max(longest, ceil(extend * longest))`` and
adds ``smoothing`` to every count of that support before normalising.

- Every dataset (:meth:`LengthPrior.for_data`): LNF's music choice, ``smoothing=1``
  (add-one) and ``extend=1.25``, so every length up to 1.25 x the longest train+valid
  sequence has non-zero probability, and a test sequence whose length never occurs in
  train+valid does not make the likelihood infinite.
- Text priors stored before this rule was adopted (issue 15) are plain histograms (``smoothing=0``,
  ``extend=1``); a checkpoint keeps the prior it was trained with, so its numbers do not
  change, and :meth:`LengthPrior.rebuild` applies a stored prior's own rule to other lengths.

Lengths outside the support (``T < 1`` or ``T > max_length``), and unsmoothed lengths never
seen, have probability 0: :meth:`LengthPrior.log_prob` returns ``-inf`` for them (evaluation
counts such sequences and says so).

The smoothed prior is for likelihoods (comparable with the paper); generation draws from the
plain histogram of the training lengths, :meth:`LengthPrior.empirical`. A prior built from
lengths keeps their counts and stores them; for one stored without counts (checkpoints made
before they were kept) the counts are recovered exactly from the smoothed probabilities when
the smoothing is known and some length of the support was never seen (its probability is
``smoothing / total``), which the 1.25x extension of the music prior guarantees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

SMOOTHING = 1.0
EXTEND = 1.25
MUSIC_SMOOTHING, MUSIC_EXTEND = SMOOTHING, EXTEND  # music has always used them


class LengthPrior:
    """A categorical distribution over lengths ``1..max_length``; ``probs[T - 1] = p(T)``."""

    def __init__(
        self,
        probs: np.ndarray | Sequence[float],
        counts: np.ndarray | Sequence[int] | None = None,
        smoothing: float | None = None,
        extend: float | None = None,
    ):
        probs = np.asarray(probs, dtype=np.float64)
        if probs.ndim != 1 or len(probs) == 0 or (probs < 0).any() or not np.isfinite(probs).all():
            raise ValueError("length probabilities must be a non-empty 1-d array of values >= 0")
        total = probs.sum()
        if total <= 0:
            raise ValueError("length probabilities sum to 0")
        self.probs = probs / total
        self.max_length = len(self.probs)
        # how it was built from lengths (None: not known), see rebuild()
        self.smoothing, self.extend = smoothing, extend
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        if self.counts is not None and (
            self.counts.shape != self.probs.shape
            or (self.counts < 0).any()
            or not self.counts.any()
        ):
            raise ValueError("length counts must be >= 0, not all 0, one per length of p(T)")

    @classmethod
    def from_lengths(
        cls, lengths: Sequence[int] | np.ndarray, smoothing: float = 0.0, extend: float = 1.0
    ) -> LengthPrior:
        """Histogram of ``lengths`` (all >= 1); see the module docstring for the arguments."""
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.ndim != 1 or len(lengths) == 0 or lengths.min() < 1:
            raise ValueError("lengths must be a non-empty list of positive integers")
        if smoothing < 0 or extend < 1:
            raise ValueError("smoothing must be >= 0 and extend >= 1")
        longest = int(lengths.max())
        max_length = max(math.ceil(extend * longest), longest)
        counts = np.bincount(lengths - 1, minlength=max_length)
        return cls(counts.astype(np.float64) + smoothing, counts, float(smoothing), float(extend))

    @classmethod
    def for_music(cls, lengths: Sequence[int] | np.ndarray) -> LengthPrior:
        """LNF's music prior: add-one smoothing over ``1..ceil(1.25 * longest)``."""
        return cls.from_lengths(lengths, MUSIC_SMOOTHING, MUSIC_EXTEND)

    @classmethod
    def for_data(cls, kind: str, lengths: Sequence[int] | np.ndarray) -> LengthPrior:
        """The prior a new run uses, for music and text alike: add-one smoothing over
        ``1..ceil(1.25 * longest)`` (``kind`` is kept for callers; the rule is the same)."""
        return cls.from_lengths(lengths, SMOOTHING, EXTEND)

    def describe(self) -> str:
        """The length model in words, for reports: where p(T) is non-zero."""
        if self.smoothing:
            return f"p(T) > 0 for T in 1..{self.max_length} (add-{self.smoothing:g} smoothing)"
        if self.smoothing == 0:
            return f"p(T): histogram over 1..{self.max_length}, 0 for lengths never seen"
        return f"p(T) over 1..{self.max_length}"

    def rebuild(self, lengths: Sequence[int] | np.ndarray) -> LengthPrior:
        """The prior that this one's rule (its smoothing and extension; unknown: the plain
        histogram) gives for ``lengths``: what resuming compares to tell the same data."""
        return LengthPrior.from_lengths(lengths, self.smoothing or 0.0, self.extend or 1.0)

    def log_prob(self, lengths: Tensor | np.ndarray | Sequence[int]) -> Tensor:
        """``log p(T)`` for each length, float64 on the input's device; ``-inf`` outside the
        support."""
        t = torch.as_tensor(lengths)
        device = t.device
        t = t.to("cpu", torch.long)
        with np.errstate(divide="ignore"):
            logp = torch.from_numpy(np.log(np.append(self.probs, 0.0)))
        idx = torch.where((t >= 1) & (t <= self.max_length), t - 1, self.max_length)
        return logp[idx].to(device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``(n,)`` int64 lengths drawn from p(T) (on the CPU)."""
        probs = torch.from_numpy(self.probs)
        return torch.multinomial(probs, n, replacement=True, generator=generator) + 1

    def empirical(self) -> LengthPrior:
        """The plain histogram of the lengths this prior was built from (what generation
        draws from); ``self`` when the counts are unknown."""
        if self.counts is None:
            return self
        return LengthPrior(self.counts.astype(np.float64), self.counts)

    def conditional(self, longer_than: int) -> LengthPrior | None:
        """p(T | T > ``longer_than``), or None when no length beyond it has mass."""
        probs = self.probs.copy()
        probs[: max(longer_than, 0)] = 0.0
        if probs.sum() <= 0:
            return None
        counts = None
        if self.counts is not None and self.counts[longer_than:].any():
            counts = self.counts.copy()
            counts[:longer_than] = 0
        return LengthPrior(probs, counts)

    def to_dict(self) -> dict:
        d: dict = {"probs": self.probs.tolist()}
        if self.counts is not None:
            d["counts"] = self.counts.tolist()
        if self.smoothing is not None:
            d["smoothing"], d["extend"] = self.smoothing, self.extend
        return d

    @classmethod
    def from_dict(
        cls, d: dict, smoothing: float | None = None, extend: float | None = None
    ) -> LengthPrior:
        """The prior of :meth:`to_dict`. ``smoothing`` and ``extend`` are what a record that
        does not store them was built with (older checkpoints); without stored counts, the
        smoothing lets them be recovered (module docstring)."""
        probs = np.asarray(d["probs"], dtype=np.float64)
        smoothing = d.get("smoothing", smoothing)
        extend = d.get("extend", extend)
        counts = d["counts"] if "counts" in d else _recover_counts(probs, smoothing)
        return cls(probs, counts, smoothing, extend)


def _recover_counts(probs: np.ndarray, smoothing: float | None) -> np.ndarray | None:
    """Counts ``c`` with ``probs = (c + smoothing) / total`` when some ``c`` is 0 and the
    result is whole numbers; else None."""
    if not smoothing or smoothing <= 0 or probs.ndim != 1 or len(probs) == 0 or probs.min() <= 0:
        return None
    counts = probs * (smoothing / probs.min()) - smoothing
    rounded = np.rint(counts)
    if np.abs(counts - rounded).max() > 1e-6 or not rounded.any():
        return None
    return rounded.astype(np.int64)
