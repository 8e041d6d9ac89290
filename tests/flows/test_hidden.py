"""Flows within a time step: AF (MADE), SCF (coupling) and independent layers, K deep."""

from __future__ import annotations

import pytest
import torch
from torch.autograd.functional import jacobian

from lnfmusic.flows.hidden import CouplingLayer, HiddenFlow
from lnfmusic.flows.transforms import get_transform

pytestmark = pytest.mark.usefixtures("float64")

H, C = 5, 3
KINDS = ["af", "scf", "none"]
TRANSFORMS = ["nlsq", "affine"]


def make_flow(kind: str, K: int, transform: str, scale: float = 0.3, hidden: int = 8) -> HiddenFlow:
    """A float64 flow with moderately random parameters (the default init is near the
    identity, which would hide mistakes in the order reversal or the log-det)."""
    flow = HiddenFlow(kind, H, C, hidden, K, get_transform(transform))
    gen = torch.Generator().manual_seed(K * 7 + len(kind))
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale)
    return flow


def inputs(batch: tuple[int, ...] = (4,)) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(*batch, H, generator=gen)
    ctx = torch.randn(*batch, C, generator=gen)
    return z, ctx


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("K", [1, 2, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(kind: str, K: int, transform: str) -> None:
    flow = make_flow(kind, K, transform)
    z, ctx = inputs((3, 4))
    eps, ladj_inv = flow.inverse(z, ctx)
    assert eps.shape == z.shape and ladj_inv.shape == (3, 4)
    z2, ladj_fwd = flow.forward(eps, ctx)
    torch.testing.assert_close(z2, z, rtol=1e-6, atol=1e-6)
    # inverse log-det = - forward log-det (the forward one is evaluated at its own output)
    torch.testing.assert_close(ladj_fwd, -ladj_inv, rtol=1e-6, atol=1e-6)
    # and the other way round, starting from noise
    z3, ladj3 = flow.forward(z, ctx)
    eps3, ladj4 = flow.inverse(z3, ctx)
    torch.testing.assert_close(eps3, z, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ladj3, -ladj4, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("K", [1, 2, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_log_det_matches_autograd_jacobian(kind: str, K: int, transform: str) -> None:
    flow = make_flow(kind, K, transform)
    z, ctx = inputs((1,))
    z, ctx = z[0], ctx[0]
    _, ladj = flow.inverse(z, ctx)
    jac = jacobian(lambda v: flow.inverse(v, ctx)[0], z)
    sign, logabs = torch.linalg.slogdet(jac)
    assert sign > 0  # every layer is increasing in each transformed coordinate
    torch.testing.assert_close(ladj, logabs, rtol=1e-9, atol=1e-9)
    _, ladj_f = flow.forward(z, ctx)
    jac_f = jacobian(lambda v: flow.forward(v, ctx)[0], z)
    torch.testing.assert_close(ladj_f, torch.linalg.slogdet(jac_f)[1], rtol=1e-9, atol=1e-9)
    if kind == "none":
        assert torch.count_nonzero(jac - torch.diag(torch.diagonal(jac))) == 0
    if kind == "af" and K == 1:
        # a single autoregressive layer has a lower-triangular Jacobian
        assert torch.count_nonzero(jac.triu(1)) == 0


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("kind", ["af", "scf"])
def test_stacked_layers_mix_every_dimension(kind: str, K: int) -> None:
    """The order is reversed between layers, so with K >= 2 (AF) or K >= 3 (SCF, whose first
    half passes through) every eps_i depends on every z_j; one layer alone cannot do that."""
    flow = make_flow(kind, K, "nlsq", hidden=32)  # several units per MADE degree
    z, ctx = inputs((1,))
    jac = jacobian(lambda v: flow.inverse(v, ctx[0])[0], z[0])
    full = kind == "af" or K >= 3
    assert (jac.abs() > 0).all() == full
    if kind == "scf" and K == 2:
        # two coupling layers: each half is transformed exactly once, nothing passes untouched
        assert not torch.equal(jac, torch.eye(H, dtype=jac.dtype))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_parameter_and_input_gets_a_gradient(kind: str, transform: str) -> None:
    """Default init (near identity), both directions: no detached path anywhere."""
    torch.manual_seed(0)
    flow = HiddenFlow(kind, H, C, 8, 2, get_transform(transform))
    for direction in ("inverse", "forward"):
        flow.zero_grad()
        z, ctx = inputs((3,))
        z.requires_grad_(True)
        ctx.requires_grad_(True)
        out, ladj = getattr(flow, direction)(z, ctx)
        ((out**2).sum() + ladj.sum()).backward()
        for name, p in flow.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, (direction, name)
        assert (z.grad.abs() > 0).all(), direction
        assert (ctx.grad.abs() > 0).all(), direction


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_coupling_pass_through_half_feeds_the_conditioner(transform: str) -> None:
    """The reference code lost the gradient of the pass-through half; here ``eps_change``
    must depend on ``z_keep`` through the conditioner (off-diagonal Jacobian block) in both
    directions, and the kept half is copied exactly."""
    layer = CouplingLayer(H, C, 8, get_transform(transform))
    z, ctx = inputs((1,))
    z, ctx = z[0], ctx[0]
    k = H // 2
    for direction in ("inverse", "forward"):
        fn = getattr(layer, direction)
        out, _ = fn(z, ctx)
        torch.testing.assert_close(out[:k], z[:k], rtol=0, atol=0)
        jac = jacobian(lambda v, fn=fn: fn(v, ctx)[0], z)
        assert (jac[k:, :k].abs() > 0).all(), direction
        torch.testing.assert_close(jac[:k], torch.eye(H, dtype=z.dtype)[:k])


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="maf"):
        HiddenFlow("maf", H, C, 8, 1, get_transform("nlsq"))
