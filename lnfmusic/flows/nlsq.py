"""The non-linear squared (NLSq) scalar transform and its analytic inverse.

The scalar map, applied elementwise with per-element parameters, is

    F(x) = a + b x + c / (1 + (d x + g)^2),   b, d > 0,  |c| < alpha (8 sqrt(3) / 9) b / d,

which is strictly increasing (its smallest slope is b - (9 / (8 sqrt 3)) |c| d > 0), hence
invertible. Raw network outputs ``(a, b', c', d', g)`` are mapped to valid parameters by
``b = exp(b')``, ``d = exp(d')``, ``c = tanh(c') * alpha * (8 sqrt 3 / 9) * b / d``.

Direction convention in lnfmusic: the explicit, cheap formula ``F`` is the *density* direction
(data-side ``z`` to noise-side ``eps``), so training never solves a cubic; sampling applies
``F^{-1}``, the single real root of a cubic, computed in closed form (hyperbolic functions)
in float64 and polished with one Newton step.

References:
    Ziegler & Rush (2019), Section 4 and Appendix B.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

NUM_PARAMS = 5
_C_BOUND = 8.0 * math.sqrt(3.0) / 9.0
DEFAULT_ALPHA = 0.95


def constrain(raw: Tensor, alpha: float = DEFAULT_ALPHA) -> tuple[Tensor, ...]:
    """Map raw parameters ``(..., 5)`` to valid ``(a, b, c, d, g)``, each ``(...)``."""
    a, log_b, c_raw, log_d, g = raw.unbind(-1)
    b = log_b.exp()
    d = log_d.exp()
    c = torch.tanh(c_raw) * (alpha * _C_BOUND) * b / d
    return a, b, c, d, g


def forward(x: Tensor, raw: Tensor, alpha: float = DEFAULT_ALPHA) -> tuple[Tensor, Tensor]:
    """Explicit direction ``y = F(x)``; returns ``(y, log F'(x))``, both shaped like ``x``.

    ``raw`` has shape ``x.shape + (5,)``.
    """
    a, b, c, d, g = constrain(raw, alpha)
    u = d * x + g
    w = 1.0 + u * u
    y = a + b * x + c / w
    slope = b - 2.0 * c * d * u / (w * w)
    return y, slope.log()


def inverse(y: Tensor, raw: Tensor, alpha: float = DEFAULT_ALPHA) -> Tensor:
    """Solve ``F(x) = y`` for ``x`` (the single real root of a cubic), shaped like ``y``.

    Substituting ``u = d x + g`` and ``k = b g + d (y - a)`` turns ``F(x) = y`` into
    ``b u^3 - k u^2 + b u + (c d - k) = 0``; its depressed form ``s^3 + p s + q = 0`` has
    exactly one real root because ``F`` is strictly increasing.
    """
    dtype = y.dtype
    a, b, c, d, g = (t.double() for t in constrain(raw.double(), alpha))
    y64 = y.double()
    k = b * g + d * (y64 - a)
    A = -k / b  # u^3 + A u^2 + u + C = 0
    C = (c * d - k) / b
    p = 1.0 - A * A / 3.0
    q = 2.0 * A**3 / 27.0 - A / 3.0 + C
    s = _depressed_cubic_root(p, q)
    x = (s - A / 3.0 - g) / d
    # One Newton step on F in float64 removes the round-off of the closed form.
    u = d * x + g
    w = 1.0 + u * u
    fx = a + b * x + c / w - y64
    slope = b - 2.0 * c * d * u / (w * w)
    x = x - fx / slope
    return x.to(dtype)


def _depressed_cubic_root(p: Tensor, q: Tensor) -> Tensor:
    """The real root of ``s^3 + p s + q = 0`` when it has exactly one (float64).

    Hyperbolic forms: ``p > 0`` uses sinh/asinh; ``p < 0`` uses cosh/acosh (argument clamped
    to >= 1 against round-off); ``p ~ 0`` uses ``-cbrt(q)``, and ``q = 0`` gives ``s = 0``.
    """
    tiny = 1e-12
    small_p = p.abs() < tiny
    p_safe = torch.where(small_p, torch.ones_like(p), p)
    sqrt_abs = (p_safe.abs() / 3.0).sqrt()
    # p > 0
    arg_pos = (1.5 * q / p_safe) * (3.0 / p_safe.abs()).sqrt()
    s_pos = -2.0 * sqrt_abs * torch.sinh(torch.asinh(arg_pos) / 3.0)
    # p < 0 (one real root: |arg| >= 1 up to round-off)
    arg_neg = (-1.5 * q.abs() / p_safe) * (3.0 / p_safe.abs()).sqrt()
    arg_neg = arg_neg.clamp(min=1.0)
    s_neg = -2.0 * torch.sign(q) * sqrt_abs * torch.cosh(torch.acosh(arg_neg) / 3.0)
    s_zero = -torch.sign(q) * q.abs().pow(1.0 / 3.0)
    s = torch.where(p > 0, s_pos, s_neg)
    return torch.where(small_p, s_zero, s)
