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
Same API as every flow layer: ``forward(eps, lengths) -> (z, ladj)`` is the sampling
direction, ``inverse(z, lengths) -> (eps, ladj)`` the density direction; ``ladj`` ``(B, T)``
is the per-step log-determinant of the map applied (``log |det dz_t/deps_t|`` for
``forward``, ``log |det deps_t/dz_t|`` for ``inverse``); values on padded steps are
meaningless. The base density is added by :class:`~lnfmusic.flows.prior.FlowPrior`. Padding
never influences real steps: every recurrence runs forward in time, and the position
embedding of a real step does not depend on the padded width.

References:
    Ziegler & Rush (2019), Section 4 (Models 1-3) and Appendix A.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lnfmusic.flows.hidden import HiddenFlow
from lnfmusic.nn.position import PositionEmbedding

LSTMState = list[tuple[Tensor, Tensor]]
FlowOutput = tuple[Tensor, Tensor]


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

    def forward(self, eps: Tensor, lengths: Tensor) -> FlowOutput:
        """Sampling direction: ``eps`` ``(B, T, H)`` -> ``z`` ``(B, T, H)``, ``ladj``
        ``(B, T)``."""
        raise NotImplementedError

    def inverse(self, z: Tensor, lengths: Tensor) -> FlowOutput:
        """Density direction: ``z`` ``(B, T, H)`` -> ``eps`` ``(B, T, H)``, ``ladj``
        ``(B, T)``."""
        raise NotImplementedError


class AFInTime(TimeFlow):
    """Autoregressive flow in time: ``c_t = LSTM(z_{<t})``. Density parallel, sampling
    serial in time."""

    def inverse(self, z: Tensor, lengths: Tensor) -> FlowOutput:
        """Parallel: one LSTM pass over the shifted ``z``, one hidden-flow pass."""
        return self.flow.inverse(z, self._parallel_context(z, lengths))

    def forward(self, eps: Tensor, lengths: Tensor) -> FlowOutput:
        """Serial in time: step t computes ``z_t`` and feeds it to the LSTM."""
        return self._serial(eps, lengths, self.flow.forward)


class IAFInTime(TimeFlow):
    """Inverse autoregressive flow in time: ``c_t = LSTM(eps_{<t})``. Sampling parallel,
    density serial in time."""

    def forward(self, eps: Tensor, lengths: Tensor) -> FlowOutput:
        """Parallel: one LSTM pass over the shifted noise, one hidden-flow pass."""
        return self.flow.forward(eps, self._parallel_context(eps, lengths))

    def inverse(self, z: Tensor, lengths: Tensor) -> FlowOutput:
        """Serial in time: step t recovers ``eps_t`` from ``z_t`` and feeds it to the LSTM."""
        return self._serial(z, lengths, self.flow.inverse)


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

    def inverse(self, z: Tensor, lengths: Tensor) -> FlowOutput:
        return self.flow.inverse(z, self._parallel_context(z, lengths))

    def forward(self, eps: Tensor, lengths: Tensor) -> FlowOutput:
        return self.flow.forward(eps, self._parallel_context(eps, lengths))


TIME_FLOWS: dict[str, type[TimeFlow]] = {"af": AFInTime, "iaf": IAFInTime, "none": NoTime}
