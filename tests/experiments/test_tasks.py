"""The synthetic distributions against independent computations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lnfmusic.experiments import tasks


def test_digits_are_the_lexicographic_order() -> None:
    idx = torch.arange(27)
    expected = torch.tensor(list(itertools.product(range(3), repeat=3)))
    assert torch.equal(tasks.digits(idx, 3, 3), expected)


@pytest.mark.parametrize(("D", "K"), [(2, 2), (3, 4), (5, 5)])
def test_full_rank_is_a_distribution_with_the_dirichlet_mean_entropy(D: int, K: int) -> None:
    g = torch.Generator().manual_seed(D * K)
    draws = [tasks.full_rank(D, K, g) for _ in range(300)]
    assert all(p.shape == (K**D,) and (p > 0).all() for p in draws)
    assert all(float(p.sum()) == pytest.approx(1.0, abs=1e-12) for p in draws)
    # E[H] of a flat Dirichlet over N outcomes is psi(N + 1) - psi(2) = H_N - 1
    N = K**D
    expected = sum(1 / k for k in range(1, N + 1)) - 1
    mean = np.mean([tasks.entropy(p) for p in draws])
    assert mean == pytest.approx(expected, abs=0.03)
    # every outcome equally likely a priori: the mean probabilities are flat
    assert float(torch.stack(draws).mean(0).std() * N) < 0.15


def test_gaussian_ring_matches_a_monte_carlo_histogram() -> None:
    p = tasks.gaussian_ring().view(90, 90)
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(0)
    n = 400_000
    angle = 2 * np.pi * rng.integers(0, 8, n) / 8
    pts = np.stack([2 * np.cos(angle), 2 * np.sin(angle)], 1) + 0.1 * rng.standard_normal((n, 2))
    pts = pts[(np.abs(pts) <= 2.25).all(1)]
    cells = np.clip(((pts + 2.25) / 0.05).astype(int), 0, 89)
    hist = np.zeros((90, 90))
    np.add.at(hist, (cells[:, 0], cells[:, 1]), 1)
    hist /= hist.sum()
    assert 0.5 * np.abs(hist - p.numpy()).sum() < 0.03  # total variation
    # the ring's symmetry: a quarter turn maps the table to itself
    assert torch.allclose(p, p.T.flip(0), atol=1e-12)


def test_potts_against_a_direct_sum_on_two_by_two() -> None:
    q, J = 3, 0.7
    p = tasks.potts(2, q, J)
    edges = [(0, 1), (2, 3), (0, 2), (1, 3)]
    assert sorted(tasks.lattice_edges(2)) == sorted(edges)
    w = [
        math.exp(J * sum(x[i] == x[j] for i, j in edges))
        for x in itertools.product(range(q), repeat=4)
    ]
    assert torch.allclose(p, torch.tensor(w, dtype=torch.float64) / sum(w), atol=1e-12)
    assert len(tasks.lattice_edges(3)) == 12
    # no coupling: uniform, entropy D ln q
    assert tasks.entropy(tasks.potts(3, 3, 0.0)) == pytest.approx(9 * math.log(3))
    with pytest.raises(ValueError, match="too many"):
        tasks.potts(4, 3, 0.1)


def test_addition_digits_are_the_sum_without_the_top_carry() -> None:
    g = torch.Generator().manual_seed(0)
    inputs, sums = tasks.addition(500, 12, g)
    for (a, b), s in zip(inputs.permute(0, 2, 1).tolist(), sums.tolist(), strict=True):
        value = lambda ds: int("".join(map(str, ds)))  # noqa: E731
        assert value(s) == (value(a) + value(b)) % 10**12


def test_draw_follows_the_probabilities() -> None:
    p = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
    x = tasks.draw(p, 40_000, torch.Generator().manual_seed(1))
    freq = torch.bincount(x, minlength=3).double() / len(x)
    assert torch.allclose(freq, p, atol=0.01)
