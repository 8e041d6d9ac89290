"""Length-bucketed, padded batches with masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lnfmusic.data.batching import Batch, iterate_batches, make_batch


def _music(lengths: list[int], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((n, 88)) < 0.1).astype(np.uint8) for n in lengths]


def _text(lengths: list[int], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1, 50, size=n).astype(np.int64) for n in lengths]


def _check_batch(batch: Batch, seqs: list[np.ndarray]) -> None:
    """Lengths descending, mask = real steps, x = the sequences then zero padding."""
    B, T = batch.mask.shape
    assert batch.lengths.dtype == batch.index.dtype == torch.long
    assert batch.mask.dtype == torch.bool
    assert torch.all(batch.lengths[:-1] >= batch.lengths[1:])
    assert T == int(batch.lengths.max())
    for b in range(B):
        src = seqs[int(batch.index[b])]
        n = len(src)
        assert int(batch.lengths[b]) == n
        assert batch.mask[b, :n].all() and not batch.mask[b, n:].any()
        np.testing.assert_array_equal(batch.x[b, :n].numpy(), src)
        assert not batch.x[b, n:].any()


def test_make_batch_music() -> None:
    seqs = _music([3, 7, 5])
    batch = make_batch(seqs)
    assert batch.x.shape == (3, 7, 88) and batch.x.dtype == torch.float32
    assert batch.lengths.tolist() == [7, 5, 3]
    assert batch.index.tolist() == [1, 2, 0]
    assert len(batch) == 3
    _check_batch(batch, seqs)


def test_make_batch_text_custom_index() -> None:
    seqs = _text([2, 4, 4, 1])
    batch = make_batch(seqs, index=[10, 11, 12, 13])
    assert batch.x.shape == (4, 4) and batch.x.dtype == torch.long
    assert batch.index.tolist() == [11, 12, 10, 13]  # stable among equal lengths
    _check_batch(batch, dict(zip([10, 11, 12, 13], seqs, strict=True)))  # type: ignore[arg-type]


def test_make_batch_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        make_batch([])
    with pytest.raises(ValueError):
        make_batch(_text([3, 0]))
    with pytest.raises(ValueError):
        make_batch(_text([3]), index=[0, 1])


def test_to_device_keeps_content(device: torch.device) -> None:
    batch = make_batch(_music([4, 2]))
    moved = batch.to(device)
    assert moved.x.device.type == device.type
    assert torch.equal(moved.x.cpu(), batch.x) and torch.equal(moved.mask.cpu(), batch.mask)


LENGTHS = [5, 17, 3, 9, 9, 12, 1, 30, 8, 8, 8, 2, 21, 6]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [1, 4, 5, 14, 50])
def test_every_sequence_once(shuffle: bool, batch_size: int) -> None:
    seqs = _text(LENGTHS)
    batches = list(iterate_batches(seqs, batch_size, shuffle=shuffle, seed=3))
    seen = sorted(int(i) for b in batches for i in b.index)
    assert seen == list(range(len(seqs)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert len(batches) == -(-len(seqs) // batch_size)
    for b in batches:
        _check_batch(b, seqs)


def test_buckets_group_similar_lengths() -> None:
    seqs = _text(LENGTHS)
    batches = list(iterate_batches(seqs, 4, shuffle=False))
    # without shuffling, the batches are consecutive chunks of the sorted lengths
    flat = [int(n) for b in batches for n in b.lengths]
    assert flat == sorted(LENGTHS, reverse=True)
    # shuffling only reorders equal lengths and the batches: each batch still holds the
    # lengths of one chunk of the sorted order
    chunks = sorted(tuple(b.lengths.tolist()) for b in batches)
    for seed in range(5):
        shuffled = iterate_batches(seqs, 4, shuffle=True, seed=seed)
        assert sorted(tuple(b.lengths.tolist()) for b in shuffled) == chunks


def test_deterministic_under_seed() -> None:
    seqs = _music([4, 9, 2, 7, 7, 3, 5, 8, 1, 6], seed=1)

    def order(seed: int) -> list[list[int]]:
        return [b.index.tolist() for b in iterate_batches(seqs, 3, shuffle=True, seed=seed)]

    assert order(5) == order(5)
    assert any(order(5) != order(s) for s in range(6, 12))
    first = list(iterate_batches(seqs, 3, shuffle=True, seed=5))
    second = list(iterate_batches(seqs, 3, shuffle=True, seed=5))
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a.x, b.x) and torch.equal(a.mask, b.mask)


def test_empty_and_bad_batch_size() -> None:
    assert list(iterate_batches([], 4)) == []
    with pytest.raises(ValueError):
        list(iterate_batches(_text([3]), 0))
