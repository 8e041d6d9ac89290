"""Flows across time over a latent sequence ``z`` of shape ``(B, T, H)`` with lengths ``(B,)``.

Each step's hidden flow (:class:`~lnfmusic.flows.hidden.HiddenFlow`) is conditioned on the
context ``c_t = dropout(LSTM state after the inputs < t) + position embedding(t, T)``:

- :class:`AFInTime` (``af``): the LSTM reads ``z_{<t}``. Density: one parallel pass (the
  LSTM runs over the known ``z`` shifted by one step, then the hidden flow runs on all
  ``(B, T)`` steps at once). Sampling: serial in time.
- :class:`IAFInTime` (``iaf``): the LSTM reads ``eps_{<t}``. Sampling: one parallel pass.
  Density: serial in time; each step is one fused LSTM cell per layer plus one hidden-flow
  inverse, nothing else.
- :class:`NoTime` (``none``): no dependence across time (``af-only``, the "unigram" prior);
  the context is the position embedding alone. Parallel both ways.

The shifted input of step 1 is a learned start vector (initialised at zero).
``inverse(z, lengths) -> (eps, log_prob)``, ``log_prob(z, lengths) -> (B,)`` and
``sample(eps, lengths) -> (z, log_prob)`` sum over the real steps only. Padding never
influences real steps: every recurrence runs forward in time, and the position embedding of
a real step does not depend on the padded width.

References:
    Ziegler & Rush (2019), Section 4 (Models 1-3) and Appendix A.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lnfmusic.flows.hidden import HiddenFlow
from lnfmusic.model.position import PositionEmbedding

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)

LSTMState = list[tuple[Tensor, Tensor]]
FlowOutput = tuple[Tensor, Tensor]


def length_mask(lengths: Tensor, T: int, device: torch.device | None = None) -> Tensor:
    """``(B, T)`` bool, True on the real steps ``t < lengths[b]``."""
    device = device if device is not None else lengths.device
    return torch.arange(T, device=device)[None, :] < lengths.to(device)[:, None]


def standard_normal_log_prob(eps: Tensor) -> Tensor:
    """``log N(eps; 0, I)`` summed over the last dimension."""
    return (-0.5 * eps * eps - _HALF_LOG_2PI).sum(-1)


class TimeFlow(nn.Module):
    """Shared parts: the hidden flow, the position embedding and (if recurrent) the LSTM.

    Args:
        hidden_flow: the flow within a time step, with context size ``hidden_size``.
        latent_dim: H.
        hidden_size: LSTM width and context size C.
        num_layers: LSTM layers.
        dropout: between LSTM layers and on the LSTM output.
        max_length: positions known to the position embedding.
        recurrent: whether there is an LSTM at all.
    """

    def __init__(
        self,
        hidden_flow: HiddenFlow,
        latent_dim: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        max_length: int,
        recurrent: bool = True,
    ):
        super().__init__()
        self.latent_dim = latent_dim
        self.flow = hidden_flow
        self.position = PositionEmbedding(max_length, hidden_size)
        self.recurrent = recurrent
        if recurrent:
            self.num_layers, self.dropout = num_layers, dropout
            self.lstm = nn.LSTM(
                latent_dim,
                hidden_size,
                num_layers,
                batch_first=True,
                dropout=dropout if num_layers > 1 else 0.0,
            )
            self.drop = nn.Dropout(dropout)
            self.start = nn.Parameter(torch.zeros(latent_dim))

    # --- the recurrence -------------------------------------------------------------------
    def _parallel_context(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Contexts ``(B, T, C)`` of all steps from the inputs ``x`` ``(B, T, H)`` (z or eps),
        which are shifted here: step t sees ``x_{<t}``."""
        B, T, _ = x.shape
        pos = self.position(lengths, T)
        if not self.recurrent:
            return pos.to(x.dtype)
        shifted = torch.cat([self.start.to(x.dtype).expand(B, 1, -1), x[:, :-1]], dim=1)
        out, _ = self.lstm(shifted)
        return self.drop(out) + pos

    def _init_state(self, ref: Tensor) -> LSTMState:
        B, C = ref.shape[0], self.lstm.hidden_size
        zero = ref.new_zeros(B, C)
        return [(zero, zero) for _ in range(self.num_layers)]

    def _step(self, x: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        """One time step of the stacked LSTM with its own weights: ``x`` ``(B, H)`` -> top
        output ``(B, C)`` (before the output dropout) and the new state."""
        new: LSTMState = []
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout > 0:
                x = F.dropout(x, self.dropout, training=True)
            h, c = torch.lstm_cell(
                x,
                state[layer],
                getattr(self.lstm, f"weight_ih_l{layer}"),
                getattr(self.lstm, f"weight_hh_l{layer}"),
                getattr(self.lstm, f"bias_ih_l{layer}"),
                getattr(self.lstm, f"bias_hh_l{layer}"),
            )
            new.append((h, c))
            x = h
        return x, new

    def _serial(
        self, x: Tensor, lengths: Tensor, transform: Callable[[Tensor, Tensor], FlowOutput]
    ) -> FlowOutput:
        """Step through time feeding each output back: the LSTM at step t has read the
        outputs ``y_{<t}``, and ``y_t, ladj_t = transform(x_t, context_t)``. Returns ``y``
        ``(B, T, H)`` and ``ladj`` ``(B, T)`` (AF sampling, IAF density)."""
        B, T, _ = x.shape
        pos = self.position(lengths, T)
        state = self._init_state(x)
        prev = self.start.to(x.dtype).expand(B, -1)
        ys, ladjs = [], []
        for t in range(T):
            out, state = self._step(prev, state)
            prev, ladj_t = transform(x[:, t], self.drop(out) + pos[:, t])
            ys.append(prev)
            ladjs.append(ladj_t)
        return torch.stack(ys, 1), torch.stack(ladjs, 1)

    def inverse(self, z: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Density direction: ``z`` ``(B, T, H)`` -> ``eps`` ``(B, T, H)``, ``log p(z)``
        ``(B,)``."""
        raise NotImplementedError

    def sample(self, eps: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Sampling direction: ``eps`` ``(B, T, H)`` -> ``z`` ``(B, T, H)``, ``log p(z)``
        ``(B,)``."""
        raise NotImplementedError

    def log_prob(self, z: Tensor, lengths: Tensor) -> Tensor:
        """``log p(z | T)`` ``(B,)`` summed over the real steps."""
        return self.inverse(z, lengths)[1]

    def _total(self, eps: Tensor, ladj_density: Tensor, lengths: Tensor) -> Tensor:
        """``sum_t [log N(eps_t) + log |det deps_t/dz_t|]`` over the real steps, ``(B,)``."""
        m = length_mask(lengths, eps.shape[1], eps.device)
        per_step = standard_normal_log_prob(eps) + ladj_density
        return torch.where(m, per_step, torch.zeros_like(per_step)).sum(1)


class AFInTime(TimeFlow):
    """Autoregressive flow in time: ``c_t = LSTM(z_{<t})``. Density parallel, sampling
    serial in time."""

    def inverse(self, z: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Parallel: ``z`` ``(B, T, H)`` -> ``eps`` ``(B, T, H)`` and ``log p(z)`` ``(B,)``."""
        eps, ladj = self.flow.inverse(z, self._parallel_context(z, lengths))
        return eps, self._total(eps, ladj, lengths)

    def sample(self, eps: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Serial in time: ``eps`` ``(B, T, H)`` -> ``z`` ``(B, T, H)`` and ``log p(z)``."""
        z, ladj = self._serial(eps, lengths, self.flow.forward)
        return z, self._total(eps, -ladj, lengths)


class IAFInTime(TimeFlow):
    """Inverse autoregressive flow in time: ``c_t = LSTM(eps_{<t})``. Sampling parallel,
    density serial in time."""

    def sample(self, eps: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Parallel: one LSTM pass over the shifted noise, one hidden-flow pass."""
        z, ladj = self.flow.forward(eps, self._parallel_context(eps, lengths))
        return z, self._total(eps, -ladj, lengths)

    def inverse(self, z: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Serial in time: step t recovers ``eps_t`` from ``z_t`` and feeds it to the LSTM.
        Returns ``eps`` ``(B, T, H)`` and ``log p(z)`` ``(B,)``."""
        eps, ladj = self._serial(z, lengths, self.flow.inverse)
        return eps, self._total(eps, ladj, lengths)


class NoTime(TimeFlow):
    """No dependence across time: ``c_t`` is the position embedding only."""

    def __init__(
        self,
        hidden_flow: HiddenFlow,
        latent_dim: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        max_length: int,
    ):
        super().__init__(
            hidden_flow, latent_dim, hidden_size, num_layers, dropout, max_length, recurrent=False
        )

    def inverse(self, z: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        eps, ladj = self.flow.inverse(z, self._parallel_context(z, lengths))
        return eps, self._total(eps, ladj, lengths)

    def sample(self, eps: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        z, ladj = self.flow.forward(eps, self._parallel_context(eps, lengths))
        return z, self._total(eps, -ladj, lengths)


TIME_FLOWS: dict[str, type[TimeFlow]] = {"af": AFInTime, "iaf": IAFInTime, "none": NoTime}
