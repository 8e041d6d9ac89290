"""The interface every model family implements, and what its forward pass returns.

Training, evaluation and sampling use only this interface:

- ``model(batch, kl_weight=..., num_samples=...) -> ModelOutput``: the loss to minimise and
  the per-sequence terms for reporting. Training calls the module itself, so a
  ``DistributedDataParallel`` wrapper synchronises the gradients.
- ``log_weights(batch, num_samples) -> (S, B)``: importance weights ``log p(x, z_s) - log
  q(z_s | x)``; for a family whose likelihood is exact (:attr:`SequenceModel.exact`), the
  exact ``log p(x | T)`` as ``(1, B)``.
- ``generate(lengths, ...)``: sequences of the given lengths.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from lnfmusic.data.batching import Batch
from lnfmusic.model.config import ModelConfig


@dataclass
class ModelOutput:
    """One forward pass over a batch of ``B`` sequences.

    ``loss``: the scalar to minimise, ``mean_b objective_b``; ``objective`` ``(B,)``: each
    sequence's annealed negative ELBO divided by ``T_b + 1`` (``-(recon - kl_weight * kl) /
    (T + 1)``); ``recon`` ``(B,)``: ``E_q log p(x | z)`` summed over the steps (exact
    families: ``log p(x | T)``); ``kl`` ``(B,)``: ``E_q[log q - log p(z)]`` (exact: 0);
    ``num_steps``: ``sum_b (T_b + 1)``, a 0-dim tensor.
    """

    loss: Tensor
    objective: Tensor
    recon: Tensor
    kl: Tensor
    num_steps: Tensor

    @classmethod
    def from_terms(
        cls, recon: Tensor, kl: Tensor, lengths: Tensor, kl_weight: float = 1.0
    ) -> ModelOutput:
        """The annealed objective of LNF (SPEC 4) from the per-sequence terms."""
        steps = lengths + 1
        objective = -(recon - kl_weight * kl) / steps.to(recon)
        return cls(objective.mean(), objective, recon, kl, steps.sum())


class SequenceModel(nn.Module, ABC):
    """A generative model of variable-length discrete sequences given their length.

    Subclasses set :attr:`exact` and implement :meth:`forward`, :meth:`log_weights` and
    :meth:`generate`; ``config`` is the family's :class:`ModelConfig`.
    """

    exact: ClassVar[bool] = False  # True: log_weights is the exact log p(x | T)

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    @abstractmethod
    def forward(self, batch: Batch, *, kl_weight: float = 1.0, num_samples: int = 1) -> ModelOutput:
        """The training objective on ``batch`` with ``num_samples`` posterior samples."""

    @abstractmethod
    def log_weights(self, batch: Batch, num_samples: int) -> Tensor:
        """``(S, B)`` importance weights (``(1, B)`` exact log-likelihoods if exact)."""

    @abstractmethod
    def generate(
        self,
        lengths: Tensor,
        temperature: float = 1.0,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Sequences of ``lengths`` ``(B,)``: music ``(B, T, 88)`` uint8, text ``(B, T)``
        int64, zeros past each length."""

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def max_generate_length(self) -> int | None:
        """The longest sequence :meth:`generate` can draw (None: any length)."""
        return None


def count_parameters(model: nn.Module) -> int:
    """Parameters counted once each (a tied embedding is one parameter)."""
    return sum(p.numel() for p in model.parameters())
