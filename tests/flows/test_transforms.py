"""Scalar transforms by name (:mod:`lnfmusic.flows.transforms`): both ``nlsq`` and
``affine`` invert each other in float64, the two log-determinants are opposite at matching
points and equal the log of the derivative (autograd and finite differences), and the
parameter counts and the unknown-name error."""

from __future__ import annotations

import pytest
import torch

from lnfmusic.flows import nlsq
from lnfmusic.flows.transforms import ScalarTransform, get_transform

pytestmark = pytest.mark.usefixtures("float64")

CASES = [("nlsq", 0.95), ("nlsq", 0.5), ("nlsq", 0.999), ("affine", 0.0)]
IDS = [f"{n}-{a}" for n, a in CASES]


def make(name: str, alpha: float) -> ScalarTransform:
    return get_transform(name, alpha) if name == "nlsq" else get_transform(name)


def params(
    t: ScalarTransform, shape: tuple[int, ...], seed: int = 0, scale: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(*shape, generator=gen, device="cpu") * 2
    raw = torch.randn(*shape, t.num_params, generator=gen, device="cpu") * scale
    if t.name == "nlsq":
        raw[..., 2] = raw[..., 2] * 3  # |tanh(c')| near 1: c near its bound, strongly non-linear
    return z.to(torch.get_default_device()), raw.to(torch.get_default_device())


def test_num_params_names_and_alpha() -> None:
    n, a = get_transform("nlsq"), get_transform("affine")
    assert (n.name, n.num_params, n.alpha) == ("nlsq", 5, nlsq.DEFAULT_ALPHA)
    assert (a.name, a.num_params) == ("affine", 2)
    assert get_transform("nlsq", 0.5).alpha == 0.5
    assert get_transform("nlsq") == get_transform("nlsq", nlsq.DEFAULT_ALPHA)


@pytest.mark.parametrize("bad", ["spline", "NLSq", "", "none", "affine "])
def test_unknown_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown transform"):
        get_transform(bad)


def test_alpha_changes_the_nlsq_map() -> None:
    z, raw = params(get_transform("nlsq"), (50,), seed=3)
    e1, _ = get_transform("nlsq", 0.3).inverse(z, raw)
    e2, _ = get_transform("nlsq", 0.9).inverse(z, raw)
    assert not torch.allclose(e1, e2)


@pytest.mark.parametrize(("name", "alpha"), CASES, ids=IDS)
@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_round_trip(name: str, alpha: float, scale: float) -> None:
    t = make(name, alpha)
    z, raw = params(t, (64, 3), seed=1, scale=scale)
    eps, _ = t.inverse(z, raw)
    assert eps.shape == z.shape
    z2, _ = t.forward(eps, raw)
    torch.testing.assert_close(z2, z, rtol=0, atol=1e-8)
    # and the other way: inverse(forward(eps)) == eps
    eps2 = torch.randn(64, 3, generator=torch.Generator().manual_seed(2), device="cpu").to(z) * 3
    back, _ = t.inverse(t.forward(eps2, raw)[0], raw)
    torch.testing.assert_close(back, eps2, rtol=0, atol=1e-8)


@pytest.mark.parametrize(("name", "alpha"), CASES, ids=IDS)
def test_round_trip_with_autograd(name: str, alpha: float) -> None:
    """The training path of ``forward`` (gradients enabled) gives the same root."""
    t = make(name, alpha)
    z, raw = params(t, (32,), seed=4)
    eps, _ = t.inverse(z, raw)
    raw = raw.clone().requires_grad_(True)
    z2, ladj = t.forward(eps.clone().requires_grad_(True), raw)
    assert z2.requires_grad and ladj.requires_grad
    torch.testing.assert_close(z2.detach(), z, rtol=0, atol=1e-8)


@pytest.mark.parametrize(("name", "alpha"), CASES, ids=IDS)
def test_log_dets_are_opposite_at_matching_points(name: str, alpha: float) -> None:
    t = make(name, alpha)
    z, raw = params(t, (40, 2), seed=5)
    eps, ladj_inv = t.inverse(z, raw)
    _, ladj_fwd = t.forward(eps, raw)
    assert ladj_inv.shape == z.shape and ladj_fwd.shape == z.shape
    torch.testing.assert_close(ladj_fwd, -ladj_inv, rtol=0, atol=1e-8)


@pytest.mark.parametrize(("name", "alpha"), CASES, ids=IDS)
def test_inverse_log_det_is_the_log_derivative(name: str, alpha: float) -> None:
    t = make(name, alpha)
    z, raw = params(t, (60,), seed=6)
    zg = z.clone().requires_grad_(True)
    eps, ladj = t.inverse(zg, raw)
    (grad,) = torch.autograd.grad(eps.sum(), zg)  # elementwise: the diagonal of the Jacobian
    assert (grad > 0).all()  # increasing
    torch.testing.assert_close(ladj.detach(), grad.log(), rtol=0, atol=1e-10)
    # central finite differences, independent of autograd
    h = 1e-5
    with torch.no_grad():
        fd = (t.inverse(z + h, raw)[0] - t.inverse(z - h, raw)[0]) / (2 * h)
    torch.testing.assert_close(ladj.detach(), fd.log(), rtol=0, atol=1e-6)


@pytest.mark.parametrize(("name", "alpha"), CASES, ids=IDS)
def test_forward_log_det_is_the_log_derivative(name: str, alpha: float) -> None:
    t = make(name, alpha)
    z, raw = params(t, (60,), seed=7)
    eps = t.inverse(z, raw)[0]
    with torch.no_grad():  # the generation path (closed-form root, no autograd)
        _, ladj = t.forward(eps, raw)
        h = 1e-5
        fd = (t.forward(eps + h, raw)[0] - t.forward(eps - h, raw)[0]) / (2 * h)
    assert (fd > 0).all()
    torch.testing.assert_close(ladj, fd.log(), rtol=0, atol=1e-6)
    # with autograd, the gradient of the root is that of the implicit function
    eg = eps.clone().requires_grad_(True)
    zg, ladj_g = t.forward(eg, raw)
    (grad,) = torch.autograd.grad(zg.sum(), eg)
    torch.testing.assert_close(ladj_g.detach(), grad.log(), rtol=0, atol=1e-8)
    torch.testing.assert_close(ladj_g.detach(), ladj, rtol=0, atol=1e-8)


def test_affine_is_the_documented_map() -> None:
    t = get_transform("affine")
    z = torch.tensor([0.5, -2.0])
    raw = torch.tensor([[1.0, 0.0], [-0.5, 0.7]])
    eps, ladj = t.inverse(z, raw)
    expected = raw[:, 0] + raw[:, 1].exp() * z
    torch.testing.assert_close(eps, expected)
    torch.testing.assert_close(ladj, raw[:, 1])
