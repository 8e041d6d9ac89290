"""The affine scalar transform (the ``--transform affine`` ablation)."""

from __future__ import annotations

import pytest
import torch

from lnfmusic.flows import affine, nlsq
from lnfmusic.flows.transforms import get_transform

pytestmark = pytest.mark.usefixtures("float64")


def test_round_trip_and_log_det() -> None:
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(7, 3, generator=gen)
    raw = torch.randn(7, 3, 2, generator=gen) * 3
    eps, ladj = affine.inverse(z, raw)
    z2, ladj_f = affine.forward(eps, raw)
    torch.testing.assert_close(z2, z, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(ladj_f, -ladj)
    # the density-direction log-det is log d eps / d z, elementwise
    zg = z.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(affine.inverse(zg, raw)[0].sum(), zg)
    torch.testing.assert_close(ladj, grad.log())


def test_affine_is_nlsq_with_c_zero() -> None:
    """With ``c = 0`` NLSq reduces to ``a + b z``: the two transforms must agree."""
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(50, generator=gen)
    a, s = torch.randn(2, 50, generator=gen)
    raw_nlsq = torch.stack([a, s, torch.zeros(50), s, a], -1)
    eps_n, ladj_n = nlsq.inverse(z, raw_nlsq)
    eps_a, ladj_a = affine.inverse(z, torch.stack([a, s], -1))
    torch.testing.assert_close(eps_n, eps_a, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(ladj_n, ladj_a, rtol=1e-13, atol=1e-13)


def test_get_transform() -> None:
    t = get_transform("affine")
    assert t.num_params == affine.NUM_PARAMS == 2
    n = get_transform("nlsq", alpha=0.5)
    assert n.num_params == nlsq.NUM_PARAMS == 5 and n.alpha == 0.5
    try:
        get_transform("spline")
    except ValueError as e:
        assert "spline" in str(e)
    else:
        raise AssertionError("an unknown transform must raise")
