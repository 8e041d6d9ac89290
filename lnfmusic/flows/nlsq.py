"""The non-linear squared (NLSq) scalar transform and its analytic inverse.

The scalar map, applied elementwise with per-element parameters, is

    F(z) = a + b z + c / (1 + (d z + g)^2),   b, d > 0,  |c| < alpha (8 sqrt(3) / 9) b / d,

strictly increasing (its smallest slope is ``b - (9 / (8 sqrt 3)) |c| d >= (1 - alpha) b``),
hence invertible. Raw network outputs ``(a, b', c', d', g)`` become valid parameters through
``b = exp(b')``, ``d = exp(d')``, ``c = tanh(c') * alpha * (8 sqrt 3 / 9) * b / d``.

Direction convention (the same as the flow layers, docs/architecture.md):

- ``inverse(z, raw) -> (eps, ladj)`` is the **density** direction, ``eps = F(z)``: the cheap
  explicit formula, so training (AF priors evaluate densities) never solves a cubic.
- ``forward(eps, raw) -> (z, ladj)`` is the **sampling** direction, ``z = F^{-1}(eps)``: the
  single real root of a cubic, in closed form (hyperbolic functions, Holmes 2002) in float64,
  polished by Newton steps and cast back to the input dtype.

The paper writes the formula as ``z = f(eps)`` and then uses it for ``f^{-1}`` "because it is
cheaper" (its Appendix B); naming the explicit formula ``F: z -> eps`` says the same thing
directly. ``ladj`` is always ``log |d output / d input|``, shaped like the input.

References:
    Ziegler & Rush (2019), Section 4 and Appendix B. Holmes (2002), The use of hyperbolic
    cosines in solving cubic polynomials.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

NUM_PARAMS = 5
DEFAULT_ALPHA = 0.95
C_BOUND = 8.0 * math.sqrt(3.0) / 9.0  # |c| d / b must stay below this


def constrain(raw: Tensor, alpha: float = DEFAULT_ALPHA) -> tuple[Tensor, ...]:
    """Map raw parameters ``(..., 5)`` to valid ``(a, b, c, d, g)``, each ``(...)``."""
    a, log_b, c_raw, log_d, g = raw.unbind(-1)
    b = log_b.exp()
    d = log_d.exp()
    c = torch.tanh(c_raw) * (alpha * C_BOUND) * b / d
    return a, b, c, d, g


def _explicit(z: Tensor, raw: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
    """``F(z)`` and ``log F'(z)``.

    The slope is written ``b (1 - 2 t alpha K u / w^2)`` with ``t = tanh(c')``: its log is
    ``b' + log1p(...)``, which stays finite for any ``b'``, and ``1 - ...`` is at least
    ``1 - alpha`` because ``max |u| / (1 + u^2)^2 = 1 / (2 K)``.
    """
    a, log_b, c_raw, log_d, g = raw.unbind(-1)
    b, d = log_b.exp(), log_d.exp()
    tk = torch.tanh(c_raw) * (alpha * C_BOUND)  # = c d / b
    u = d * z + g
    w = 1.0 + u * u
    eps = a + b * z + (tk * b / d) / w
    log_slope = log_b + torch.log1p(-2.0 * tk * u / (w * w))
    return eps, log_slope


def inverse(z: Tensor, raw: Tensor, alpha: float = DEFAULT_ALPHA) -> tuple[Tensor, Tensor]:
    """Density direction ``eps = F(z)`` (explicit); returns ``(eps, log F'(z))``.

    ``z`` has any shape ``S``; ``raw`` has shape ``S + (5,)``.
    """
    return _explicit(z, raw, alpha)


def forward(eps: Tensor, raw: Tensor, alpha: float = DEFAULT_ALPHA) -> tuple[Tensor, Tensor]:
    """Sampling direction ``z = F^{-1}(eps)``; returns ``(z, -log F'(z))``.

    The root is found without autograd (closed form + Newton polish in float64). When a
    gradient is needed, a last Newton step is taken *with* autograd, so gradients w.r.t.
    ``eps`` and ``raw`` are those of the implicit function (``dz/deps = 1 / F'(z)``), never
    through the cubic formula. Without autograd (generation) that step is skipped.
    """
    dtype = eps.dtype
    if not (torch.is_grad_enabled() and (eps.requires_grad or raw.requires_grad)):
        z, log_slope = _solve(eps, raw, alpha)
        return z.to(dtype), (-log_slope).to(dtype)
    eps64, raw64 = eps.double(), raw.double()
    with torch.no_grad():
        z0, _ = _solve(eps64, raw64, alpha)
    f0, log_slope0 = _explicit(z0, raw64, alpha)
    z = (z0 - (f0 - eps64) * torch.exp(-log_slope0)).to(dtype)
    _, log_slope = _explicit(z, raw, alpha)
    return z, -log_slope


def solve(eps: Tensor, raw: Tensor, alpha: float = DEFAULT_ALPHA) -> Tensor:
    """The root ``z`` of ``F(z) = eps`` (no gradient), computed in float64, shaped like ``eps``
    and cast back to its dtype."""
    return _solve(eps, raw, alpha)[0].to(eps.dtype)


@torch.no_grad()
def _solve(eps: Tensor, raw: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
    """Float64 root ``z`` of ``F(z) = eps`` and ``log F'`` at the last Newton iterate.

    Substituting ``u = d z + g`` and ``k = b g + d (eps - a)`` turns ``F(z) = eps`` into
    ``u^3 + A u^2 + u + C = 0`` with ``A = -k / b`` and ``C = (c d - k) / b``, whose depressed
    form ``s^3 + p s + q = 0`` (``u = s - A / 3``) has exactly one real root because ``F`` is
    strictly increasing. One Newton step on ``F`` removes the round-off of the closed form;
    before and after it, the iterate is clamped to the bracket ``|z - (eps - a) / b| <= |c| / b``
    (a root always lies there since ``|c / (1 + u^2)| <= |c|``), which also catches the
    overflow of the closed form for astronomically large ``|A|`` (beyond ~1e100).
    """
    raw = raw.double()
    y = eps.double()
    a, log_b, c_raw, log_d, g = raw.unbind(-1)
    b, d = log_b.exp(), log_d.exp()
    tk = torch.tanh(c_raw) * (alpha * C_BOUND)  # = c d / b
    A = d * (a - y) / b - g  # = -k / b
    C = tk + A  # = (c d - k) / b
    A3 = A / 3.0
    p = 1.0 - A * A3
    q = A3 * (2.0 * A3 * A3 - 1.0) + C
    u = _depressed_cubic_root(p, q) - A3  # u = d z + g
    z = (u - g) / d
    centre, half = (y - a) / b, tk.abs() / d  # |c| / b = |tk| / d
    lo, hi = centre - half, centre + half
    z = torch.where(torch.isfinite(z), z, centre).clamp(lo, hi)
    # one Newton step on F(z) = eps, with F and log F' written out as in _explicit
    u = d * z + g
    w = 1.0 + u * u
    f = a + b * z + (tk * b / d) / w
    log_slope = log_b + torch.log1p(-2.0 * tk * u / (w * w))
    z = (z - (f - y) * torch.exp(-log_slope)).clamp(lo, hi)
    return z, log_slope


def _depressed_cubic_root(p: Tensor, q: Tensor) -> Tensor:
    """The real root of ``s^3 + p s + q = 0`` when it has exactly one (float64, elementwise).

    Hyperbolic forms: ``p > 0``: ``s = -2 sqrt(p/3) sinh(asinh(3q/(2p) sqrt(3/p)) / 3)``;
    ``p < 0``: ``s = -2 sign(q) sqrt(-p/3) cosh(acosh(-3|q|/(2p) sqrt(-3/p)) / 3)``, the acosh
    argument clamped to ``>= 1`` (it is ``>= 1`` exactly when the root is unique, and round-off
    can push it just below). Guards: where ``|p|^3`` is negligible next to ``q^2`` (this
    includes ``p -> 0`` and ``p = q = 0``) the root is ``-cbrt(q)`` corrected by one Newton step
    on the depressed cubic; ``q = 0`` with ``p > 0`` gives ``s = 0`` through the sinh form.
    """
    tiny_p = 4.0 * p.abs() ** 3 <= 1e-30 * 27.0 * q * q
    p_safe = torch.where(tiny_p | (p == 0), torch.ones_like(p), p)
    root3 = (p_safe.abs() / 3.0).sqrt()
    arg = q / (2.0 * root3**3)
    positive = p_safe > 0
    # On CPU only the branches that occur are evaluated: generation calls this on tiny
    # tensors, one latent dimension at a time, where every skipped op counts (on a GPU the
    # checks would each cost a device synchronisation, so every branch is computed).
    lazy = not p.is_cuda
    if lazy and bool(positive.all()):
        s = -2.0 * root3 * torch.sinh(torch.asinh(arg) / 3.0)
    else:
        # p < 0: |arg| >= 1 for a unique real root
        s_neg = (
            -2.0 * torch.sign(q) * root3 * torch.cosh(torch.acosh(arg.abs().clamp(min=1.0)) / 3.0)
        )
        if not lazy or bool(positive.any()):
            s_pos = -2.0 * root3 * torch.sinh(torch.asinh(arg) / 3.0)
            s = torch.where(positive, s_pos, s_neg)
        else:
            s = s_neg
    if lazy and not bool(tiny_p.any()):
        return s
    # tiny |p|: the cube root of -q, one Newton step for the p s term
    s0 = -torch.sign(q) * q.abs().pow(1.0 / 3.0)
    den = 3.0 * s0 * s0 + p
    den = torch.where(den == 0, torch.ones_like(den), den)
    s_tiny = s0 - (s0 * s0 * s0 + p * s0 + q) / den
    return torch.where(tiny_p, s_tiny, s)
