"""Modular arithmetic on one-hot tensors: values against integer arithmetic, exact inverses,
units, and gradients against the bilinear maps written out densely."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from lnfmusic.discrete.modular import (
    affine_forward,
    affine_inverse,
    inverse_table,
    one_hot_add,
    one_hot_multiply,
    one_hot_subtract,
    units,
)

KS = [2, 3, 4, 5, 6, 10, 12]


def oh(i: torch.Tensor, K: int) -> torch.Tensor:
    return F.one_hot(i, K).double()


@pytest.mark.parametrize("K", KS)
def test_units_are_exactly_the_coprime_scales(K: int) -> None:
    u = units(K)
    assert u.tolist() == [math.gcd(s, K) == 1 for s in range(K)]
    assert not u[0]


@pytest.mark.parametrize("K", KS)
def test_inverse_table_inverts_every_unit_and_is_a_permutation(K: int) -> None:
    inv = inverse_table(K)
    assert sorted(inv.tolist()) == list(range(K))
    for s in range(K):
        if math.gcd(s, K) == 1:
            assert (s * int(inv[s])) % K == 1


def test_fewer_than_two_classes_is_an_error() -> None:
    with pytest.raises(ValueError):
        units(1)


@pytest.mark.parametrize("K", KS)
def test_values_match_integer_arithmetic_for_every_pair(K: int) -> None:
    a, b = torch.tensor(list(itertools.product(range(K), repeat=2))).T
    assert (one_hot_add(oh(a, K), oh(b, K)).argmax(-1) == (a + b) % K).all()
    assert (one_hot_subtract(oh(a, K), oh(b, K)).argmax(-1) == (a - b) % K).all()
    assert (one_hot_multiply(oh(a, K), oh(b, K)).argmax(-1) == (a * b) % K).all()
    for out in (one_hot_add(oh(a, K), oh(b, K)), one_hot_multiply(oh(a, K), oh(b, K))):
        assert ((out == 0) | (out == 1)).all() and (out.sum(-1) == 1).all()


@pytest.mark.parametrize("K", KS)
def test_affine_inverse_is_exact_for_every_x_loc_and_unit_scale(K: int) -> None:
    scales = [s for s in range(K) if math.gcd(s, K) == 1]
    x, m, s = torch.tensor(list(itertools.product(range(K), range(K), scales))).T
    y = affine_forward(oh(x, K), oh(m, K), oh(s, K))
    assert (y.argmax(-1) == (m + s * x) % K).all()
    assert (affine_inverse(y, oh(m, K), oh(s, K)).argmax(-1) == x).all()
    # scale None is 1: a shift (XOR for K = 2)
    assert (affine_forward(oh(x, K), oh(m, K)).argmax(-1) == (x + m) % K).all()


def dense(op: str, K: int) -> torch.Tensor:
    """The bilinear form ``W[i, j, k]``: ``out[k] = sum_ij u[i] v[j] W[i, j, k]``."""
    W = torch.zeros(K, K, K, dtype=torch.float64)
    for i, j in itertools.product(range(K), repeat=2):
        k = {"add": i + j, "sub": i - j, "mul": i * j}[op] % K
        W[i, j, k] = 1
    return W


@pytest.mark.parametrize("K", [2, 3, 5, 6])
@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_gradient_is_that_of_the_bilinear_map_at_the_one_hot_point(K: int, op: str) -> None:
    fn = {"add": one_hot_add, "sub": one_hot_subtract, "mul": one_hot_multiply}[op]
    gen = torch.Generator().manual_seed(K)
    i, j = torch.randint(K, (7,), generator=gen), torch.randint(K, (7,), generator=gen)
    g = torch.randn(7, K, generator=gen, dtype=torch.float64)
    u, v = oh(i, K).requires_grad_(), oh(j, K).requires_grad_()
    (fn(u, v) * g).sum().backward()
    u2, v2 = oh(i, K).requires_grad_(), oh(j, K).requires_grad_()
    (torch.einsum("bi,bj,ijk->bk", u2, v2, dense(op, K)) * g).sum().backward()
    torch.testing.assert_close(u.grad, u2.grad)
    torch.testing.assert_close(v.grad, v2.grad)


def test_operands_broadcast_and_must_share_the_class_dimension() -> None:
    x = oh(torch.tensor([[1, 2], [3, 4]]), 5)
    m = oh(torch.tensor([1]), 5)
    assert one_hot_add(x, m).argmax(-1).tolist() == [[2, 3], [4, 0]]
    with pytest.raises(ValueError):
        one_hot_add(x, oh(torch.tensor([1]), 4))
