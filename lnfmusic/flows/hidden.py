"""Flows within one time step, over the H latent dimensions, conditioned on a context.

Each layer transforms ``z`` elementwise with a scalar transform (NLSq or affine) whose
parameters come from a conditioner:

- :class:`AutoregressiveLayer` (``af``): a MADE over ``z`` — density parallel over H,
  sampling serial over H (H incremental MADE steps).
- :class:`CouplingLayer` (``scf``): the first ``H // 2`` dimensions pass through and, with
  the context, parameterise the transform of the rest — parallel in both directions.
- :class:`IndependentLayer` (``none``): parameters from the context only, no dependence
  across hidden (the "no flow across hidden" ablation) — parallel in both directions.

Layer API (log-determinant computed with the output): ``forward(eps, context) -> (z, ladj)``
is the sampling direction, ``inverse(z, context) -> (eps, ladj)`` the density direction.
Shapes: ``eps``, ``z`` ``(..., H)``; ``context`` ``(..., C)``; ``ladj`` ``(...)`` (summed
over H) = ``log |det dz/deps|`` for ``forward``, ``log |det deps/dz|`` for ``inverse``.

References:
    Ziegler & Rush (2019), Section 3 (AF, SCF, layered flows with reversed order).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lnfmusic.flows.transforms import ScalarTransform
from lnfmusic.nn.made import MADE


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
        """Density direction, one parallel pass."""
        eps, ladj = self.transform.inverse(z, self.made(z, context))
        return eps, ladj.sum(-1)

    def forward(self, eps: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        """Sampling direction, serial over the H dimensions."""
        state = self.made.sequential(context)
        zs, ladj = [], eps.new_zeros(eps.shape[:-1])
        for i in range(self.dim):
            z_i, l_i = self.transform.forward(eps[..., i], state.params())
            state.push(z_i)
            zs.append(z_i)
            ladj = ladj + l_i
        return torch.stack(zs, -1), ladj


class CouplingLayer(nn.Module):
    """Split coupling flow (``scf`` in hidden): ``z[:k]`` passes through and, with the
    context, parameterises the transform of ``z[k:]``; ``k = keep``, default ``H // 2``.

    The output is assembled with ``torch.cat`` (never an in-place copy into a detached
    buffer), so gradients reach both halves and the conditioner.
    """

    def __init__(
        self,
        dim: int,
        context_dim: int,
        hidden: int,
        transform: ScalarTransform,
        keep: int | None = None,
    ):
        super().__init__()
        self.k = dim // 2 if keep is None else keep
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
        """Density direction, parallel."""
        keep, change = z[..., : self.k], z[..., self.k :]
        eps2, ladj = self.transform.inverse(change, self._params(keep, context))
        return torch.cat([keep, eps2], dim=-1), ladj.sum(-1)

    def forward(self, eps: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        """Sampling direction, parallel."""
        keep, change = eps[..., : self.k], eps[..., self.k :]
        z2, ladj = self.transform.forward(change, self._params(keep, context))
        return torch.cat([keep, z2], dim=-1), ladj.sum(-1)


class IndependentLayer(nn.Module):
    """Per-dimension transform whose parameters depend on the context only (``none``)."""

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
        eps, ladj = self.transform.inverse(z, self._params(context))
        return eps, ladj.sum(-1)

    def forward(self, eps: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        z, ladj = self.transform.forward(eps, self._params(context))
        return z, ladj.sum(-1)


LAYERS = {"af": AutoregressiveLayer, "scf": CouplingLayer, "none": IndependentLayer}


class HiddenFlow(nn.Module):
    """K layers of one kind; odd-numbered layers see the dimensions in reversed order.

    Coupling layers keep ``H // 2`` dimensions in even layers and ``H - H // 2`` in odd
    (reversed) ones, so that for odd H the middle dimension also conditions the others.

    ``inverse`` (density) applies layers ``1 .. K`` to ``z``; ``forward`` (sampling) undoes
    them from ``K`` down to ``1``. Shapes: ``(..., H)`` with context ``(..., C)``; ``ladj``
    ``(...)``. Which direction is serial is decided by the layer kind (see module docstring).
    """

    def __init__(
        self,
        kind: str,
        dim: int,
        context_dim: int,
        hidden: int,
        layers: int,
        transform: ScalarTransform,
    ):
        super().__init__()
        if kind not in LAYERS:
            raise ValueError(f"unknown hidden flow {kind!r}; choose af, scf or none")
        self.kind, self.dim = kind, dim
        self.layers = nn.ModuleList()
        for i in range(layers):
            if kind == "scf":
                keep = dim // 2 if i % 2 == 0 else dim - dim // 2
                self.layers.append(CouplingLayer(dim, context_dim, hidden, transform, keep))
            else:
                self.layers.append(LAYERS[kind](dim, context_dim, hidden, transform))

    def inverse(self, z: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        """Density direction ``z -> eps``; ``ladj = log |det deps/dz|``."""
        ladj = z.new_zeros(z.shape[:-1])
        for i, layer in enumerate(self.layers):
            flip = i % 2 == 1
            z, l_i = layer.inverse(z.flip(-1) if flip else z, context)
            z = z.flip(-1) if flip else z
            ladj = ladj + l_i
        return z, ladj

    def forward(self, eps: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        """Sampling direction ``eps -> z``; ``ladj = log |det dz/deps|``."""
        ladj = eps.new_zeros(eps.shape[:-1])
        for i in reversed(range(len(self.layers))):
            flip = i % 2 == 1
            eps, l_i = self.layers[i].forward(eps.flip(-1) if flip else eps, context)
            eps = eps.flip(-1) if flip else eps
            ladj = ladj + l_i
        return eps, ladj
