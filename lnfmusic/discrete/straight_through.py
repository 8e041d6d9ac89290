"""The straight-through one-hot argmax (Bengio et al. 2013, as used by Tran et al. 2019).

Forward: the exact one-hot of ``argmax(logits)``. Backward: the gradient of
``softmax(logits / temperature)``, i.e. ``(diag(p) - p p^T) / temperature`` applied to the
incoming gradient. As the temperature goes to 0 the surrogate approaches the argmax (less
bias) but its gradient vanishes; Tran et al. fix 0.1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd import Function


class _StraightThrough(Function):
    @staticmethod
    def forward(ctx, logits: Tensor, temperature: float) -> Tensor:  # type: ignore[override]
        p = torch.softmax(logits / temperature, -1)
        ctx.save_for_backward(p)
        ctx.temperature = temperature
        return F.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)

    @staticmethod
    def backward(ctx, g: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (p,) = ctx.saved_tensors
        return p * (g - (g * p).sum(-1, keepdim=True)) / ctx.temperature, None


def one_hot_argmax(logits: Tensor, temperature: float = 0.1) -> Tensor:
    """``(..., K)`` logits -> one-hot ``(..., K)`` of their argmax, with the
    softmax-at-``temperature`` gradient. Logits of ``-inf`` are never chosen (at least one
    must be finite)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return _StraightThrough.apply(logits, float(temperature))
