"""The named flow priors ``p(z | T)`` of LNF.

| name        | in time            | in hidden (default) | density  | sampling        |
|-------------|--------------------|---------------------|----------|-----------------|
| ``af-af``   | AF (LSTM on z)     | AF (MADE)           | parallel | serial in T, H  |
| ``af-scf``  | AF (LSTM on z)     | SCF (coupling)      | parallel | serial in T     |
| ``iaf-scf`` | IAF (LSTM on eps)  | SCF (coupling)      | serial T | parallel        |
| ``af-only`` | none               | AF (MADE)           | parallel | serial in H     |

Ablations: ``transform="affine"`` instead of NLSq; ``hidden_flow="none"`` (no flow across
hidden: per-dimension transforms conditioned on the time context only). The base density is
``N(0, I)`` over the ``T x H`` noise.

References:
    Ziegler & Rush (2019), Section 4 and Appendix A.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lnfmusic.config import ModelConfig
from lnfmusic.flows.hidden import HiddenFlow
from lnfmusic.flows.time import TIME_FLOWS, TimeFlow, length_mask
from lnfmusic.flows.transforms import get_transform

TIME_OF_MODEL = {"af-af": "af", "af-scf": "af", "iaf-scf": "iaf", "af-only": "none"}


class FlowPrior(nn.Module):
    """``p(z | T)`` for ``z`` of shape ``(B, T, H)``; padded steps (``t >= length``) are
    ignored. Works on any device and dtype (those of its parameters)."""

    def __init__(self, time_flow: TimeFlow, latent_dim: int):
        super().__init__()
        self.time = time_flow
        self.latent_dim = latent_dim

    def log_prob(self, z: Tensor, lengths: Tensor) -> Tensor:
        """Log-density of ``z`` ``(B, T, H)`` given the lengths ``(B,)`` (any device, each
        ``<= T``); returns ``(B,)``. Padded steps are replaced by zeros first, so whatever
        they hold has no effect and receives an exact zero gradient."""
        return self.inverse(z, lengths)[1]

    def inverse(self, z: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """The noise ``eps`` ``(B, T, H)`` of ``z`` (density direction) and ``log p(z)``
        ``(B,)``; ``eps`` on padded steps is meaningless."""
        lengths = lengths.to(z.device)
        return self.time.inverse(_zero_padding(z, lengths), lengths)

    def transform(self, eps: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``z = f(eps)`` ``(B, T, H)`` (sampling direction, no noise drawn) and ``log p(z)``
        ``(B,)``; ``z`` on padded steps is meaningless."""
        lengths = lengths.to(eps.device)
        return self.time.sample(_zero_padding(eps, lengths), lengths)

    def sample(
        self,
        lengths: Tensor,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Draw ``z`` ``(B, max(lengths), H)`` (zeros on padding) and ``log p(z)`` ``(B,)``.

        ``temperature`` multiplies the base noise; the returned log-density is the prior's own
        (temperature 1) density of the returned ``z``, computed in the same pass, equal to
        ``log_prob(z, lengths)``. The noise is drawn on the generator's device (so a CPU
        generator gives the same draws whatever the model's device) and moved to the model's.
        """
        param = next(self.parameters())
        device, dtype = param.device, dtype or param.dtype
        lengths = lengths.to(device)
        T = int(lengths.max()) if lengths.numel() else 0
        shape = (lengths.shape[0], T, self.latent_dim)
        noise_device = generator.device if generator is not None else device
        eps = torch.randn(shape, generator=generator, device=noise_device, dtype=dtype)
        mask = length_mask(lengths, T, device)[..., None]
        eps = _zero_padding(eps.to(device) * temperature, lengths)
        z, log_prob = self.time.sample(eps, lengths)
        return torch.where(mask, z, torch.zeros_like(z)), log_prob


def _zero_padding(x: Tensor, lengths: Tensor) -> Tensor:
    mask = length_mask(lengths, x.shape[1], x.device)[..., None]
    return torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device))


def build_prior(cfg: ModelConfig) -> FlowPrior:
    """The prior named by ``cfg.model`` (``af-af``, ``af-scf``, ``iaf-scf``, ``af-only``)
    with ``cfg.transform``, ``cfg.resolved_hidden_flow()``, ``latent_dim``, ``hidden_size``,
    ``num_layers``, ``flow_layers``, ``flow_hidden``, ``nlsq_alpha``, ``prior_dropout`` and
    ``max_length``."""
    if cfg.model not in TIME_OF_MODEL:
        raise ValueError(f"{cfg.model!r} has no flow prior; choose {', '.join(TIME_OF_MODEL)}")
    transform = get_transform(cfg.transform, cfg.nlsq_alpha)
    hidden = HiddenFlow(
        cfg.resolved_hidden_flow(),
        cfg.latent_dim,
        cfg.hidden_size,
        cfg.flow_hidden,
        cfg.flow_layers,
        transform,
    )
    time_flow = TIME_FLOWS[TIME_OF_MODEL[cfg.model]](
        hidden,
        latent_dim=cfg.latent_dim,
        hidden_size=cfg.hidden_size,
        num_layers=cfg.num_layers,
        dropout=cfg.prior_dropout,
        max_length=cfg.max_length,
    )
    return FlowPrior(time_flow, cfg.latent_dim)
