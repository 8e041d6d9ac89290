"""Location-scale arithmetic modulo K on one-hot tensors ``(..., K)``.

The forward values are computed with integers (argmax, ``+``, ``*``, ``% K``), so they are
exact one-hot vectors. The backward pass is the gradient of the bilinear map that the
operation is on one-hot arguments (``y[k] = sum_j m[j] x[(k - j) mod K]`` for addition, and
likewise for subtraction and multiplication), evaluated at the forward values: each is a
gather of the incoming gradient, ``O(K)`` per variable, not the ``O(K^2)`` of the bilinear
form nor an FFT. This is the gradient the straight-through estimator needs to reach the
locations and scales through a stack of layers.

A scale must be a unit mod K (coprime with K) for the map to be invertible; :func:`units`
gives the mask to apply to scale logits, :func:`inverse_table` the inverses.
"""

from __future__ import annotations

import math
from functools import cache

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd import Function


@cache
def _units(num_classes: int) -> tuple[bool, ...]:
    return tuple(math.gcd(s, num_classes) == 1 for s in range(num_classes))


def units(num_classes: int, device: torch.device | str | None = None) -> Tensor:
    """``(K,)`` bool: ``s`` is invertible mod K (``gcd(s, K) = 1``; never 0 for K >= 2)."""
    if num_classes < 2:
        raise ValueError(f"need at least 2 classes, got {num_classes}")
    return torch.tensor(_units(num_classes), device=device)


@cache
def _inverses(num_classes: int) -> tuple[int, ...]:
    return tuple(pow(s, -1, num_classes) if ok else s for s, ok in enumerate(_units(num_classes)))


def inverse_table(num_classes: int, device: torch.device | str | None = None) -> Tensor:
    """``(K,)`` int64: ``inv[s] * s = 1 mod K`` for every unit ``s``; non-units map to
    themselves, so the table is a permutation (indexing a one-hot scale with it gives the
    one-hot inverse, differentiably)."""
    units(num_classes)  # validates K
    return torch.tensor(_inverses(num_classes), device=device)


def _index(x: Tensor) -> Tensor:
    return x.argmax(-1)


def _one_hot(i: Tensor, like: Tensor) -> Tensor:
    return F.one_hot(i, like.shape[-1]).to(like.dtype)


def _classes(like: Tensor) -> Tensor:
    return torch.arange(like.shape[-1], device=like.device)


class _Add(Function):
    """``y = x + m mod K``; ``dy[k]/dx[i] = m[k - i]``, ``dy[k]/dm[j] = x[k - j]``."""

    @staticmethod
    def forward(ctx, x: Tensor, m: Tensor) -> Tensor:  # type: ignore[override]
        a, b = _index(x), _index(m)
        ctx.save_for_backward(a, b)
        return _one_hot((a + b) % x.shape[-1], x)

    @staticmethod
    def backward(ctx, g: Tensor) -> tuple[Tensor | None, Tensor | None]:  # type: ignore[override]
        a, b = ctx.saved_tensors
        K, k = g.shape[-1], _classes(g)
        gx = g.gather(-1, (k + b[..., None]) % K) if ctx.needs_input_grad[0] else None
        gm = g.gather(-1, (k + a[..., None]) % K) if ctx.needs_input_grad[1] else None
        return gx, gm


class _Subtract(Function):
    """``x = y - m mod K``; ``dx[k]/dy[i] = m[i - k]``, ``dx[k]/dm[j] = y[k + j]``."""

    @staticmethod
    def forward(ctx, y: Tensor, m: Tensor) -> Tensor:  # type: ignore[override]
        a, b = _index(y), _index(m)
        ctx.save_for_backward(a, b)
        return _one_hot((a - b) % y.shape[-1], y)

    @staticmethod
    def backward(ctx, g: Tensor) -> tuple[Tensor | None, Tensor | None]:  # type: ignore[override]
        a, b = ctx.saved_tensors
        K, k = g.shape[-1], _classes(g)
        gy = g.gather(-1, (k - b[..., None]) % K) if ctx.needs_input_grad[0] else None
        gm = g.gather(-1, (a[..., None] - k) % K) if ctx.needs_input_grad[1] else None
        return gy, gm


class _Multiply(Function):
    """``y = s * x mod K``; ``dy[k]/dx[i] = [s i = k]``, ``dy[k]/ds[j] = [j a = k]``."""

    @staticmethod
    def forward(ctx, x: Tensor, s: Tensor) -> Tensor:  # type: ignore[override]
        a, c = _index(x), _index(s)
        ctx.save_for_backward(a, c)
        return _one_hot((a * c) % x.shape[-1], x)

    @staticmethod
    def backward(ctx, g: Tensor) -> tuple[Tensor | None, Tensor | None]:  # type: ignore[override]
        a, c = ctx.saved_tensors
        K, k = g.shape[-1], _classes(g)
        gx = g.gather(-1, (k * c[..., None]) % K) if ctx.needs_input_grad[0] else None
        gs = g.gather(-1, (k * a[..., None]) % K) if ctx.needs_input_grad[1] else None
        return gx, gs


def _broadcast(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"class dimensions differ: {a.shape[-1]} and {b.shape[-1]}")
    a, b = torch.broadcast_tensors(a, b)
    return a, b


def one_hot_add(x: Tensor, m: Tensor) -> Tensor:
    """``(x + m) mod K`` of one-hot tensors ``(..., K)`` (broadcast)."""
    return _Add.apply(*_broadcast(x, m))


def one_hot_subtract(y: Tensor, m: Tensor) -> Tensor:
    """``(y - m) mod K`` of one-hot tensors ``(..., K)`` (broadcast)."""
    return _Subtract.apply(*_broadcast(y, m))


def one_hot_multiply(x: Tensor, s: Tensor) -> Tensor:
    """``(s * x) mod K`` of one-hot tensors ``(..., K)`` (broadcast); ``s`` should be a unit."""
    return _Multiply.apply(*_broadcast(x, s))


def affine_forward(x: Tensor, loc: Tensor, scale: Tensor | None = None) -> Tensor:
    """``y = (loc + scale * x) mod K``; ``scale=None`` is 1 (a pure shift; XOR for K = 2)."""
    if scale is not None:
        x = one_hot_multiply(x, scale)
    return one_hot_add(x, loc)


def affine_inverse(y: Tensor, loc: Tensor, scale: Tensor | None = None) -> Tensor:
    """``x = scale^{-1} (y - loc) mod K``, the exact inverse of :func:`affine_forward`."""
    x = one_hot_subtract(y, loc)
    if scale is not None:
        x = one_hot_multiply(x, scale[..., inverse_table(y.shape[-1], y.device)])
    return x
