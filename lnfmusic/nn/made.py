"""MADE: a masked feed-forward network whose output for dimension i sees only inputs < i.

The conditioner of the autoregressive flow within a time step. A context vector (the state
of the flow in time plus the length conditioning) is added, unmasked, to the hidden layer.
Hidden units get degrees ``0 .. D-1``; a unit of degree ``m`` sees inputs ``1 .. m`` (degree
0: the context only) and feeds outputs of dimension ``> m``. So the first dimension's
parameters depend on the context alone, not on nothing.

References:
    Germain et al. (2015), MADE: Masked Autoencoder for Distribution Estimation.
    Ziegler & Rush (2019), Section 3 (AF in hidden).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask ``(out, in)``."""

    def __init__(self, in_features: int, out_features: int, mask: Tensor):
        super().__init__(in_features, out_features)
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def masked_weight(self) -> Tensor:
        return self.weight * self.mask

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.masked_weight(), self.bias)


class MADE(nn.Module):
    """Autoregressive conditioner: inputs ``(..., D)`` and context ``(..., C)`` to parameters
    ``(..., D, P)``; output ``i`` depends on inputs ``< i`` and on the context.

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
        hid_deg = torch.arange(hidden) % dim  # 0 .. D-1, cycling
        out_deg = torch.arange(1, dim + 1).repeat_interleave(num_params)
        self.inp = MaskedLinear(dim, hidden, hid_deg[:, None] >= in_deg[None, :])
        self.ctx = nn.Linear(context_dim, hidden)
        self.out = MaskedLinear(hidden, dim * num_params, out_deg[:, None] > hid_deg[None, :])
        # Start near the identity map while keeping a gradient on every weight.
        nn.init.normal_(self.out.weight, std=1e-3)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        """All parameters at once (density direction): ``(..., D)`` -> ``(..., D, P)``."""
        h = torch.relu(self.inp(x) + self.ctx(context))
        return self.out(h).unflatten(-1, (self.dim, self.num_params))

    def sequential(self, context: Tensor) -> _Sequential:
        """Incremental evaluation for sampling, one dimension at a time (see
        :class:`_Sequential`); ``context`` ``(..., C)``."""
        return _Sequential(self, context)


class _Sequential:
    """Feed ``x_1, x_2, ...`` one at a time; ``params()`` gives dimension ``i``'s parameters.

    The hidden pre-activation is linear in ``x``, so adding ``x_i`` adds ``x_i W[:, i]``: each
    step costs ``O(hidden * P)`` instead of a full MADE pass. Exactly the same function as
    :meth:`MADE.forward` (up to the order of floating-point additions).
    """

    def __init__(self, made: MADE, context: Tensor):
        self.i = 0
        self.w_in = made.inp.masked_weight()  # (hidden, D)
        self.pre = made.ctx(context) + made.inp.bias  # inputs not yet known count as zero
        hidden = self.w_in.shape[0]
        self.w_out = made.out.masked_weight().view(made.dim, made.num_params, hidden)
        self.b_out = made.out.bias.view(made.dim, made.num_params)

    def params(self) -> Tensor:
        """Parameters ``(..., P)`` of the next dimension ``i``."""
        h = torch.relu(self.pre)
        return F.linear(h, self.w_out[self.i], self.b_out[self.i])

    def push(self, x_i: Tensor) -> None:
        """Record the value ``(...)`` of dimension ``i`` and move to ``i + 1``."""
        self.pre = self.pre + x_i.unsqueeze(-1) * self.w_in[:, self.i]
        self.i += 1
