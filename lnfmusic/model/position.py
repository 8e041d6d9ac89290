"""Length conditioning: every network is told the position t and the length T.

LNF fed two one-hot vectors of width max_T (distance from the start, distance from the end)
into each network. A one-hot times a weight matrix is a row lookup, so two learned embedding
tables added to the first layer's input are the same function — and cost ``2 * max_T * dim``
parameters instead of ``2 * max_T * input_width`` dense activations per step.

References:
    Ziegler & Rush (2019), Appendix C.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class PositionEmbedding(nn.Module):
    """``forward(lengths (B,), T) -> (B, T, dim)`` = ``E_start[t] + E_end[len - 1 - t]``.

    Indices are clamped to ``[0, max_length - 1]``; padded positions get finite values that
    callers mask out.
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
