"""MADE: a masked feed-forward network whose output for dimension i sees only inputs < i.

Used by the autoregressive flow within a time step. A context vector (the state of the flow
in time and the length conditioning) enters the hidden layer unmasked.

References:
    Germain et al. (2015), MADE: Masked Autoencoder for Distribution Estimation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask."""

    def __init__(self, in_features: int, out_features: int, mask: Tensor):
        super().__init__(in_features, out_features)
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """Autoregressive conditioner: ``(..., D)`` inputs and ``(..., C)`` context to
    ``(..., D, P)`` parameters, where output ``i`` depends on inputs ``< i`` and the context.

    Args:
        dim: D, the number of autoregressive dimensions.
        context_dim: C.
        hidden: width of the hidden layer.
        num_params: P, parameters produced per dimension.
    """

    def __init__(self, dim: int, context_dim: int, hidden: int, num_params: int):
        super().__init__()
        self.dim, self.num_params = dim, num_params
        in_deg = torch.arange(1, dim + 1)
        # Hidden degrees cycle through 1..D-1: unit k may see inputs with degree <= its own.
        hid_deg = torch.arange(hidden) % max(dim - 1, 1) + 1
        out_deg = torch.arange(1, dim + 1).repeat_interleave(num_params)
        mask_in = (hid_deg[:, None] >= in_deg[None, :]).float()
        mask_out = (out_deg[:, None] > hid_deg[None, :]).float()
        self.inp = MaskedLinear(dim, hidden, mask_in)
        self.ctx = nn.Linear(context_dim, hidden)
        self.out = MaskedLinear(hidden, dim * num_params, mask_out)
        # Start close to the identity map while keeping a gradient on every weight.
        nn.init.normal_(self.out.weight, std=1e-3)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        h = torch.relu(self.inp(x) + self.ctx(context))
        return self.out(h).unflatten(-1, (self.dim, self.num_params))
