"""Conditioners: causality (output t never depends on inputs >= t), shapes, contexts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lnfmusic.discrete.networks import BiLSTMNet, CausalLSTMNet, MaskedMLP

pytestmark = pytest.mark.usefixtures("float64")


def one_hot(B: int, T: int, Fe: int, K: int) -> torch.Tensor:
    return F.one_hot(torch.randint(K, (B, T, Fe)), K).double()


def jacobian_by_position(net, x, context=None) -> torch.Tensor:
    """``J[t_out, t_in]`` = any dependence of outputs at t_out on inputs at t_in."""
    x = x.clone().requires_grad_()
    out = net(x, context)
    T = x.shape[1]
    dep = torch.zeros(T, T, dtype=torch.bool)
    for t in range(T):
        (g,) = torch.autograd.grad(out[:, t].sum(), x, retain_graph=True)
        dep[t] = g.abs().sum((0, 2, 3)) > 0
    return dep


@pytest.mark.parametrize("T,Fe,K,layers", [(4, 1, 3, 1), (6, 2, 2, 2), (3, 1, 5, 3)])
def test_masked_mlp_is_strictly_causal_and_position_0_sees_only_the_context(
    T, Fe, K, layers
) -> None:
    net = MaskedMLP(T, Fe, K, out=2 * K, hidden=24, num_hidden=layers, context_dim=3)
    for m in net.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight)
    x = one_hot(2, T, Fe, K)
    assert net(x).shape == (2, T, Fe, 2 * K)
    dep = jacobian_by_position(net, x, torch.randn(2, 3))
    assert torch.equal(dep, torch.ones(T, T, dtype=torch.bool).tril(-1))


@pytest.mark.parametrize("T,Fe,K", [(5, 1, 4), (7, 3, 2)])
def test_causal_lstm_is_strictly_causal_with_either_context(T, Fe, K) -> None:
    net = CausalLSTMNet(Fe, K, out=K, hidden=8, num_layers=2, context_dim=3, step_context_dim=3)
    x = one_hot(2, T, Fe, K)
    for context in (None, torch.randn(2, 3), torch.randn(2, T, 3)):
        assert net(x, context).shape == (2, T, Fe, K)
        dep = jacobian_by_position(net, x, context)
        assert torch.equal(dep, torch.ones(T, T, dtype=torch.bool).tril(-1))


def test_bilstm_sees_everything() -> None:
    net = BiLSTMNet(2, 3, out=3, hidden=8)
    dep = jacobian_by_position(net, one_hot(2, 5, 2, 3))
    assert dep.all()


def test_a_context_the_network_was_not_built_for_is_an_error() -> None:
    net = CausalLSTMNet(1, 3, out=3, hidden=4)
    with pytest.raises(ValueError):
        net(one_hot(1, 3, 1, 3), torch.randn(1, 2))
    with pytest.raises(ValueError):
        net(one_hot(1, 3, 1, 3), torch.randn(1, 3, 2))
    with pytest.raises(ValueError):
        MaskedMLP(3, 1, 3, out=3)(one_hot(1, 4, 1, 3))


@pytest.mark.parametrize("kind", ["sequence", "step"])
def test_a_network_has_parameters_only_for_its_context(kind: str) -> None:
    dims = {"context_dim": 3} if kind == "sequence" else {"step_context_dim": 3}
    net = CausalLSTMNet(1, 3, out=3, hidden=4, **dims)
    context = torch.randn(2, 3) if kind == "sequence" else torch.randn(2, 4, 3)
    net(one_hot(2, 4, 1, 3), context).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
