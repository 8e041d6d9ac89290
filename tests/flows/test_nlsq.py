"""The NLSq scalar transform: the analytic cubic root against an independent root-finder.

Convention under test: ``nlsq.inverse(z) -> (eps = F(z), log F'(z))`` is explicit (density);
``nlsq.forward(eps) -> (z = F^{-1}(eps), -log F'(z))`` solves the cubic (sampling).
The reference solution is a plain bisection on ``F(z) - eps`` in float64, bracketed by
``|c / (1 + u^2)| <= |c|`` (the root lies in ``[(eps - a - |c|) / b, (eps - a + |c|) / b]``);
it shares nothing with the closed form except the explicit formula ``F``.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lnfmusic.flows import nlsq

pytestmark = pytest.mark.usefixtures("float64")

ALPHA = nlsq.DEFAULT_ALPHA


def F(z: torch.Tensor, raw: torch.Tensor, alpha: float = ALPHA) -> torch.Tensor:
    """The explicit map written out from the paper's formula, independently of the module."""
    a, log_b, c_raw, log_d, g = raw.unbind(-1)
    b, d = log_b.exp(), log_d.exp()
    c = torch.tanh(c_raw) * alpha * (8 * math.sqrt(3) / 9) * b / d
    return a + b * z + c / (1 + (d * z + g) ** 2)


def bisect(y: torch.Tensor, raw: torch.Tensor, alpha: float = ALPHA) -> torch.Tensor:
    """Root of the increasing ``F(z) = y`` by bisection (float64, elementwise)."""
    a, b, c, _, _ = nlsq.constrain(raw, alpha)
    lo = (y - a - c.abs()) / b
    hi = (y - a + c.abs()) / b
    lo = lo - 1e-9 * (1 + lo.abs())  # a strict bracket despite round-off in the bound
    hi = hi + 1e-9 * (1 + hi.abs())
    for _ in range(3000):
        mid = 0.5 * (lo + hi)
        below = F(mid, raw, alpha) < y
        new_lo, new_hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
        if torch.equal(new_lo, lo) and torch.equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    return 0.5 * (lo + hi)


def scale_of(z: torch.Tensor, y: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """The error float64 round-off allows in ``z``: evaluating ``F`` costs about
    ``1e-16 (|y| + |a| + |b z| + |c|)``, divided by a slope of at least ``(1 - alpha) b``."""
    a, b, c, _, _ = nlsq.constrain(raw)
    return 1.0 + z.abs() + (y.abs() + a.abs() + c.abs()) / b


def root(y: torch.Tensor, raw: torch.Tensor, alpha: float = ALPHA) -> torch.Tensor:
    return nlsq.forward(y, raw, alpha)[0]


wide = st.floats(-1e3, 1e3, allow_nan=False)
extreme = st.floats(-1e6, 1e6, allow_nan=False)
log_scale = st.floats(-6.0, 6.0, allow_nan=False)
extreme_log_scale = st.floats(-14.0, 14.0, allow_nan=False)
c_raw = st.floats(-30.0, 30.0, allow_nan=False)
moderate_rows = st.lists(
    st.tuples(wide, log_scale, c_raw, log_scale, wide, wide), min_size=1, max_size=40
)
extreme_rows = st.lists(
    st.tuples(extreme, extreme_log_scale, c_raw, extreme_log_scale, extreme, extreme),
    min_size=1,
    max_size=40,
)
any_rows = st.one_of(moderate_rows, extreme_rows)


def _split(rows: list[tuple[float, ...]]) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.tensor(rows)
    return t[:, 5], t[:, :5]


@settings(max_examples=200, deadline=None)
@given(any_rows)
def test_root_matches_bisection(rows: list[tuple[float, ...]]) -> None:
    y, raw = _split(rows)
    z = root(y, raw)
    ref = bisect(y, raw)
    err = (z - ref).abs() / scale_of(ref, y, raw)
    assert torch.isfinite(z).all()
    assert err.max() < 1e-12, (rows[int(err.argmax())], float(err.max()))


@settings(max_examples=150, deadline=None)
@given(any_rows)
def test_explicit_of_root_is_identity(rows: list[tuple[float, ...]]) -> None:
    y, raw = _split(rows)
    z = root(y, raw)
    y2, _ = nlsq.inverse(z, raw)
    a, b, c, _, _ = nlsq.constrain(raw)
    backward_err = (y2 - y).abs() / (y.abs() + a.abs() + (b * z).abs() + c.abs() + 1e-300)
    assert backward_err.max() < 1e-13


@settings(max_examples=150, deadline=None)
@given(any_rows)
def test_root_of_explicit_is_identity(rows: list[tuple[float, ...]]) -> None:
    z, raw = _split(rows)
    y, _ = nlsq.inverse(z, raw)
    z2 = root(y, raw)
    assert ((z2 - z).abs() / scale_of(z, y, raw)).max() < 1e-12


@settings(max_examples=150, deadline=None)
@given(moderate_rows)
def test_explicit_matches_the_formula_and_slope_is_positive(rows: list[tuple[float, ...]]) -> None:
    z, raw = _split(rows)
    z = z.clone().requires_grad_(True)
    eps, log_slope = nlsq.inverse(z, raw)
    torch.testing.assert_close(eps, F(z, raw), rtol=1e-12, atol=1e-9)
    (grad,) = torch.autograd.grad(F(z, raw).sum(), z)
    _, b, _, _, _ = nlsq.constrain(raw)
    assert torch.isfinite(log_slope).all()
    assert (grad > 0).all()
    # the slope never falls below (1 - alpha) b: the map is strictly increasing
    assert (log_slope >= (b * (1.0 - ALPHA)).log() - 1e-9).all()
    # and the returned log-slope is the log of the actual derivative
    torch.testing.assert_close(log_slope, grad.log(), rtol=1e-10, atol=1e-10)


@settings(max_examples=100, deadline=None)
@given(any_rows)
def test_forward_ladj_is_minus_inverse_ladj(rows: list[tuple[float, ...]]) -> None:
    y, raw = _split(rows)
    z, ladj = nlsq.forward(y, raw)
    _, ladj_inv = nlsq.inverse(z, raw)
    torch.testing.assert_close(ladj, -ladj_inv, rtol=0, atol=1e-12)


def test_slope_lower_bound_is_attained_at_the_extreme_c() -> None:
    """With ``|c|`` at its bound the smallest slope is ``(1 - alpha) b`` (at ``u = 1/sqrt 3``
    for ``c > 0``): the constraint is tight, not just sufficient."""
    raw = torch.tensor([[0.3, 0.7, 40.0, -0.4, 0.2]])  # tanh(40) = 1
    _, b, _, d, g = nlsq.constrain(raw)
    u = torch.tensor([1.0 / math.sqrt(3.0)])
    _, log_slope = nlsq.inverse((u - g) / d, raw)
    torch.testing.assert_close(log_slope.exp(), b * (1.0 - ALPHA), rtol=1e-12, atol=0.0)


def _raw_for(a: float, b: float, c: float, d: float, g: float) -> torch.Tensor:
    """Raw parameters that ``constrain`` maps to (a, b, c, d, g)."""
    t = c * d / (ALPHA * nlsq.C_BOUND * b)
    assert abs(t) < 1
    return torch.tensor([[a, math.log(b), math.atanh(t), math.log(d), g]])


def test_c_zero_is_affine() -> None:
    """``c = 0``: the root reduces to ``(y - a) / b``; for ``y = a - b g / d`` this is the
    ``q = 0``, ``p = 1`` case of the depressed cubic."""
    raw = torch.tensor(
        [[1.5, 0.3, 0.0, -0.2, 2.0], [-3.0, -2.0, 0.0, 1.5, -7.0], [0.0, 0.0, 0.0, 0.0, 0.0]],
    )
    a, b, _, d, g = nlsq.constrain(raw)
    y = torch.stack(
        [
            a[0] - b[0] * g[0] / d[0],
            torch.tensor(4.0),
            torch.tensor(0.0),
        ]
    )
    torch.testing.assert_close(root(y, raw), (y - a) / b, rtol=1e-14, atol=1e-14)


def test_q_zero_with_p_not_one() -> None:
    """Root at ``s = 0`` of the depressed cubic with ``c != 0``: choose ``u0`` and set
    ``c d / (1 + u0^2) = 2 b u0`` and ``k = 3 b u0``, so that ``u0 = -A/3`` and ``q = 0``."""
    for u0 in (0.3, -0.25, 0.1, 1e-8):
        a, b, d, g = 0.7, 1.3, 0.9, -0.4
        c = 2.0 * b * u0 * (1 + u0 * u0) / d
        raw = _raw_for(a, b, c, d, g)
        k = 3.0 * b * u0
        y = torch.tensor([a + (k - b * g) / d])
        expected = torch.tensor([(u0 - g) / d])
        torch.testing.assert_close(root(y, raw), expected, rtol=1e-13, atol=1e-13)


def test_p_near_zero() -> None:
    """``p = 1 - A^2 / 3`` at and around 0 (``k = +-sqrt(3) b (1 + delta)``), on both sides of
    the switch to the ``-cbrt(q)`` branch, against bisection."""
    raws, ys = [], []
    for sign in (1.0, -1.0):
        for delta in (0.0, 1e-16, -1e-16, 1e-13, -1e-13, 1e-11, -1e-11, 1e-6, -1e-6):
            for c_frac in (0.0, 0.5, -0.9, 0.99):
                a, b, d, g = 0.2, 0.8, 1.7, 0.6
                c = c_frac * ALPHA * nlsq.C_BOUND * b / d
                k = sign * math.sqrt(3.0) * b * (1.0 + delta)
                raws.append(_raw_for(a, b, c, d, g)[0])
                ys.append(a + (k - b * g) / d)
    raw = torch.stack(raws)
    y = torch.tensor(ys)
    z, ref = root(y, raw), bisect(y, raw)
    assert ((z - ref).abs() / scale_of(ref, y, raw)).max() < 1e-12


def test_depressed_cubic_degenerate_cases() -> None:
    """The closed form alone (no Newton polish) on the guarded cases: ``p = q = 0``,
    ``q = 0`` with ``p > 0``, tiny ``p`` of either sign, and ``p < 0`` at the unique-root
    boundary where round-off pushes the acosh argument below 1."""
    p = torch.tensor([0.0, 0.5, 1e-14, -1e-14, 1e-300, -3.0, -3.0, -2.0])
    q = torch.tensor([0.0, 0.0, 1e-3, -1e-3, 2.0, 2.0 * (1 + 1e-15), -2.0, 1e5])
    s = nlsq._depressed_cubic_root(p, q)
    assert torch.isfinite(s).all()
    residual = s**3 + p * s + q
    assert (residual.abs() <= 1e-12 * (1 + q.abs() + (p * s).abs() + s.abs() ** 3)).all()


def test_acosh_argument_round_off_in_far_tails() -> None:
    """Far tails (huge ``|y|``): the acosh argument tends to 1 from above and round-off can
    push it below; the root must stay finite and correct."""
    raw = torch.tensor([[0.0, 0.0, 3.0, 0.0, 0.0]]).repeat(8, 1)
    y = torch.tensor([1e3, -1e3, 1e6, -1e6, 1e9, -1e9, 1e12, -1e12])
    z = root(y, raw)
    assert torch.isfinite(z).all()
    assert ((z - bisect(y, raw)).abs() / scale_of(z, y, raw)).max() < 1e-12


def test_alpha_is_honoured() -> None:
    raw = torch.tensor([[0.1, 0.2, 5.0, 0.3, -0.1]])
    for alpha in (0.5, 0.95, 0.999):
        _, b, c, d, _ = nlsq.constrain(raw, alpha)
        assert float(c.abs() / (b / d)) < alpha * nlsq.C_BOUND
        y = torch.tensor([0.37])
        z = root(y, raw, alpha)
        torch.testing.assert_close(F(z, raw, alpha), y, rtol=1e-13, atol=1e-13)
        torch.testing.assert_close(z, bisect(y, raw, alpha), rtol=1e-12, atol=1e-12)


def test_float32_in_float32_out() -> None:
    """float32 in, float32 out; the float64 solve makes the round trip float32-accurate."""
    g = torch.Generator().manual_seed(3)
    f32 = torch.float32
    raw = torch.randn(4096, 5, generator=g, dtype=f32) * torch.tensor([2.0, 1, 3, 1, 2], dtype=f32)
    y = torch.randn(4096, generator=g, dtype=f32) * 5
    z, ladj = nlsq.forward(y, raw)
    assert z.dtype == torch.float32 and ladj.dtype == torch.float32
    y2, log_slope = nlsq.inverse(z, raw)
    assert y2.dtype == torch.float32 and torch.isfinite(log_slope).all()
    _, b, c, _, _ = nlsq.constrain(raw)
    tol = 1e-6 * (1 + y.abs() + (b * z).abs() + c.abs())
    assert ((y2 - y).abs() <= tol).all()


def test_sampling_direction_gradients_are_the_implicit_ones() -> None:
    """``z = F^{-1}(y; theta)``: ``dz/dy = 1 / F'(z)`` and ``dz/dtheta = -dF/dtheta / F'(z)``
    (implicit function theorem), finite everywhere."""
    gen = torch.Generator().manual_seed(0)
    raw = torch.randn(10, 5, generator=gen).requires_grad_(True)
    y = torch.randn(10, generator=gen).requires_grad_(True)
    z, _ = nlsq.forward(y, raw)
    gy, graw = torch.autograd.grad(z.sum(), (y, raw))
    zd = z.detach()
    _, log_slope = nlsq.inverse(zd, raw.detach())
    torch.testing.assert_close(gy, (-log_slope).exp(), rtol=1e-9, atol=1e-12)
    raw2 = raw.detach().clone().requires_grad_(True)
    (dF,) = torch.autograd.grad(F(zd, raw2).sum(), raw2)
    torch.testing.assert_close(graw, -dF * (-log_slope).exp()[:, None], rtol=1e-9, atol=1e-12)
