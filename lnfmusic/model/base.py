"""The interface every model family implements, and what its forward pass returns.

Training, evaluation and sampling use only this interface:

- ``model(batch, kl_weight=..., num_samples=...) -> ModelOutput``: the loss to minimise and
  the per-sequence terms for reporting. Training calls the module itself, so a
  ``DistributedDataParallel`` wrapper synchronises the gradients.
- ``log_weights(batch, num_samples) -> (S, B)``: importance weights ``log p(x, z_s) - log
  q(z_s | x)``; for a family whose likelihood is exact (:attr:`SequenceModel.exact`), the
  exact ``log p(x | T)`` as ``(1, B)``.
- ``generate(lengths, ...)``: sequences of the given lengths.
- ``continue_sequence(prefix, lengths, ...)``: sequences that begin with ``prefix`` (families
  whose model is causal in time; the others raise :class:`UnsupportedError`).

A family with a latent sequence ``z`` (:class:`LatentSequenceModel`) also offers ``encode``
(a draw from q(z | x)), ``to_noise`` / ``from_noise`` (the prior's flow to and from its base
noise) and ``decode`` (x from p(x | z)); variations and interpolation use only these.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from lnfmusic.data.batching import Batch
from lnfmusic.errors import LnfError
from lnfmusic.model.config import ModelConfig


class UnsupportedError(LnfError):
    """The model family cannot do what was asked (the message says why)."""


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

    def continue_sequence(
        self,
        prefix: Tensor,
        lengths: Tensor,
        temperature: float = 1.0,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Sequences of ``lengths`` ``(B,)`` whose first ``K = prefix.shape[1]`` steps are
        ``prefix`` (music ``(B, K, 88)``, text ``(B, K)``; every length > K), the rest drawn
        given it. Shapes as :meth:`generate`."""
        raise UnsupportedError(
            f"a {self.config.name} model cannot continue a given beginning (--primer, "
            "--prefix): its model is not causal in time; use an LNF model (af-af, af-scf, "
            "iaf-scf, af-only) or the lstm baseline"
        )

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def max_generate_length(self) -> int:
        """The longest sequence :meth:`generate` draws: the positions the length embeddings
        know (``config.max_length``, 1.25 x the longest training sequence for music)."""
        return self.config.max_length


class LatentSequenceModel(SequenceModel):
    """A model of x through a latent sequence ``z`` ``(B, T, H)`` whose prior is a flow from
    base noise ``eps`` of the same shape, causal in time (``z_{<=t}`` and ``eps_{<=t}``
    determine each other). That makes :meth:`continue_sequence` exact for the prior: the
    prefix's latents are mapped to their noise, fresh noise follows, and the flow maps it
    all back, so ``z_{>K} ~ p(z_{>K} | z_{<=K})``."""

    @abstractmethod
    def encode(
        self,
        x: Tensor,
        lengths: Tensor,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """``z = mean + temperature * std * eps`` from q(z | x) ``(B, T, H)`` (temperature 0:
        the posterior mean); zeros on padding."""

    @abstractmethod
    def to_noise(self, z: Tensor, lengths: Tensor) -> Tensor:
        """The prior's base noise of ``z`` (density direction), ``(B, T, H)``."""

    @abstractmethod
    def from_noise(self, eps: Tensor, lengths: Tensor) -> Tensor:
        """The latents of base noise ``eps`` (sampling direction), ``(B, T, H)``."""

    @abstractmethod
    def decode(
        self,
        z: Tensor,
        lengths: Tensor,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """x drawn from p(x | z, T); shapes as :meth:`generate`."""

    def continue_sequence(
        self,
        prefix: Tensor,
        lengths: Tensor,
        temperature: float = 1.0,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """The prefix is encoded on its own (as a piece of ``K`` steps, posterior mean), its
        latents are clamped, the following ones drawn from the prior given them (noise
        scaled by ``temperature``), x is drawn from the emission given the whole ``z`` and
        its first ``K`` steps are replaced by the prefix."""
        device = self.device
        lengths = lengths.to(device)
        prefix = prefix.to(device)
        B, K = prefix.shape[:2]
        if K < 1 or bool((lengths <= K).any()):
            raise ValueError("every length must exceed the prefix's")
        T = int(lengths.max())
        z_prefix = self.encode(prefix, torch.full((B,), K, device=device))
        z = torch.cat([z_prefix, z_prefix.new_zeros(B, T - K, z_prefix.shape[-1])], 1)
        eps = self.to_noise(z, lengths)
        noise_device = generator.device if generator is not None else device
        fresh = torch.randn(
            (B, T - K, eps.shape[-1]), generator=generator, device=noise_device, dtype=eps.dtype
        )
        eps = torch.cat([eps[:, :K], fresh.to(device) * temperature], 1)
        z = self.from_noise(eps, lengths)
        z = torch.cat([z_prefix, z[:, K:]], 1)
        x = self.decode(z, lengths, threshold, generator)
        x[:, :K] = prefix.to(x.dtype)
        return x


def count_parameters(model: nn.Module) -> int:
    """Parameters counted once each (a tied embedding is one parameter)."""
    return sum(p.numel() for p in model.parameters())
