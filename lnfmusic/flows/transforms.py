"""Look up a scalar transform by name: ``nlsq`` or ``affine``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from lnfmusic.flows import affine, nlsq


@dataclass(frozen=True)
class ScalarTransform:
    """An elementwise monotone map with per-element parameters.

    ``forward(x, raw) -> (y, log F'(x))`` is explicit (density direction);
    ``inverse(y, raw) -> x`` is the sampling direction.
    """

    name: str
    num_params: int
    alpha: float
    _forward: Callable[..., tuple[Tensor, Tensor]]
    _inverse: Callable[..., Tensor]

    def forward(self, x: Tensor, raw: Tensor) -> tuple[Tensor, Tensor]:
        return self._forward(x, raw, self.alpha)

    def inverse(self, y: Tensor, raw: Tensor) -> Tensor:
        return self._inverse(y, raw, self.alpha)


def get_transform(name: str, alpha: float = nlsq.DEFAULT_ALPHA) -> ScalarTransform:
    if name == "nlsq":
        return ScalarTransform("nlsq", nlsq.NUM_PARAMS, alpha, nlsq.forward, nlsq.inverse)
    if name == "affine":
        return ScalarTransform("affine", affine.NUM_PARAMS, 0.0, affine.forward, affine.inverse)
    raise ValueError(f"unknown transform {name!r}; choose nlsq or affine")
