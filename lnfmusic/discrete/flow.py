"""A discrete flow: a categorical base and a stack of invertible layers.

``y = f_L(... f_1(x))`` with ``x ~ base``; ``log p(y) = log p_base(f_1^{-1}(... f_L^{-1}(y)))``
exactly (Tran et al. 2019, eq. 4). Shapes ``(B, T, F, K)`` one-hot; ``mask`` ``(B, T)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class DiscreteFlow(nn.Module):
    """``base`` (:class:`~lnfmusic.discrete.base.FactorizedBase` or
    :class:`~lnfmusic.discrete.base.AutoregressiveBase`) and ``layers`` in sampling order."""

    def __init__(self, base: nn.Module, layers: list[nn.Module] | nn.ModuleList):
        super().__init__()
        self.base = base
        self.layers = nn.ModuleList(layers)

    def inverse(
        self, y: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """Data -> base noise, through every layer's inverse (last layer first)."""
        x = y
        for layer in reversed(self.layers):
            x = layer.inverse(x, context, mask)
        return x

    def forward(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """Base noise -> data."""
        for layer in self.layers:
            x = layer(x, context, mask)
        return x

    def log_prob(
        self, y: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """Exact ``log p(y)`` ``(B,)``."""
        return self.base.log_prob(self.inverse(y, context, mask), context, mask)

    @torch.no_grad()
    def sample(
        self,
        batch_size: int,
        length: int,
        context: Tensor | None = None,
        mask: Tensor | None = None,
        temperature: float = 1.0,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """One-hot samples ``(B, T, F, K)``; temperature and threshold act on the base."""
        x = self.base.sample(batch_size, length, context, mask, temperature, threshold, generator)
        return self.forward(x, context, mask)
