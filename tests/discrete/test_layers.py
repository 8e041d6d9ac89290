"""Flow layers: exact bijections on enumerated spaces, causality, parallel directions,
never a non-invertible scale, gradients on every parameter, padding left untouched."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lnfmusic.discrete.layers import AutoregressiveFlow, BipartiteFlow, zero_padding
from lnfmusic.discrete.networks import BiLSTMNet, CausalLSTMNet, MaskedMLP
from tests.helpers import every_point, random_discrete_flow

pytestmark = pytest.mark.usefixtures("float64")

SPACES = [(2, 1, 2), (3, 1, 3), (4, 1, 2), (2, 2, 3), (3, 1, 4), (2, 1, 6)]


def idx(x: torch.Tensor) -> list[tuple[int, ...]]:
    return [tuple(r) for r in x.argmax(-1).flatten(1).tolist()]


@pytest.mark.parametrize("arch", ["ar", "bipartite"])
@pytest.mark.parametrize("T,Fe,K", SPACES)
@pytest.mark.parametrize("seed", [0, 1])
def test_every_layer_is_a_bijection_with_an_exact_inverse(arch, T, Fe, K, seed) -> None:
    flow = random_discrete_flow(arch, T, Fe, K, depth=3, scale=K > 2, seed=seed)
    y = every_point(T, Fe, K)
    for layer in flow.layers:
        x = layer.inverse(y)
        assert len(set(idx(x))) == len(y)  # a permutation of the space
        assert torch.equal(layer(x), y)
        assert torch.equal(layer.inverse(layer(y)), y)


def test_layers_are_not_the_identity_so_the_checks_above_mean_something() -> None:
    flow = random_discrete_flow("ar", 3, 1, 3, depth=2, scale=True, seed=0)
    y = every_point(3, 1, 3)
    assert all(not torch.equal(layer.inverse(y), y) for layer in flow.layers)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("net", ["made", "lstm"])
def test_autoregressive_inverse_is_causal(reverse: bool, net: str) -> None:
    """Changing y_s changes x_t only for t >= s (t <= s reversed), and x_s always."""
    T, K = 5, 4
    torch.manual_seed(0)
    conditioner = (
        MaskedMLP(T, 1, K, K, hidden=32) if net == "made" else CausalLSTMNet(1, K, K, hidden=16)
    )
    for m in conditioner.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, std=5.0)
    layer = AutoregressiveFlow(conditioner, K, reverse=reverse)
    y = F.one_hot(torch.randint(K, (64, T, 1)), K).double()
    x = layer.inverse(y)
    changed_somewhere = torch.zeros(T, T, dtype=torch.bool)
    for s in range(T):
        y2 = y.clone()
        y2[:, s] = y2[:, s].roll(1, -1)
        diff = (layer.inverse(y2) != x).any(-1).any(-1).any(0)  # (T,)
        changed_somewhere[s] = diff
    allowed = torch.ones(T, T, dtype=torch.bool)
    allowed = allowed.triu() if not reverse else allowed.tril()
    assert not (changed_somewhere & ~allowed).any()
    assert changed_somewhere.diagonal().all()
    assert (changed_somewhere & allowed & ~torch.eye(T, dtype=torch.bool)).any()


class Counting(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net, self.calls = net, 0

    def forward(self, x, context=None):
        self.calls += 1
        return self.net(x, context)


@pytest.mark.parametrize("axis", ["time", "features"])
def test_bipartite_layers_are_one_pass_in_both_directions_and_keep_half(axis: str) -> None:
    net = Counting(BiLSTMNet(4, 3, 6, hidden=8))
    layer = BipartiteFlow(net, 3, parity=1, axis=axis, scale=True)
    y = F.one_hot(torch.randint(3, (5, 6, 4)), 3).double()
    x = layer.inverse(y)
    assert net.calls == 1
    assert torch.equal(layer(x), y) and net.calls == 2
    kept = ~layer.transformed(y).expand_as(y)
    assert torch.equal(x[kept], y[kept])


def test_autoregressive_sampling_direction_takes_one_pass_per_position() -> None:
    net = Counting(CausalLSTMNet(1, 3, 3, hidden=4))
    layer = AutoregressiveFlow(net, 3)
    layer(F.one_hot(torch.randint(3, (2, 7, 1)), 3).double())
    assert net.calls == 7


@pytest.mark.parametrize("K", [4, 6, 9, 10, 12])
def test_a_non_coprime_scale_is_never_chosen(K: int) -> None:
    torch.manual_seed(K)
    layer = AutoregressiveFlow(MaskedMLP(3, 1, K, 2 * K, hidden=16), K, scale=True)
    for m in layer.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, std=10.0)
            torch.nn.init.normal_(m.bias, std=10.0)
    y = F.one_hot(torch.randint(K, (500, 3, 1)), K).double()
    _, scale = layer.params(y, None)
    chosen = set(scale.argmax(-1).flatten().tolist())
    assert chosen and all(torch.gcd(torch.tensor(s), torch.tensor(K)) == 1 for s in chosen)


@pytest.mark.parametrize("arch", ["ar", "bipartite"])
def test_every_parameter_gets_a_gradient(arch: str) -> None:
    flow = random_discrete_flow(arch, 4, 2, 3, depth=2, scale=True, seed=0)
    for layer in flow.layers:  # moderate weights: softmax at tau = 0.1 not saturated
        for m in layer.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, std=0.05)
    y = F.one_hot(torch.randint(3, (16, 4, 2)), 3).double()
    flow.log_prob(y).sum().backward()
    for name, p in flow.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("arch", ["ar", "bipartite"])
def test_padding_stays_zero_and_real_positions_ignore_it(arch: str) -> None:
    flow = random_discrete_flow(arch, 5, 1, 3, depth=2, scale=True, seed=2)
    y = F.one_hot(torch.randint(3, (4, 5, 1)), 3).double()
    mask = torch.arange(5)[None] < torch.tensor([5, 3, 2, 1])[:, None]
    y = zero_padding(y, mask)
    for layer in flow.layers:
        x = layer.inverse(y, mask=mask)
        assert (x[~mask] == 0).all() and (x[mask].sum(-1) == 1).all()
        assert torch.equal(layer(x, mask=mask), y)


@pytest.mark.parametrize("K", [2, 5, 6])
@pytest.mark.parametrize("scale", [False, True])
def test_identity_bias_starts_a_layer_as_the_identity_and_still_learns(K: int, scale: bool) -> None:
    torch.manual_seed(K)
    T, Fe = 2, 2
    x = every_point(T, Fe, K)
    P = 2 if scale else 1
    for layer in (
        AutoregressiveFlow(MaskedMLP(T, Fe, K, P * K), K, scale=scale, identity_bias=1.0),
        BipartiteFlow(BiLSTMNet(Fe, K, P * K, hidden=8), K, parity=0, scale=scale,
                      identity_bias=1.0),
    ):  # fmt: skip
        assert torch.equal(layer(x), x) and torch.equal(layer.inverse(x), x)
        layer.inverse(x).sum().backward()  # the offset is a constant: the net still learns
        assert all(p.grad is not None for p in layer.parameters())
        with pytest.raises(ValueError, match="identity_bias"):
            type(layer)(
                layer.net,
                K,
                identity_bias=-1.0,
                **({"parity": 0} if isinstance(layer, BipartiteFlow) else {}),
            )


def test_logit_bound_changes_only_the_gradient_never_the_map() -> None:
    # tanh is monotone: the argmax, so the bijection, is the same with and without a bound
    torch.manual_seed(0)
    T, Fe, K = 2, 2, 5
    x = every_point(T, Fe, K)
    net = MaskedMLP(T, Fe, K, 2 * K)
    with torch.no_grad():
        net.output.weight.mul_(30.0)  # outputs of order one, as after some training
    out, grads = {}, {}
    for bound in (0.0, 0.3):
        layer = AutoregressiveFlow(net, K, scale=True, logit_bound=bound)
        out[bound] = layer(x)
        assert torch.equal(layer.inverse(out[bound]), x)
        net.zero_grad()
        (layer.inverse(x) * torch.linspace(-1, 1, K)).sum().backward()
        grads[bound] = net.output.weight.grad.clone()
    assert torch.equal(out[0.0], out[0.3])
    assert torch.isfinite(grads[0.3]).all() and grads[0.3].abs().sum() > 0
    assert not torch.equal(grads[0.0], grads[0.3])
    with pytest.raises(ValueError, match="logit_bound"):
        AutoregressiveFlow(net, K, logit_bound=-1.0)
