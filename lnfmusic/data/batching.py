"""Padded, length-bucketed batches with masks.

Sequences are sorted by length and cut into chunks of ``batch_size`` (so a batch wastes
little padding); the order of the chunks is shuffled under a seed. Within a batch the
lengths are in descending order, so packed RNNs need no re-sorting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass
class Batch:
    """``x``: music ``(B, T, 88)`` float 0/1, text ``(B, T)`` int64 (padding 0);
    ``lengths`` ``(B,)`` descending; ``mask`` ``(B, T)`` True on real steps; ``index`` ``(B,)``
    positions of the sequences in their source list."""

    x: Tensor
    lengths: Tensor
    mask: Tensor
    index: Tensor

    def to(self, device: torch.device | str) -> Batch:
        return Batch(
            self.x.to(device), self.lengths.to(device), self.mask.to(device), self.index.to(device)
        )

    def __len__(self) -> int:
        return int(self.lengths.shape[0])


def make_batch(seqs: list[np.ndarray], index: list[int] | None = None) -> Batch:
    """Pad ``seqs`` (music ``(T_i, 88)``, text ``(T_i,)``) into one :class:`Batch`.

    The batch is sorted by descending length (stable, so ties keep their order); ``index``
    (default ``0..B-1``) follows the sequences.
    """
    if len(seqs) == 0:
        raise ValueError("make_batch needs at least one sequence")
    index = list(range(len(seqs))) if index is None else list(index)
    if len(index) != len(seqs):
        raise ValueError("index must have one entry per sequence")
    if any(len(s) == 0 for s in seqs):
        raise ValueError("sequences must have at least one step")
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    seqs = [seqs[i] for i in order]
    index = [index[i] for i in order]
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    T = int(lengths.max())
    first = seqs[0]
    if first.ndim == 2:  # music rolls
        x = torch.zeros(len(seqs), T, first.shape[1], dtype=torch.float32)
    else:
        x = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = torch.from_numpy(np.asarray(s)).to(x.dtype)
    mask = torch.arange(T)[None, :] < lengths[:, None]
    return Batch(x, lengths, mask, torch.tensor(index, dtype=torch.long))


def bucketed_chunks(
    lengths: list[int] | np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0
) -> list[np.ndarray]:
    """Indices of length-bucketed batches; deterministic for a given ``seed``.

    Sequences are sorted by descending length (stable) and cut into chunks of
    ``batch_size``; every sequence appears exactly once per pass. With ``shuffle`` the
    sequences are permuted before the sort (so equal lengths mix between seeds/epochs) and
    the order of the chunks is shuffled too, all from ``numpy.random.default_rng(seed)``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = len(lengths)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(n) if shuffle else np.arange(n)
    sizes = np.array([lengths[i] for i in idx])
    idx = idx[np.argsort(-sizes, kind="stable")]
    chunks = [idx[i : i + batch_size] for i in range(0, n, batch_size)]
    if shuffle:
        chunks = [chunks[i] for i in rng.permutation(len(chunks))]
    return chunks


def shard_chunks(
    chunks: list[np.ndarray], rank: int, world_size: int
) -> list[tuple[np.ndarray, int]]:
    """Rank ``rank``'s part of each global chunk and the chunk's size, for data-parallel
    training: rank ``r`` takes every ``world_size``-th sequence of the (length-sorted)
    chunk from the ``r``-th on, so the parts have about the same lengths (no rank waits for
    another's longer pieces) and sizes differing by at most one; the ranks together see each
    global batch exactly once and all take the same number of steps. A chunk with fewer
    sequences than ranks is merged into a neighbour (never dropped, never repeated). With
    one rank the chunks are returned as they are."""
    merged = list(chunks)
    if world_size > 1:
        if sum(len(c) for c in merged) < world_size:
            raise ValueError(f"{sum(len(c) for c in merged)} sequences for {world_size} processes")
        i = 0
        while i < len(merged):
            if len(merged[i]) < world_size:
                j = i - 1 if i > 0 else i + 1
                merged[min(i, j)] = np.concatenate([merged[min(i, j)], merged[max(i, j)]])
                merged.pop(max(i, j))
                i = 0
                continue
            i += 1
    return [(c[rank::world_size], len(c)) for c in merged]


def iterate_batches(
    seqs: list[np.ndarray], batch_size: int, shuffle: bool = False, seed: int = 0
) -> Iterator[Batch]:
    """The batches of :func:`bucketed_chunks` over ``seqs``."""
    for chunk in bucketed_chunks([len(s) for s in seqs], batch_size, shuffle, seed):
        yield make_batch([seqs[i] for i in chunk], [int(i) for i in chunk])
