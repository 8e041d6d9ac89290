"""Helpers for padded batches of sequences ``(B, T, ...)`` with lengths ``(B,)``."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def length_mask(lengths: Tensor, T: int, device: torch.device | None = None) -> Tensor:
    """``(B, T)`` bool, True on the real steps ``t < lengths[b]``."""
    device = device if device is not None else lengths.device
    return torch.arange(T, device=device)[None, :] < lengths.to(device)[:, None]


def zero_padding(x: Tensor, lengths: Tensor) -> Tensor:
    """``x`` ``(B, T, ...)`` with the padded steps replaced by exact zeros (so they cannot
    influence anything and receive a zero gradient)."""
    mask = length_mask(lengths, x.shape[1], x.device)
    mask = mask.view(*mask.shape, *([1] * (x.dim() - 2)))
    return torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device))


def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence of ``x`` ``(B, T, D)`` within its own length (padding stays at
    the end); its own inverse."""
    T = x.shape[1]
    t = torch.arange(T, device=x.device)[None, :]
    lengths = lengths.to(x.device)[:, None]
    idx = torch.where(t < lengths, lengths - 1 - t, t)
    return x.gather(1, idx[..., None].expand_as(x))


def run_bilstm(lstm: nn.LSTM, inputs: Tensor, lengths: Tensor) -> Tensor:
    """A (bi)LSTM over padded ``(B, T, D)`` inputs -> ``(B, T, dirs * hidden)``.

    Packed, so the backward direction starts at each sequence's own last step; outputs on
    padded steps are zero. ``lengths`` ``(B,)`` may be in any order and on any device.
    """
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=inputs.shape[1])
    return out
