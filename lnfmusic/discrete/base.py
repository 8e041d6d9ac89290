"""Categorical base distributions over one-hot tensors ``(B, T, F, K)``.

- :class:`FactorizedBase`: every variable independent; logits from a learned table per
  position (and, with a ``(B, T, C)`` context, a linear function of it). Sampling: parallel.
- :class:`AutoregressiveBase`: ``p(x_t | x_{<t})`` from a causal network, the F variables
  of a position independent given the past. Density: parallel; sampling: serial over T.

``log_prob`` returns ``(B,)`` summed over the real positions (``mask`` ``(B, T)``).
``sample`` draws with the logits divided by ``temperature``; ``threshold`` (K = 2 only)
takes class 1 where its probability exceeds it instead of drawing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lnfmusic.discrete.layers import zero_padding
from lnfmusic.discrete.networks import run_net


def categorical_log_prob(logits: Tensor, x: Tensor, mask: Tensor | None) -> Tensor:
    """``sum log softmax(logits)[x]`` over real positions: ``(B, T, F, K)`` -> ``(B,)``."""
    ll = (x * torch.log_softmax(logits, -1)).sum(-1)  # (B, T, F)
    if mask is not None:
        ll = ll * mask[:, :, None].to(ll.dtype)
    return ll.sum((1, 2))


def draw_one_hot(
    logits: Tensor,
    temperature: float = 1.0,
    threshold: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """One-hot draws ``(..., K)`` from ``softmax(logits / temperature)``."""
    K = logits.shape[-1]
    if threshold is not None:
        if K != 2:
            raise ValueError("a threshold needs two classes")
        return F.one_hot((torch.softmax(logits, -1)[..., 1] > threshold).long(), 2).to(logits.dtype)
    probs = torch.softmax(logits.double() / temperature, -1).reshape(-1, K)
    idx = torch.multinomial(probs, 1, generator=generator).view(logits.shape[:-1])
    return F.one_hot(idx, K).to(logits.dtype)


class FactorizedBase(nn.Module):
    """Independent categoricals, logits ``table[t, f] (+ W context_t)``.

    Args:
        max_length: positions the table covers. features: F. num_classes: K.
        context_dim: size of a per-position ``(B, T, C)`` context (0: none).
    """

    def __init__(self, max_length: int, features: int, num_classes: int, context_dim: int = 0):
        super().__init__()
        self.features, self.num_classes = features, num_classes
        self.table = nn.Parameter(torch.zeros(max_length, features, num_classes))
        self.context = nn.Linear(context_dim, features * num_classes) if context_dim else None

    def logits(self, batch_size: int, length: int, context: Tensor | None = None) -> Tensor:
        if length > self.table.shape[0]:
            raise ValueError(
                f"length {length} is beyond the base's {self.table.shape[0]} positions"
            )
        logits = self.table[:length].expand(batch_size, -1, -1, -1)
        if self.context is not None and context is not None:
            logits = logits + self.context(context).unflatten(-1, (self.features, self.num_classes))
        return logits

    def log_prob(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        return categorical_log_prob(self.logits(x.shape[0], x.shape[1], context), x, mask)

    def sample(
        self,
        batch_size: int,
        length: int,
        context: Tensor | None = None,
        mask: Tensor | None = None,
        temperature: float = 1.0,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        logits = self.logits(batch_size, length, context)
        return zero_padding(draw_one_hot(logits, temperature, threshold, generator), mask)


class AutoregressiveBase(nn.Module):
    """``p(x) = prod_t prod_f p(x_{t,f} | x_{<t})``, logits from a causal ``net``
    (``K`` outputs per variable)."""

    def __init__(self, net: nn.Module, features: int, num_classes: int):
        super().__init__()
        self.net, self.features, self.num_classes = net, features, num_classes

    def log_prob(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        logits = run_net(self.net, x, context, mask)
        return categorical_log_prob(logits, x, mask)

    def sample(
        self,
        batch_size: int,
        length: int,
        context: Tensor | None = None,
        mask: Tensor | None = None,
        temperature: float = 1.0,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Serial: position t is drawn from one network pass over ``x_{<t}``."""
        p = next(self.parameters())
        x = torch.zeros(
            batch_size, length, self.features, self.num_classes, dtype=p.dtype, device=p.device
        )
        for t in range(length):
            logits = run_net(self.net, x, context, mask)[:, t]
            x[:, t] = draw_one_hot(logits, temperature, threshold, generator)
        return zero_padding(x, mask)
