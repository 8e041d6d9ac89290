"""Bases: normalised over enumerated spaces, sampling matches the density, padding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lnfmusic.discrete.base import AutoregressiveBase, FactorizedBase, draw_one_hot
from lnfmusic.discrete.networks import CausalLSTMNet
from tests.helpers import every_point

pytestmark = pytest.mark.usefixtures("float64")


def bases(T: int, Fe: int, K: int):
    torch.manual_seed(0)
    fac = FactorizedBase(T, Fe, K)
    torch.nn.init.normal_(fac.table)
    ar = AutoregressiveBase(CausalLSTMNet(Fe, K, K, hidden=8), Fe, K)
    for m in ar.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight)
    return fac, ar


@pytest.mark.parametrize("T,Fe,K", [(3, 1, 3), (2, 2, 2), (4, 1, 2)])
def test_bases_sum_to_one(T: int, Fe: int, K: int) -> None:
    for base in bases(T, Fe, K):
        lp = base.log_prob(every_point(T, Fe, K))
        torch.testing.assert_close(lp.exp().sum(), torch.tensor(1.0, dtype=lp.dtype))


@pytest.mark.parametrize("which", [0, 1])
def test_samples_follow_the_density(which: int) -> None:
    T, Fe, K = 2, 1, 3
    base = bases(T, Fe, K)[which]
    pts = every_point(T, Fe, K)
    p = base.log_prob(pts).exp()
    gen = torch.Generator().manual_seed(1)
    s = base.sample(20000, T, generator=gen)
    code = (s.argmax(-1).flatten(1) * torch.tensor([K, 1])).sum(1)
    freq = torch.bincount(code, minlength=K**T).double() / len(code)
    assert (freq - p).abs().max() < 0.015


def test_threshold_and_temperature() -> None:
    logits = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert draw_one_hot(logits, threshold=0.5).argmax(-1).tolist() == [1, 0]
    cold = draw_one_hot(logits.expand(1000, 2, 2), temperature=1e-3)
    assert (cold.argmax(-1) == torch.tensor([1, 0])).all()
    with pytest.raises(ValueError):
        draw_one_hot(torch.zeros(2, 3), threshold=0.5)


def test_log_prob_ignores_padding_and_samples_are_zero_there() -> None:
    fac, ar = bases(4, 1, 3)
    mask = torch.tensor([[True, True, False, False]])
    x = F.one_hot(torch.tensor([[[0], [1], [2], [0]]]), 3).double()
    x2 = x.clone()
    x2[:, 2:] = 0
    for base in (fac, ar):
        torch.testing.assert_close(base.log_prob(x, mask=mask), base.log_prob(x2, mask=mask))
        assert (base.sample(1, 4, mask=mask)[:, 2:] == 0).all()


def test_factorized_base_refuses_lengths_beyond_its_table() -> None:
    with pytest.raises(ValueError, match="beyond"):
        FactorizedBase(3, 1, 2).log_prob(torch.zeros(1, 4, 1, 2))
