"""The affine scalar transform (the ``--transform affine`` ablation).

Raw parameters ``(..., 2)`` = ``(a, s)``: shift and log-scale. Same direction convention as
:mod:`lnfmusic.flows.nlsq` (it is NLSq with ``c = 0``):

- ``inverse(z, raw) -> (eps, ladj)``: density direction, ``eps = a + exp(s) z``, ``ladj = s``;
- ``forward(eps, raw) -> (z, ladj)``: sampling direction, ``z = (eps - a) exp(-s)``,
  ``ladj = -s``.

Both directions are explicit and elementwise; ``ladj`` is ``log |d output / d input|``,
shaped like the input.

References:
    Ziegler & Rush (2019), Section 3 (affine AF/IAF/SCF).
"""

from __future__ import annotations

from torch import Tensor

NUM_PARAMS = 2


def inverse(z: Tensor, raw: Tensor, alpha: float = 0.0) -> tuple[Tensor, Tensor]:
    """Density direction ``eps = a + exp(s) z``; returns ``(eps, s)``. ``alpha`` is unused."""
    a, s = raw.unbind(-1)
    return a + s.exp() * z, s.expand_as(z)


def forward(eps: Tensor, raw: Tensor, alpha: float = 0.0) -> tuple[Tensor, Tensor]:
    """Sampling direction ``z = (eps - a) exp(-s)``; returns ``(z, -s)``."""
    a, s = raw.unbind(-1)
    return (eps - a) * (-s).exp(), (-s).expand_as(eps)
