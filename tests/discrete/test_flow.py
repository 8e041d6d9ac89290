"""The whole flow: log p(y) = log p_base(f^{-1}(y)), normalised over enumerated spaces,
samples from it follow it, invertible end to end."""

from __future__ import annotations

import pytest
import torch

from tests.helpers import every_point, random_discrete_flow

pytestmark = pytest.mark.usefixtures("float64")


@pytest.mark.parametrize("arch", ["ar", "bipartite"])
@pytest.mark.parametrize(
    "T,Fe,K,depth", [(2, 1, 2, 1), (3, 1, 3, 2), (2, 2, 3, 3), (3, 1, 5, 4), (5, 1, 2, 3)]
)
@pytest.mark.parametrize("seed", [0, 3])
def test_distribution_sums_to_one_and_equals_the_base_at_the_inverse(
    arch, T, Fe, K, depth, seed
) -> None:
    flow = random_discrete_flow(arch, T, Fe, K, depth, scale=K > 2, seed=seed)
    y = every_point(T, Fe, K)
    lp = flow.log_prob(y)
    torch.testing.assert_close(lp.exp().sum(), torch.tensor(1.0, dtype=lp.dtype))
    torch.testing.assert_close(lp, flow.base.log_prob(flow.inverse(y)))
    assert torch.equal(flow(flow.inverse(y)), y)


def test_the_flow_changes_the_distribution() -> None:
    flow = random_discrete_flow("bipartite", 3, 1, 3, 2, scale=True, seed=0)
    y = every_point(3, 1, 3)
    assert not torch.allclose(flow.log_prob(y), flow.base.log_prob(y))


@pytest.mark.parametrize("arch", ["ar", "bipartite"])
def test_samples_follow_log_prob(arch: str) -> None:
    T, K = 2, 3
    flow = random_discrete_flow(arch, T, 1, K, 2, scale=True, seed=4)
    p = flow.log_prob(every_point(T, 1, K)).exp()
    s = flow.sample(20000, T, generator=torch.Generator().manual_seed(0))
    code = (s.argmax(-1).flatten(1) * torch.tensor([K, 1])).sum(1)
    freq = torch.bincount(code, minlength=K**T).double() / len(code)
    assert (freq - p).abs().max() < 0.015
