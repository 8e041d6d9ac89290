"""The LNF VAE: inference network q(z|x), flow prior p(z|T), emission p(x|z, T).

``log p(x | T) >= E_q[log p(x | z, T)] - E_q[log q(z | x) - log p(z | T)]``; the prior is a
flow, so the KL term is estimated on the same samples (no closed form). ``S`` samples are
vectorised by repeating the batch ``S`` times along the batch dimension.

References:
    Ziegler & Rush (2019), Section 5 and Appendix C.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lnfmusic.data.batching import Batch
from lnfmusic.flows.prior import FlowPrior, build_prior
from lnfmusic.model.base import LatentSequenceModel, ModelOutput
from lnfmusic.model.lnf.config import LNFConfig
from lnfmusic.model.lnf.emission import Emission
from lnfmusic.model.lnf.encoder import Encoder
from lnfmusic.nn.sequence import zero_padding


def prior_of(cfg: LNFConfig) -> FlowPrior:
    """The flow prior an LNF model of ``cfg`` has (freshly initialised)."""
    return build_prior(
        cfg.prior,
        latent_dim=cfg.latent_dim,
        hidden_size=cfg.hidden_size,
        num_layers=cfg.num_layers,
        flow_layers=cfg.flow_layers,
        flow_hidden=cfg.flow_hidden,
        transform=cfg.transform,
        hidden_flow=cfg.resolved_hidden_flow(),
        nlsq_alpha=cfg.nlsq_alpha,
        dropout=cfg.prior_dropout,
        max_length=cfg.max_length,
    )


class LNFModel(LatentSequenceModel):
    """A latent normalizing flow model of discrete sequences. The input embedding
    ``(output_dim, embed_dim)`` is one parameter shared by the encoder's input and the
    emission's output layer. Its likelihood is bounded (ELBO) or estimated (importance
    sampling), not exact."""

    exact = False
    config: LNFConfig

    def __init__(self, cfg: LNFConfig):
        super().__init__(cfg)
        self.embedding = nn.Parameter(torch.randn(cfg.output_dim, cfg.embed_dim) * 0.1)
        self.encoder = Encoder(cfg, self.embedding)
        self.emission = Emission(cfg, self.embedding)
        self.prior = prior_of(cfg)

    def sample_terms(
        self, batch: Batch, num_samples: int, noise: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``log p(x|z_s, T)``, ``log p(z_s|T)``, ``log q(z_s|x)`` per sequence and posterior
        draw, each ``(S, B)`` (sums over the real steps). ``noise`` ``(S, B, T, H)``
        optionally fixes the standard normal draws of q."""
        S, B = num_samples, len(batch)
        z, log_q = self.encoder.rsample(batch.x, batch.lengths, batch.mask, S, noise)
        lengths = batch.lengths.repeat(S)
        x = batch.x.repeat(S, *([1] * (batch.x.dim() - 1)))
        per_step = self.emission.log_prob(z, lengths, x)
        recon = (per_step * batch.mask.repeat(S, 1).to(per_step.dtype)).sum(1)
        log_p = self.prior.log_prob(z, lengths)
        return recon.view(S, B), log_p.view(S, B), log_q.view(S, B)

    def forward(self, batch: Batch, *, kl_weight: float = 1.0, num_samples: int = 1) -> ModelOutput:
        """The annealed ELBO with ``num_samples`` draws from q: per sequence ``recon`` =
        E_q log p(x|z) and ``kl`` = E_q[log q - log p(z)], each ``(B,)``, summed over the
        real steps and averaged over the draws."""
        recon, log_p, log_q = self.sample_terms(batch, num_samples)
        return ModelOutput.from_terms(
            recon.mean(0), (log_q - log_p).mean(0), batch.lengths, kl_weight
        )

    def log_weights(self, batch: Batch, num_samples: int) -> Tensor:
        """Importance weights ``log p(x|z_s) + log p(z_s) - log q(z_s|x)``, ``(S, B)``."""
        recon, log_p, log_q = self.sample_terms(batch, num_samples)
        return recon + log_p - log_q

    @torch.no_grad()
    def generate(
        self,
        lengths: Tensor,
        temperature: float = 1.0,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Given lengths ``(B,)``: ``eps -> z -> x``; music ``(B, T, 88)`` uint8, text
        ``(B, T)`` int64, zeros past each length. ``temperature`` scales the prior noise;
        ``threshold`` (music) replaces Bernoulli draws by ``p > threshold``."""
        lengths = lengths.to(self.embedding.device)
        z, _ = self.prior.sample(lengths, temperature, generator)
        return self.decode(z, lengths, threshold, generator)

    @torch.no_grad()
    def encode(
        self,
        x: Tensor,
        lengths: Tensor,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        device = self.embedding.device
        x, lengths = x.to(device), lengths.to(device)
        mean, log_std = self.encoder(x, lengths)
        if temperature:
            noise_device = generator.device if generator is not None else device
            eps = torch.randn(
                mean.shape, generator=generator, device=noise_device, dtype=mean.dtype
            )
            mean = mean + temperature * log_std.exp() * eps.to(device)
        return zero_padding(mean, lengths)

    @torch.no_grad()
    def to_noise(self, z: Tensor, lengths: Tensor) -> Tensor:
        eps, _ = self.prior.inverse(z.to(self.embedding.device), lengths)
        return zero_padding(eps, lengths)

    @torch.no_grad()
    def from_noise(self, eps: Tensor, lengths: Tensor) -> Tensor:
        z, _ = self.prior(eps.to(self.embedding.device), lengths)
        return zero_padding(z, lengths)

    @torch.no_grad()
    def decode(
        self,
        z: Tensor,
        lengths: Tensor,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        lengths = lengths.to(self.embedding.device)
        x = self.emission.sample(z.to(self.embedding.device), lengths, threshold, generator)
        return zero_padding(x, lengths)
