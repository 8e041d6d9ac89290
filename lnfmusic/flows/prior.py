"""The named flow priors p(z | T) of LNF.

| name      | in time        | in hidden (default) |
|-----------|----------------|---------------------|
| ``af-af``   | AF (LSTM on z) | AF (MADE)           |
| ``af-scf``  | AF (LSTM on z) | SCF (coupling)      |
| ``iaf-scf`` | IAF (LSTM on eps) | SCF (coupling)   |
| ``af-only`` | none           | AF (MADE)           |

Ablations: ``transform="affine"`` instead of NLSq; ``hidden_flow="none"`` (no flow across
hidden). See :mod:`lnfmusic.flows.time` for which direction is serial.

References:
    Ziegler & Rush (2019), Section 4.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lnfmusic.config import ModelConfig
from lnfmusic.flows.hidden import HiddenFlow
from lnfmusic.flows.time import TIME_FLOWS, _mask
from lnfmusic.flows.transforms import get_transform

TIME_OF_MODEL = {"af-af": "af", "af-scf": "af", "iaf-scf": "iaf", "af-only": "none"}


class FlowPrior(nn.Module):
    """``p(z | T)`` for ``z`` of shape ``(B, T, H)``; padding (steps >= length) is ignored."""

    def __init__(self, time_flow: nn.Module, latent_dim: int):
        super().__init__()
        self.time = time_flow
        self.latent_dim = latent_dim

    def log_prob(self, z: Tensor, lengths: Tensor) -> Tensor:
        """Log-density of ``z`` ``(B, T, H)`` given the lengths ``(B,)``; returns ``(B,)``."""
        return self.time.log_prob(z, lengths.to(z.device))

    def sample(
        self, lengths: Tensor, temperature: float = 1.0,
        generator: torch.Generator | None = None, dtype: torch.dtype | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Draw ``z`` ``(B, max(lengths), H)`` (zeros on padding) and its log-density ``(B,)``.

        ``temperature`` scales the base noise; the returned log-density is the prior's
        (temperature 1) density of the returned ``z``.
        """
        param = next(self.parameters())
        device, dtype = param.device, dtype or param.dtype
        lengths = lengths.to(device)
        T = int(lengths.max())
        eps = torch.randn(
            lengths.shape[0], T, self.latent_dim, generator=generator, device=device,
            dtype=dtype,
        ) * temperature
        eps = eps * _mask(lengths, T, device)[..., None]
        z, log_prob = self.time.sample(eps, lengths)
        return z * _mask(lengths, T, device)[..., None], log_prob


def build_prior(cfg: ModelConfig) -> FlowPrior:
    """The prior named by ``cfg.model`` with the options of ``cfg``."""
    if cfg.model not in TIME_OF_MODEL:
        raise ValueError(f"{cfg.model!r} has no flow prior; choose {', '.join(TIME_OF_MODEL)}")
    transform = get_transform(cfg.transform, cfg.nlsq_alpha)
    context = cfg.hidden_size
    hidden = HiddenFlow(
        cfg.resolved_hidden_flow(), cfg.latent_dim, context, cfg.flow_hidden, cfg.flow_layers,
        transform,
    )
    time_flow = TIME_FLOWS[TIME_OF_MODEL[cfg.model]](
        hidden, latent_dim=cfg.latent_dim, hidden_size=cfg.hidden_size,
        num_layers=cfg.num_layers, dropout=cfg.prior_dropout, max_length=cfg.max_length,
    )
    return FlowPrior(time_flow, cfg.latent_dim)
