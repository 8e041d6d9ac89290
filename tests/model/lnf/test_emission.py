"""The emission p(x_t | z_{1:T}): BiLSTM over z with the shifted directions, tied output."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lnfmusic.model.lnf.emission import Emission
from tests.helpers import tiny_config

pytestmark = pytest.mark.usefixtures("float64")


def make_emission(kind: str = "music") -> Emission:
    cfg = tiny_config(kind=kind)
    weight = nn.Parameter(torch.randn(cfg.output_dim, cfg.embed_dim))
    return Emission(cfg, weight).eval()


def jacobian_norms(em: Emission, T: int = 5) -> torch.Tensor:
    """``J[t, s] = |d logits_t / d z_s|`` for one sequence of length T."""
    H = em.inp.in_features
    z = torch.randn(1, T, H)
    lengths = torch.tensor([T])

    def f(zz: torch.Tensor) -> torch.Tensor:
        return em(zz, lengths)[0]

    jac = torch.autograd.functional.jacobian(f, z)  # (T, V, 1, T, H)
    return jac.squeeze(2).abs().sum((1, 3))


def test_logits_at_t_depend_on_every_step() -> None:
    J = jacobian_norms(make_emission("text"))
    assert torch.all(J > 0)


def test_z_t_reaches_step_t_only_through_the_direct_path() -> None:
    """With the direct path cut, step t sees z_{<t} (forward state at t-1) and z_{>t}
    (backward state at t+1) but not z_t: the two directions are shifted correctly."""
    em = make_emission("text")
    E = em.inp.out_features
    with torch.no_grad():
        em.feature.weight[:, :E] = 0.0
    J = jacobian_norms(em)
    T = J.shape[0]
    eye = torch.eye(T, dtype=torch.bool)
    assert torch.all(J[eye] == 0)
    assert torch.all(J[~eye] > 0)


def test_forward_state_has_not_read_z_t() -> None:
    """Cutting the backward half too: step t depends on z_{<t} only (strictly causal)."""
    em = make_emission("text")
    E, Hs = em.inp.out_features, em.hidden_size
    with torch.no_grad():
        em.feature.weight[:, :E] = 0.0
        em.feature.weight[:, E + Hs :] = 0.0
    J = jacobian_norms(em)
    T = J.shape[0]
    strictly_lower = torch.ones(T, T).tril(-1).bool()
    assert torch.all(J[strictly_lower] > 0)
    assert torch.all(J[~strictly_lower] == 0)


def test_output_weights_are_the_tied_embedding() -> None:
    em = make_emission("text")
    z = torch.randn(2, 3, em.inp.in_features)
    logits = em(z, torch.tensor([3, 2]))
    assert logits.shape == (2, 3, em.embedding.shape[0])
    logits.sum().backward()
    assert em.embedding.grad is not None and em.embedding.grad.abs().sum() > 0


def test_padding_does_not_change_real_steps() -> None:
    em = make_emission()
    z = torch.randn(2, 8, em.inp.in_features)
    lengths = torch.tensor([8, 5])
    both = em(z, lengths)
    z_noisy = z.clone()
    z_noisy[1, 5:] = 100.0  # junk on the padding
    torch.testing.assert_close(em(z_noisy, lengths)[1, :5], both[1, :5])
    torch.testing.assert_close(em(z[1:, :5], lengths[1:])[0], both[1, :5])
