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

from lnfmusic.flows.hidden import HiddenFlow
from lnfmusic.flows.names import PRIORS
from lnfmusic.flows.time import TIME_FLOWS, TimeFlow
from lnfmusic.flows.transforms import get_transform
from lnfmusic.nn.gaussian import standard_normal_log_prob
from lnfmusic.nn.sequence import length_mask, zero_padding


class FlowPrior(nn.Module):
    """``p(z | T)`` for ``z`` of shape ``(B, T, H)``: ``N(0, I)`` noise pushed through a flow
    in time. Padded steps (``t >= length``) are ignored. Works on any device and dtype (those
    of its parameters).

    As a flow it has the layers' API at the sequence level: ``forward(eps, lengths) -> (z,
    ladj)`` (sampling direction) and ``inverse(z, lengths) -> (eps, ladj)`` (density
    direction), ``ladj`` ``(B,)`` summed over the real steps. As a distribution it has
    ``log_prob(z, lengths)`` and ``sample(lengths) -> (z, log_prob)``.
    """

    def __init__(self, time_flow: TimeFlow, latent_dim: int):
        super().__init__()
        self.time = time_flow
        self.latent_dim = latent_dim

    def _density(self, eps: Tensor, ladj: Tensor, lengths: Tensor) -> Tensor:
        """``sum_t [log N(eps_t) + log |det deps_t/dz_t|]`` over the real steps, ``(B,)``."""
        m = length_mask(lengths, eps.shape[1], eps.device)
        per_step = standard_normal_log_prob(eps) + ladj
        return torch.where(m, per_step, torch.zeros_like(per_step)).sum(1)

    def _sum_real(self, ladj: Tensor, lengths: Tensor) -> Tensor:
        m = length_mask(lengths, ladj.shape[1], ladj.device)
        return torch.where(m, ladj, torch.zeros_like(ladj)).sum(1)

    def log_prob(self, z: Tensor, lengths: Tensor) -> Tensor:
        """Log-density of ``z`` ``(B, T, H)`` given the lengths ``(B,)`` (any device, each
        ``<= T``); returns ``(B,)``. Padded steps are replaced by zeros first, so whatever
        they hold has no effect and receives an exact zero gradient."""
        lengths = lengths.to(z.device)
        eps, ladj = self.time.inverse(zero_padding(z, lengths), lengths)
        return self._density(eps, ladj, lengths)

    def inverse(self, z: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Density direction: the noise ``eps`` ``(B, T, H)`` of ``z`` and ``log |det
        deps/dz|`` ``(B,)``; ``eps`` on padded steps is meaningless."""
        lengths = lengths.to(z.device)
        eps, ladj = self.time.inverse(zero_padding(z, lengths), lengths)
        return eps, self._sum_real(ladj, lengths)

    def forward(self, eps: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Sampling direction without drawing noise: ``z = f(eps)`` ``(B, T, H)`` and ``log
        |det dz/deps|`` ``(B,)``; ``z`` on padded steps is meaningless."""
        lengths = lengths.to(eps.device)
        z, ladj = self.time(zero_padding(eps, lengths), lengths)
        return z, self._sum_real(ladj, lengths)

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
        eps = zero_padding(eps.to(device) * temperature, lengths)
        z, ladj = self.time(eps, lengths)
        log_prob = self._density(eps, -ladj, lengths)
        return torch.where(mask, z, torch.zeros_like(z)), log_prob


def build_prior(
    name: str,
    *,
    latent_dim: int,
    hidden_size: int,
    num_layers: int,
    flow_layers: int,
    flow_hidden: int,
    transform: str = "nlsq",
    hidden_flow: str | None = None,
    nlsq_alpha: float = 0.95,
    dropout: float = 0.0,
    max_length: int = 200,
) -> FlowPrior:
    """The prior ``name`` (a key of :data:`lnfmusic.flows.names.PRIORS`): its flow in time,
    with ``flow_layers`` layers of ``hidden_flow`` (default: the prior's own) in hidden,
    scalar ``transform`` (``nlsq`` with ``nlsq_alpha``, or ``affine``), LSTMs of
    ``num_layers`` x ``hidden_size`` with ``dropout``, conditioners of width
    ``flow_hidden``, positions up to ``max_length``."""
    if name not in PRIORS:
        raise ValueError(f"{name!r} has no flow prior; choose {', '.join(PRIORS)}")
    time_kind, default_hidden = PRIORS[name]
    hidden = HiddenFlow(
        hidden_flow or default_hidden,
        latent_dim,
        hidden_size,
        flow_hidden,
        flow_layers,
        get_transform(transform, nlsq_alpha),
    )
    time_flow = TIME_FLOWS[time_kind](
        hidden,
        latent_dim=latent_dim,
        hidden_size=hidden_size,
        num_layers=num_layers,
        dropout=dropout,
        max_length=max_length,
    )
    return FlowPrior(time_flow, latent_dim)
