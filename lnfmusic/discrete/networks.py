"""Conditioners of discrete flow layers and autoregressive bases.

Every network maps one-hot inputs ``(B, T, F, K)`` (and an optional context) to raw
outputs ``(B, T, F, out)``, ``out`` per variable (``P * K`` logits for a layer with P
parameter sets). Which outputs may see which inputs is the network's contract:

- :class:`MaskedMLP` (fixed T): output at position t sees inputs at positions ``< t`` only
  (MADE masks, Germain et al. 2015).
- :class:`CausalLSTMNet` (any T): the same causality, by shifting the inputs one step right
  before an LSTM.
- :class:`BiLSTMNet` (any T): every output sees every input; the bipartite layer zeroes the
  inputs its outputs must not see.
- :class:`MLP` (fixed T): every output sees every input, for bipartite layers over short
  fixed-size vectors.

``context``: ``(B, C)`` conditions the whole sequence (added to MADE's hidden layer; the
LSTMs' initial state, ``context_dim``), ``(B, T, C)`` each position (added to the LSTMs'
inputs, ``step_context_dim``; features of ``(t, T)`` such as position embeddings, never of
the data). A network has parameters only for the kind of context it was built for.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lnfmusic.nn.made import MaskedLinear


def run_net(net: nn.Module, x: Tensor, context: Tensor | None, mask: Tensor | None) -> Tensor:
    """``net(x, context)``, with ``mask=`` only when there is one, so that any network with
    a ``(x, context)`` signature works on unpadded input."""
    return net(x, context) if mask is None else net(x, context, mask=mask)


def _small_output(layer: nn.Linear) -> None:
    # Small but non-zero: every weight gets a gradient from the first step.
    nn.init.normal_(layer.weight, std=1e-2)
    nn.init.zeros_(layer.bias)


class MaskedMLP(nn.Module):
    """MADE over ``T`` positions of ``F`` one-hot variables with K classes.

    Args:
        length: T (fixed). features: F. num_classes: K. out: outputs per variable.
        hidden: width of each hidden layer. num_hidden: hidden layers.
        context_dim: size of a ``(B, C)`` context (0: none).
    """

    def __init__(
        self,
        length: int,
        features: int,
        num_classes: int,
        out: int,
        hidden: int = 64,
        num_hidden: int = 1,
        context_dim: int = 0,
    ):
        super().__init__()
        self.length, self.features, self.out_dim = length, features, out
        deg_in = torch.arange(1, length + 1).repeat_interleave(features * num_classes)
        deg_h = torch.arange(hidden) % length  # degree m sees positions 1..m (0: none)
        deg_out = torch.arange(1, length + 1).repeat_interleave(features * out)
        layers: list[nn.Module] = [
            MaskedLinear(deg_in.numel(), hidden, deg_h[:, None] >= deg_in[None, :])
        ]
        for _ in range(num_hidden - 1):
            layers.append(MaskedLinear(hidden, hidden, deg_h[:, None] >= deg_h[None, :]))
        self.hidden = nn.ModuleList(layers)
        self.context = nn.Linear(context_dim, hidden) if context_dim else None
        self.output = MaskedLinear(hidden, deg_out.numel(), deg_out[:, None] > deg_h[None, :])
        _small_output(self.output)

    def forward(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        B, T, F, K = x.shape
        if T != self.length or F != self.features:
            raise ValueError(
                f"MaskedMLP built for ({self.length}, {self.features}), got ({T}, {F})"
            )
        h = self.hidden[0](x.reshape(B, -1))
        if self.context is not None and context is not None:
            h = h + self.context(context)
        h = torch.relu(h)
        for layer in self.hidden[1:]:
            h = torch.relu(layer(h))
        return self.output(h).view(B, T, F, self.out_dim)


class MLP(nn.Module):
    """Dense network over ``T`` positions of ``F`` one-hot variables: every output sees every
    input. Args as :class:`MaskedMLP`, without a context."""

    def __init__(
        self,
        length: int,
        features: int,
        num_classes: int,
        out: int,
        hidden: int = 64,
        num_hidden: int = 1,
    ):
        super().__init__()
        self.length, self.features, self.out_dim = length, features, out
        sizes = [length * features * num_classes] + [hidden] * num_hidden
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()]
        output = nn.Linear(sizes[-1], length * features * out)
        _small_output(output)
        self.net = nn.Sequential(*layers, output)

    def forward(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        B, T, F, K = x.shape
        if T != self.length or F != self.features:
            raise ValueError(f"MLP built for ({self.length}, {self.features}), got ({T}, {F})")
        if context is not None:
            raise ValueError("this network was built without a context")
        return self.net(x.reshape(B, -1)).view(B, T, F, self.out_dim)


class _LSTMNet(nn.Module):
    """Shared by the two LSTM conditioners (``causal``: shifted and one-directional, else
    bidirectional). Args: features F, num_classes K, out per variable, LSTM ``hidden`` and
    ``num_layers``, input ``embed`` size (default ``hidden``), ``context_dim`` of a
    ``(B, C)`` context (initial state), ``step_context_dim`` of a ``(B, T, C)`` one."""

    causal: bool

    def __init__(
        self,
        features: int,
        num_classes: int,
        out: int,
        hidden: int = 256,
        num_layers: int = 1,
        embed: int | None = None,
        context_dim: int = 0,
        step_context_dim: int = 0,
    ):
        super().__init__()
        bidirectional = not self.causal
        self.features, self.out_dim = features, out
        self.num_layers, self.hidden_size = num_layers, hidden
        self.directions = 2 if bidirectional else 1
        embed = embed or hidden
        self.embed = nn.Linear(features * num_classes, embed)
        self.step_context = nn.Linear(step_context_dim, embed) if step_context_dim else None
        self.init_state = nn.Linear(context_dim, 2 * hidden) if context_dim else None
        self.lstm = nn.LSTM(
            embed, hidden, num_layers, batch_first=True, bidirectional=bidirectional
        )
        self.output = nn.Linear(self.directions * hidden, features * out)
        _small_output(self.output)

    def forward(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """``mask`` ``(B, T)``: real positions (padding after them). The bidirectional
        network packs the sequences so that its backward direction starts at each one's own
        last position: outputs never depend on how much padding a batch has."""
        B, T, F, K = x.shape
        h = self.embed(x.reshape(B, T, F * K))
        if self.causal:  # position t sees x_{<t}: shift right, the first input is zero
            h = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], 1)
        state = None
        if context is not None and context.dim() == 3:
            if self.step_context is None:
                raise ValueError("this network was built without a context")
            h = h + self.step_context(context)
        elif context is not None:
            if self.init_state is None:
                raise ValueError("this network was built without a context")
            h0, c0 = torch.tanh(self.init_state(context)).chunk(2, -1)
            n = self.num_layers * self.directions
            state = (h0.expand(n, -1, -1).contiguous(), c0.expand(n, -1, -1).contiguous())
        if mask is not None and self.directions == 2:
            lengths = mask.sum(1).clamp(min=1).cpu()
            packed = pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed, state)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        else:  # causal: padding comes after every real position, so it cannot matter
            out, _ = self.lstm(h, state)
        return self.output(out).view(B, T, F, self.out_dim)


class CausalLSTMNet(_LSTMNet):
    """LSTM over positions, output t from inputs ``< t`` (autoregressive in T, any T)."""

    causal = True


class BiLSTMNet(_LSTMNet):
    """Bidirectional LSTM over positions: every output sees every input (bipartite layers
    zero what must not be seen)."""

    causal = False
