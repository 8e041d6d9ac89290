"""Flows within one time step, over the H latent dimensions, conditioned on a context.

Every layer maps the data-side vector ``z`` to the noise side elementwise with a scalar
transform (NLSq or affine) whose parameters come from a conditioner:

- :class:`AutoregressiveLayer` (``af``): a MADE over ``z`` — density parallel over H,
  sampling serial over H.
- :class:`CouplingLayer` (``scf``): the first half of the dimensions conditions the second
  half, which is transformed — parallel in both directions.
- :class:`IndependentLayer` (``none``): parameters from the context only (the
  "no flow across hidden" ablation).

Layer API (zuko-style, log-determinant computed with the output):
``forward(eps, context) -> (z, ladj)`` is the sampling direction, ``inverse(z, context) ->
(eps, ladj)`` the density direction; ``ladj`` has the leading shape of the input (summed over
H) and is log|det dz/deps| for ``forward`` and log|det deps/dz| for ``inverse``.

References:
    Ziegler & Rush (2019), Section 3 (AF, SCF, layered flows) and Section 4.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lnfmusic.flows.made import MADE
from lnfmusic.flows.transforms import ScalarTransform


def _small_init(linear: nn.Linear) -> nn.Linear:
    # Near-identity start, but not exactly zero so every weight receives a gradient.
    nn.init.normal_(linear.weight, std=1e-3)
    nn.init.zeros_(linear.bias)
    return linear


class AutoregressiveLayer(nn.Module):
    """MADE-conditioned autoregressive flow over H (``af`` in hidden)."""

    def __init__(self, dim: int, context_dim: int, hidden: int, transform: ScalarTransform):
        super().__init__()
        self.dim, self.transform = dim, transform
        self.made = MADE(dim, context_dim, hidden, transform.num_params)

    def inverse(self, z: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        """Density direction, one parallel pass. ``z`` ``(..., H)``, ``context`` ``(..., C)``."""
        eps, log_slope = self.transform.forward(z, self.made(z, context))
        return eps, log_slope.sum(-1)

    def forward(self, eps: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        """Sampling direction, serial over the H dimensions (H passes of the MADE)."""
        z = torch.zeros_like(eps)
        for i in range(self.dim):
            raw = self.made(z, context)[..., i, :]
            zi = self.transform.inverse(eps[..., i], raw)
            z = torch.cat([z[..., :i], zi.unsqueeze(-1), z[..., i + 1 :]], dim=-1)
        _, log_slope = self.transform.forward(z, self.made(z, context))
        return z, -log_slope.sum(-1)


class CouplingLayer(nn.Module):
    """Split coupling flow (``scf`` in hidden): ``z[:k]`` passes through and, with the
    context, parameterises the transform of ``z[k:]``. Parallel in both directions.

    The pass-through half is joined with ``torch.cat`` (never an in-place copy), so gradients
    reach it and the conditioner alike.
    """

    def __init__(self, dim: int, context_dim: int, hidden: int, transform: ScalarTransform):
        super().__init__()
        self.k = dim // 2
        self.dim, self.transform = dim, transform
        self.net = nn.Sequential(
            nn.Linear(self.k + context_dim, hidden),
            nn.ReLU(),
            _small_init(nn.Linear(hidden, (dim - self.k) * transform.num_params)),
        )

    def _params(self, keep: Tensor, context: Tensor) -> Tensor:
        raw = self.net(torch.cat([keep, context], dim=-1))
        return raw.unflatten(-1, (self.dim - self.k, self.transform.num_params))

    def inverse(self, z: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        keep, change = z[..., : self.k], z[..., self.k :]
        eps2, log_slope = self.transform.forward(change, self._params(keep, context))
        return torch.cat([keep, eps2], dim=-1), log_slope.sum(-1)

    def forward(self, eps: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        keep, change = eps[..., : self.k], eps[..., self.k :]
        raw = self._params(keep, context)
        z2 = self.transform.inverse(change, raw)
        _, log_slope = self.transform.forward(z2, raw)
        return torch.cat([keep, z2], dim=-1), -log_slope.sum(-1)


class IndependentLayer(nn.Module):
    """Per-dimension transform whose parameters depend on the context only."""

    def __init__(self, dim: int, context_dim: int, hidden: int, transform: ScalarTransform):
        super().__init__()
        self.dim, self.transform = dim, transform
        self.net = nn.Sequential(
            nn.Linear(context_dim, hidden),
            nn.ReLU(),
            _small_init(nn.Linear(hidden, dim * transform.num_params)),
        )

    def _params(self, context: Tensor) -> Tensor:
        return self.net(context).unflatten(-1, (self.dim, self.transform.num_params))

    def inverse(self, z: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        eps, log_slope = self.transform.forward(z, self._params(context))
        return eps, log_slope.sum(-1)

    def forward(self, eps: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        raw = self._params(context)
        z = self.transform.inverse(eps, raw)
        _, log_slope = self.transform.forward(z, raw)
        return z, -log_slope.sum(-1)


LAYERS = {"af": AutoregressiveLayer, "scf": CouplingLayer, "none": IndependentLayer}


class HiddenFlow(nn.Module):
    """K layers of one kind, the dimension order reversed between consecutive layers.

    ``inverse`` (density) applies layer 1..K to ``z``; ``forward`` (sampling) undoes them
    in reverse. Shapes: ``(..., H)`` with context ``(..., C)``; ``ladj`` ``(...)``.
    """

    def __init__(
        self, kind: str, dim: int, context_dim: int, hidden: int, layers: int,
        transform: ScalarTransform,
    ):
        super().__init__()
        if kind not in LAYERS:
            raise ValueError(f"unknown hidden flow {kind!r}; choose af, scf or none")
        self.layers = nn.ModuleList(
            LAYERS[kind](dim, context_dim, hidden, transform) for _ in range(layers)
        )

    def inverse(self, z: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        ladj = z.new_zeros(z.shape[:-1])
        for i, layer in enumerate(self.layers):
            if i > 0:
                z = z.flip(-1)
            z, l = layer.inverse(z, context)
            ladj = ladj + l
        if len(self.layers) > 1 and (len(self.layers) - 1) % 2 == 1:
            z = z.flip(-1)  # an odd number of flips: restore the original order
        return z, ladj

    def forward(self, eps: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        ladj = eps.new_zeros(eps.shape[:-1])
        n = len(self.layers)
        if n > 1 and (n - 1) % 2 == 1:
            eps = eps.flip(-1)
        for i in reversed(range(n)):
            eps, l = self.layers[i].forward(eps, context)
            ladj = ladj + l
            if i > 0:
                eps = eps.flip(-1)
        return eps, ladj
