"""The affine scalar transform ``F(x) = a + exp(s) x`` (the ``--transform affine`` ablation).

Same conventions as :mod:`lnfmusic.flows.nlsq`: ``forward`` is the explicit density
direction, ``inverse`` the sampling direction.
"""

from __future__ import annotations

from torch import Tensor

NUM_PARAMS = 2


def forward(x: Tensor, raw: Tensor, alpha: float = 0.0) -> tuple[Tensor, Tensor]:
    """``y = a + exp(s) x``; returns ``(y, log F'(x) = s)``. ``raw``: ``x.shape + (2,)``."""
    a, s = raw.unbind(-1)
    return a + s.exp() * x, s.expand_as(x)


def inverse(y: Tensor, raw: Tensor, alpha: float = 0.0) -> Tensor:
    """``x = (y - a) exp(-s)``."""
    a, s = raw.unbind(-1)
    return (y - a) * (-s).exp()
