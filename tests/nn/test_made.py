"""MADE: the autoregressive property, checked on the Jacobian, and the context path."""

from __future__ import annotations

import pytest
import torch
from torch.autograd.functional import jacobian

from lnfmusic.nn.made import MADE

pytestmark = pytest.mark.usefixtures("float64")


def _randomise(made: MADE) -> MADE:
    """Replace the near-zero output init by O(1) weights so every allowed path is visible,
    and bias the hidden units well into the ReLU's linear part (no dead unit hides a path)."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in made.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype))
        made.inp.bias.fill_(100.0)
    return made


@pytest.mark.parametrize("dim,hidden,num_params", [(1, 4, 2), (2, 8, 5), (5, 16, 5), (7, 5, 2)])
def test_output_i_depends_only_on_inputs_before_i(dim: int, hidden: int, num_params: int) -> None:
    made = _randomise(MADE(dim, 3, hidden, num_params))
    x = torch.randn(dim)
    ctx = torch.randn(3)
    jac = jacobian(lambda v: made(v, ctx), x)  # (D, P, D): d out[i, p] / d x[j]
    assert jac.shape == (dim, num_params, dim)
    dep = jac.abs().amax(1) > 0  # (D, D)
    allowed = torch.ones(dim, dim).tril(-1).bool()  # j < i
    assert not (dep & ~allowed).any(), "an output depends on an input at or after its index"
    if hidden >= dim - 1:
        # with enough hidden units every allowed connection exists (not vacuous)
        assert (dep == allowed).all()


def test_context_reaches_every_output() -> None:
    dim, P = 6, 5
    made = _randomise(MADE(dim, 4, 12, P))
    x = torch.randn(dim)
    ctx = torch.randn(4)
    jac = jacobian(lambda c: made(x, c), ctx)  # (D, P, C)
    assert (jac.abs().amax(-1) > 0).all()


def test_batched_shapes_and_sequential_matches_parallel() -> None:
    dim, P = 5, 5
    made = _randomise(MADE(dim, 3, 10, P))
    x = torch.randn(4, 2, dim)
    ctx = torch.randn(4, 2, 3)
    full = made(x, ctx)
    assert full.shape == (4, 2, dim, P)
    state = made.sequential(ctx)
    for i in range(dim):
        torch.testing.assert_close(state.params(), full[..., i, :], rtol=1e-12, atol=1e-12)
        state.push(x[..., i])


def test_default_init_gives_gradient_to_every_parameter() -> None:
    made = MADE(4, 3, 8, 5)
    out = made(torch.randn(2, 4), torch.randn(2, 3))
    (out**2).sum().backward()
    for name, p in made.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
