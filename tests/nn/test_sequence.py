"""Padded-sequence helpers: masks, zeroed padding, reversal within each length, the
bidirectional LSTM over padded batches."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lnfmusic.nn.sequence import length_mask, reverse_padded, run_bilstm, zero_padding

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


def _packed_bilstm(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The reference: PyTorch's own packed-sequence bidirectional LSTM."""
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, _ = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=x.shape[1])
    return out


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("training", [False, True])
def test_run_bilstm_matches_the_packed_lstm_in_value_and_gradient(
    layers: int, training: bool
) -> None:
    torch.manual_seed(layers)
    dropout = 0.0 if training else 0.5  # (dropout is random in training: tested below)
    lstm = nn.LSTM(5, 7, layers, batch_first=True, bidirectional=True, dropout=dropout)
    lstm.train(training)
    x = torch.randn(4, 9, 5, requires_grad=True)
    lengths = torch.tensor([3, 9, 1, 6])  # unsorted, with a length-1 sequence
    ours, ref = run_bilstm(lstm, x, lengths), _packed_bilstm(lstm, x, lengths)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)
    weights = torch.randn_like(ref)  # a loss that weighs every output differently
    params = [x, *lstm.parameters()]
    g_ours = torch.autograd.grad((ours * weights).sum(), params)
    g_ref = torch.autograd.grad((ref * weights).sum(), params)
    for a, b in zip(g_ours, g_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert torch.equal(ours[2, 1:], torch.zeros(8, 14))  # padded outputs are exact zeros


def test_run_bilstm_applies_dropout_between_layers_only_in_training() -> None:
    lstm = nn.LSTM(3, 4, 2, batch_first=True, bidirectional=True, dropout=0.9)
    x, lengths = torch.randn(2, 5, 3), torch.tensor([5, 2])
    torch.manual_seed(0)
    a = run_bilstm(lstm, x, lengths)
    torch.manual_seed(1)
    assert not torch.allclose(a, run_bilstm(lstm, x, lengths))
    lstm.eval()
    torch.testing.assert_close(run_bilstm(lstm, x, lengths), _packed_bilstm(lstm, x, lengths))


def test_run_bilstm_refuses_a_one_way_lstm() -> None:
    with pytest.raises(ValueError, match="bidirectional"):
        run_bilstm(nn.LSTM(3, 4, batch_first=True), torch.randn(1, 2, 3), torch.tensor([2]))
