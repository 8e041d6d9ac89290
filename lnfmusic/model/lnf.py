"""The LNF VAE: inference network q(z|x), flow prior p(z|T), emission p(x|z, T).

References:
    Ziegler & Rush (2019), Section 5 and Appendix C.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lnfmusic.config import ModelConfig
from lnfmusic.data.batching import Batch
from lnfmusic.flows.prior import build_prior
from lnfmusic.model.emission import Emission
from lnfmusic.model.encoder import Encoder
from lnfmusic.model.likelihood import draw, step_log_likelihood

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class LNFModel(nn.Module):
    """A latent normalizing flow model of discrete sequences (see docs/architecture.md)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.embedding = nn.Parameter(torch.randn(cfg.output_dim, cfg.embed_dim) * 0.1)
        self.encoder = Encoder(cfg, self.embedding)
        self.emission = Emission(cfg, self.embedding)
        self.prior = build_prior(cfg)

    def _sample_posterior(self, batch: Batch, num_samples: int) -> tuple[Tensor, Tensor, Tensor]:
        """``z`` ``(S*B, T, H)``, ``log q(z|x)`` ``(S*B,)`` and the repeated lengths."""
        mean, log_std = self.encoder(batch.x, batch.lengths)
        S = num_samples
        noise = torch.randn((S, *mean.shape), device=mean.device, dtype=mean.dtype)
        z = (mean + log_std.exp() * noise).flatten(0, 1)
        mask = batch.mask.to(mean.dtype).repeat(S, 1)
        log_q = (-0.5 * noise * noise - log_std - _HALF_LOG_2PI).sum(-1).flatten(0, 1)
        return z * mask[..., None], (log_q * mask).sum(1), batch.lengths.repeat(S)

    def _terms(self, batch: Batch, num_samples: int) -> tuple[Tensor, Tensor, Tensor]:
        """``log p(x|z)``, ``log p(z)``, ``log q(z|x)``, each ``(S, B)``."""
        z, log_q, lengths = self._sample_posterior(batch, num_samples)
        logits = self.emission(z, lengths)
        x = batch.x.repeat(num_samples, *([1] * (batch.x.dim() - 1)))
        mask = batch.mask.repeat(num_samples, 1).to(logits.dtype)
        recon = (step_log_likelihood(logits, x, self.config.data_kind) * mask).sum(1)
        log_p = self.prior.log_prob(z, lengths)
        B = len(batch)
        return recon.view(-1, B), log_p.view(-1, B), log_q.view(-1, B)

    def elbo_terms(self, batch: Batch, num_samples: int = 1) -> dict[str, Tensor]:
        """Per-sequence ``recon`` = E_q log p(x|z) and ``kl`` = E_q[log q - log p(z)], ``(B,)``."""
        recon, log_p, log_q = self._terms(batch, num_samples)
        return {"recon": recon.mean(0), "kl": (log_q - log_p).mean(0)}

    def log_weights(self, batch: Batch, num_samples: int) -> Tensor:
        """Importance weights ``log p(x|z_s) + log p(z_s) - log q(z_s|x)``, ``(S, B)``."""
        recon, log_p, log_q = self._terms(batch, num_samples)
        return recon + log_p - log_q

    @torch.no_grad()
    def generate(
        self, lengths: Tensor, temperature: float = 1.0, threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """T given, ``eps -> z -> x``: music ``(B, T, 88)`` uint8, text ``(B, T)`` int64."""
        device = self.embedding.device
        lengths = lengths.to(device)
        z, _ = self.prior.sample(lengths, temperature, generator)
        logits = self.emission(z, lengths)
        x = draw(logits, self.config.data_kind, threshold, generator)
        mask = torch.arange(x.shape[1], device=device)[None, :] < lengths[:, None]
        return x * (mask[..., None] if x.dim() == 3 else mask).to(x.dtype)
