"""Flows across time over a latent sequence ``z`` of shape ``(B, T, H)``.

Each step's hidden flow (:class:`~lnfmusic.flows.hidden.HiddenFlow`) is conditioned on a
context ``c_t`` = LSTM state (+ length conditioning):

- :class:`AFInTime`: the LSTM reads ``z_{<t}``. Density evaluation: one parallel pass (the
  LSTM runs over the shifted, known ``z``). Sampling: serial in time.
- :class:`IAFInTime`: the LSTM reads ``eps_{<t}``. Sampling: one parallel pass. Density
  evaluation: serial in time (one LSTM step + one hidden-flow inverse per step).
- :class:`NoTime`: no dependence across time (``af-only``, the "unigram" prior).

``log_prob(z, lengths) -> (B,)`` and ``sample(eps, lengths) -> (z, log_prob)`` sum over the
real steps only; padding never influences real steps (every recurrence runs forward in time).

References:
    Ziegler & Rush (2019), Section 4, Models 1-3; Appendix A.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lnfmusic.flows.hidden import HiddenFlow
from lnfmusic.model.position import PositionEmbedding

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _mask(lengths: Tensor, T: int, device: torch.device) -> Tensor:
    return torch.arange(T, device=device)[None, :] < lengths.to(device)[:, None]


def standard_normal_log_prob(eps: Tensor) -> Tensor:
    """``log N(eps; 0, I)`` summed over the last dimension."""
    return (-0.5 * eps * eps - _HALF_LOG_2PI).sum(-1)


class _TimeFlow(nn.Module):
    def __init__(
        self, hidden_flow: HiddenFlow, latent_dim: int, hidden_size: int, num_layers: int,
        dropout: float, max_length: int, recurrent: bool,
    ):
        super().__init__()
        self.latent_dim = latent_dim
        self.flow = hidden_flow
        self.position = PositionEmbedding(max_length, hidden_size)
        self.recurrent = recurrent
        if recurrent:
            self.lstm = nn.LSTM(
                latent_dim, hidden_size, num_layers, batch_first=True,
                dropout=dropout if num_layers > 1 else 0.0,
            )
            self.drop = nn.Dropout(dropout)

    def _context(self, inputs: Tensor | None, lengths: Tensor, T: int) -> Tensor:
        """Contexts ``(B, T, C)`` from the (already shifted) LSTM inputs."""
        pos = self.position(lengths, T)
        if not self.recurrent:
            return pos.expand(lengths.shape[0], -1, -1)
        out, _ = self.lstm(inputs)
        return self.drop(out) + pos

    @staticmethod
    def _shift(x: Tensor) -> Tensor:
        """``x_{<t}`` as the input of step t: a zero vector, then ``x_1 .. x_{T-1}``."""
        return torch.cat([x.new_zeros(x.shape[0], 1, x.shape[2]), x[:, :-1]], dim=1)

    def _total(self, eps: Tensor, ladj_density: Tensor, lengths: Tensor) -> Tensor:
        m = _mask(lengths, eps.shape[1], eps.device).to(eps.dtype)
        return ((standard_normal_log_prob(eps) + ladj_density) * m).sum(1)


class AFInTime(_TimeFlow):
    """Autoregressive flow in time: ``c_t = LSTM(z_{<t})``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, recurrent=True, **kwargs)

    def log_prob(self, z: Tensor, lengths: Tensor) -> Tensor:
        """Parallel: ``z`` ``(B, T, H)`` -> ``(B,)``."""
        ctx = self._context(self._shift(z), lengths, z.shape[1])
        eps, ladj = self.flow.inverse(z, ctx)
        return self._total(eps, ladj, lengths)

    def sample(self, eps: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Serial in time: ``eps`` ``(B, T, H)`` -> ``(z, log_prob)``."""
        B, T, _ = eps.shape
        pos = self.position(lengths, T)
        state = None
        prev = eps.new_zeros(B, 1, self.latent_dim)
        zs, ladjs = [], []
        for t in range(T):
            out, state = self.lstm(prev, state)
            ctx = self.drop(out[:, 0]) + pos[:, t]
            zt, ladj = self.flow.forward(eps[:, t], ctx)
            zs.append(zt)
            ladjs.append(-ladj)  # density-direction log-det
            prev = zt.unsqueeze(1)
        z = torch.stack(zs, 1)
        return z, self._total(eps, torch.stack(ladjs, 1), lengths)


class IAFInTime(_TimeFlow):
    """Inverse autoregressive flow in time: ``c_t = LSTM(eps_{<t})``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, recurrent=True, **kwargs)

    def sample(self, eps: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Parallel: one LSTM pass over the shifted noise, one hidden-flow pass."""
        ctx = self._context(self._shift(eps), lengths, eps.shape[1])
        z, ladj = self.flow.forward(eps, ctx)
        return z, self._total(eps, -ladj, lengths)

    def log_prob(self, z: Tensor, lengths: Tensor) -> Tensor:
        """Serial in time: each step recovers ``eps_t`` and feeds it to the LSTM."""
        B, T, _ = z.shape
        pos = self.position(lengths, T)
        state = None
        prev = z.new_zeros(B, 1, self.latent_dim)
        eps_steps, ladjs = [], []
        for t in range(T):
            out, state = self.lstm(prev, state)
            ctx = self.drop(out[:, 0]) + pos[:, t]
            et, ladj = self.flow.inverse(z[:, t], ctx)
            eps_steps.append(et)
            ladjs.append(ladj)
            prev = et.unsqueeze(1)
        return self._total(torch.stack(eps_steps, 1), torch.stack(ladjs, 1), lengths)


class NoTime(_TimeFlow):
    """No dependence across time: ``c_t`` is the length conditioning only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, recurrent=False, **kwargs)

    def log_prob(self, z: Tensor, lengths: Tensor) -> Tensor:
        eps, ladj = self.flow.inverse(z, self._context(None, lengths, z.shape[1]))
        return self._total(eps, ladj, lengths)

    def sample(self, eps: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        z, ladj = self.flow.forward(eps, self._context(None, lengths, eps.shape[1]))
        return z, self._total(eps, -ladj, lengths)


TIME_FLOWS = {"af": AFInTime, "iaf": IAFInTime, "none": NoTime}
