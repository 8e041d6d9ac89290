"""The synthetic tasks of Tran et al. (2019), Section 4, as exact distributions.

Every vector task is a distribution over ``K^D`` outcomes given as a probability vector in
lexicographic order (outcome ``i`` has digits :func:`digits` ``(i, D, K)``, first digit most
significant), so its entropy, exact sampling and a model's exact cross-entropy need no
Monte Carlo. The addition task is conditional and deterministic; it is sampled.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def digits(index: Tensor, length: int, base: int) -> Tensor:
    """Flat outcome indices ``(N,)`` to their digits ``(N, length)``, most significant first."""
    powers = base ** torch.arange(length - 1, -1, -1, device=index.device)
    return (index[:, None] // powers) % base


def entropy(probs: Tensor) -> float:
    """``-sum p log p`` in nats (terms with p = 0 contribute 0)."""
    p = probs.double()
    return float(-(p[p > 0] * p[p > 0].log()).sum())


def draw(probs: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``n`` exact draws of flat outcome indices from ``probs``."""
    return torch.multinomial(probs.double(), n, replacement=True, generator=generator)


def full_rank(length: int, num_classes: int, generator: torch.Generator) -> Tensor:
    """Probabilities of all ``K^D`` outcomes drawn from a Dirichlet with every alpha = 1
    (normalised independent unit exponentials). Paper Section 4.1."""
    e = torch.empty(num_classes**length, dtype=torch.float64).exponential_(generator=generator)
    return e / e.sum()


def gaussian_ring(
    bins: int = 90,
    radius: float = 2.0,
    variance: float = 0.01,
    bound: float = 2.25,
    components: int = 8,
) -> Tensor:
    """Mixture of ``components`` isotropic Gaussians with means evenly spaced on a circle,
    truncated to ``[-bound, bound]^2`` and discretised into ``bins`` cells per axis (paper
    Figure 2: cells of 0.05). Returns ``(bins * bins,)`` probabilities, outcome
    ``i * bins + j`` for cell ``i`` along x and ``j`` along y; exact cell masses (the
    Gaussian CDF), renormalised over the square."""
    edges = torch.linspace(-bound, bound, bins + 1, dtype=torch.float64)
    angles = 2 * math.pi * torch.arange(components, dtype=torch.float64) / components
    sd = math.sqrt(variance)

    def cell_mass(mean: Tensor) -> Tensor:  # (components, bins)
        cdf = 0.5 * (1 + torch.erf((edges[None, :] - mean[:, None]) / (sd * math.sqrt(2))))
        return cdf[:, 1:] - cdf[:, :-1]

    mx, my = cell_mass(radius * torch.cos(angles)), cell_mass(radius * torch.sin(angles))
    p = torch.einsum("ci,cj->ij", mx, my).reshape(-1)
    return p / p.sum()


def lattice_edges(side: int) -> list[tuple[int, int]]:
    """Neighbour pairs (right, below) of a ``side x side`` lattice, free boundary,
    sites numbered in raster order."""
    pairs = []
    for r in range(side):
        for c in range(side):
            i = r * side + c
            if c + 1 < side:
                pairs.append((i, i + 1))
            if r + 1 < side:
                pairs.append((i, i + side))
    return pairs


def potts(side: int, states: int, coupling: float) -> Tensor:
    """The square-lattice Potts model ``p(x) ∝ exp(J sum_<ij> [x_i = x_j])`` (Wu 1982;
    free boundary) over all ``states^(side^2)`` configurations, by enumeration."""
    D = side * side
    if states**D > 5**9:
        raise ValueError(f"{states}^{D} configurations are too many to enumerate")
    x = digits(torch.arange(states**D), D, states)
    agree = torch.zeros(len(x), dtype=torch.float64)
    for i, j in lattice_edges(side):
        agree += (x[:, i] == x[:, j]).double()
    return torch.softmax(coupling * agree, 0)


def addition(n: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` problems of two uniformly random ``length``-digit numbers (leading zeros
    allowed) and their sum without the carry out of the top digit (paper Section 4.2).
    Returns ``(inputs (n, length, 2), sums (n, length))``, digits most significant first."""
    a = torch.randint(0, 10, (n, length), generator=generator)
    b = torch.randint(0, 10, (n, length), generator=generator)
    total = a + b
    s = torch.empty_like(total)
    carry = torch.zeros(n, dtype=torch.long)
    for t in reversed(range(length)):
        v = total[:, t] + carry
        s[:, t], carry = v % 10, v // 10
    return torch.stack([a, b], -1), s
