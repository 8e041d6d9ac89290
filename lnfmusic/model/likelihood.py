"""Observations and logits: embedding the inputs, per-step log-likelihoods, drawing."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def embed_inputs(x: Tensor, weight: Tensor, kind: str) -> Tensor:
    """Embed observations with ``weight`` ``(V, E)``.

    Music: the sum of the active notes' embeddings, ``(B, T, 88) @ (88, E) -> (B, T, E)``;
    text: a row lookup, ``(B, T)`` ids -> ``(B, T, E)``.
    """
    if kind == "music":
        return x.to(weight.dtype) @ weight
    return nn.functional.embedding(x, weight)


def step_log_likelihood(logits: Tensor, x: Tensor, kind: str) -> Tensor:
    """``log p(x_t | ...)`` per step, ``(B, T)``.

    Music: ``logits``/``x`` ``(B, T, 88)``, a sum of independent Bernoullis. Text: ``logits``
    ``(B, T, V)`` and ``x`` ``(B, T)`` ids, a categorical.
    """
    if kind == "music":
        return -F.binary_cross_entropy_with_logits(
            logits, x.to(logits.dtype), reduction="none"
        ).sum(-1)
    return -F.cross_entropy(logits.transpose(1, 2), x, reduction="none")


def draw(
    logits: Tensor,
    kind: str,
    threshold: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Sample observations from logits: music Bernoulli (or ``p > threshold``), text
    categorical. Returns uint8 ``(..., 88)`` or int64 ``(...)``."""
    if kind == "music":
        probs = torch.sigmoid(logits)
        if threshold is not None:
            return (probs > threshold).to(torch.uint8)
        u = torch.rand(probs.shape, generator=generator, device=probs.device, dtype=probs.dtype)
        return (u < probs).to(torch.uint8)
    probs = torch.softmax(logits.double(), -1).reshape(-1, logits.shape[-1])
    return torch.multinomial(probs, 1, generator=generator).view(logits.shape[:-1])
