"""Padded-sequence helpers: masks, zeroed padding, reversal within each length."""

from __future__ import annotations

import pytest
import torch

from lnfmusic.nn.sequence import length_mask, reverse_padded, zero_padding

pytestmark = pytest.mark.usefixtures("float64")


def test_length_mask() -> None:
    m = length_mask(torch.tensor([3, 1, 0]), 4)
    expected = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(m, expected)


def test_zero_padding_zeroes_exactly_the_padded_steps() -> None:
    x = torch.randn(2, 4, 3, requires_grad=True)
    y = zero_padding(x, torch.tensor([4, 2]))
    assert torch.equal(y[0], x[0].detach()) and torch.equal(y[1, :2], x[1, :2].detach())
    assert torch.equal(y[1, 2:], torch.zeros(2, 3))
    y.sum().backward()
    assert torch.equal(x.grad[1, 2:], torch.zeros(2, 3))


def test_reverse_padded_is_its_own_inverse_and_keeps_padding_in_place() -> None:
    x = torch.arange(2 * 4).view(2, 4, 1)
    lengths = torch.tensor([4, 3])
    r = reverse_padded(x, lengths)
    assert r[1, :, 0].tolist() == [6.0, 5.0, 4.0, 7.0]
    assert torch.equal(reverse_padded(r, lengths), x)
