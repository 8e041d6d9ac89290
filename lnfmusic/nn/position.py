"""Length conditioning: every network is told the position t and the length T.

LNF feeds, at every step, two one-hot vectors of width ``max_T`` (distance from the start,
distance from the end) into each network's input. A one-hot multiplied by a weight matrix
selects one column, so the same function is two learned tables of vectors added to the first
layer's input: ``E_start[t] + E_end[T - 1 - t]``. What changes is the cost: concatenated
one-hots widen the input of every LSTM gate (``4 * hidden`` weights per one-hot entry and
per direction, in every network), which made about 100M of the 125M parameters of LNF's
Piano/MuseData models, and they materialise ``(B, T, 2 max_T)`` inputs; an embedding of width
``dim`` added once costs ``2 * max_T * dim`` parameters and an index lookup.

References:
    Ziegler & Rush (2019), Appendix C.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class PositionEmbedding(nn.Module):
    """``forward(lengths (B,), T) -> (B, T, dim)`` = ``E_start[t] + E_end[len - 1 - t]``.

    Indices are clamped to ``[0, max_length - 1]`` (longer sequences share the last rows);
    padded positions (``t >= len``) get finite values that callers mask out. The result is
    on the embedding's device, whatever the device of ``lengths``.
    """

    def __init__(self, max_length: int, dim: int):
        super().__init__()
        self.max_length = max_length
        self.start = nn.Embedding(max_length, dim)
        self.end = nn.Embedding(max_length, dim)
        nn.init.normal_(self.start.weight, std=0.02)
        nn.init.normal_(self.end.weight, std=0.02)

    def forward(self, lengths: Tensor, T: int) -> Tensor:
        t = torch.arange(T, device=self.start.weight.device)
        lengths = lengths.to(t.device)
        from_start = t.clamp(max=self.max_length - 1)
        from_end = (lengths[:, None] - 1 - t[None, :]).clamp(0, self.max_length - 1)
        return self.start(from_start)[None] + self.end(from_end)
