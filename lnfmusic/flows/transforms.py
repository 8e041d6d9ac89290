"""Look up an elementwise scalar transform by name: ``nlsq`` or ``affine``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from lnfmusic.flows import affine, nlsq


@dataclass(frozen=True)
class ScalarTransform:
    """An elementwise increasing map with per-element raw parameters ``x.shape + (P,)``.

    ``forward(eps, raw) -> (z, ladj)`` is the sampling direction, ``inverse(z, raw) ->
    (eps, ladj)`` the density direction (explicit for both transforms); ``ladj`` is
    ``log |d output / d input|``, shaped like the input.
    """

    name: str
    num_params: int
    alpha: float
    _forward: Callable[..., tuple[Tensor, Tensor]]
    _inverse: Callable[..., tuple[Tensor, Tensor]]

    def forward(self, eps: Tensor, raw: Tensor) -> tuple[Tensor, Tensor]:
        return self._forward(eps, raw, self.alpha)

    def inverse(self, z: Tensor, raw: Tensor) -> tuple[Tensor, Tensor]:
        return self._inverse(z, raw, self.alpha)


def get_transform(name: str, alpha: float = nlsq.DEFAULT_ALPHA) -> ScalarTransform:
    """``nlsq`` (with ``alpha``) or ``affine``."""
    if name == "nlsq":
        return ScalarTransform("nlsq", nlsq.NUM_PARAMS, alpha, nlsq.forward, nlsq.inverse)
    if name == "affine":
        return ScalarTransform("affine", affine.NUM_PARAMS, 0.0, affine.forward, affine.inverse)
    raise ValueError(f"unknown transform {name!r}; choose nlsq or affine")
