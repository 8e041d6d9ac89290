"""Discrete flow layers on one-hot tensors ``(B, T, F, K)``.

Each layer is ``y = (loc + scale * x) mod K`` with ``loc`` (and ``scale``) the
straight-through one-hot argmax of a network's logits. ``forward(x)`` is the sampling
direction (base -> data), ``inverse(y)`` the density direction (data -> base); neither has
a log-determinant. ``mask`` ``(B, T)`` marks real positions of padded sequences: padding is
kept all-zero, so it is the same constant in both directions and the map stays a bijection
on the real positions given T.

- :class:`AutoregressiveFlow`: ``loc_t, scale_t = net(y_{<t})`` (or ``y_{>t}`` with
  ``reverse``). Inverse: one network pass, parallel. Forward: serial, T passes.
- :class:`BipartiteFlow`: the positions of one parity (along time or along the F
  variables) are transformed from the others. Both directions: one pass, parallel.

References:
    Tran et al. (2019), Section 3.2 (modulo location-scale), 3.3 (straight-through).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lnfmusic.discrete.modular import affine_forward, affine_inverse, units
from lnfmusic.discrete.networks import run_net
from lnfmusic.discrete.straight_through import one_hot_argmax
from lnfmusic.nn.sequence import reverse_padded


def zero_padding(x: Tensor, mask: Tensor | None) -> Tensor:
    """``x`` ``(B, T, F, K)`` with the positions where ``mask`` ``(B, T)`` is False zeroed."""
    return x if mask is None else x * mask[:, :, None, None].to(x.dtype)


def reverse_time(x: Tensor, mask: Tensor | None) -> Tensor:
    """``x`` ``(B, T, ...)`` reversed along T, each sequence within its own length (padding
    stays at the end); its own inverse."""
    if mask is None:
        return x.flip(1)
    return reverse_padded(x.flatten(2), mask.sum(1)).view_as(x)


class _Layer(nn.Module):
    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        scale: bool,
        temperature: float,
        identity_bias: float = 0.0,
        logit_bound: float = 0.0,
    ):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if not identity_bias >= 0:
            raise ValueError(f"identity_bias must be >= 0, got {identity_bias}")
        if not logit_bound >= 0:
            raise ValueError(f"logit_bound must be >= 0, got {logit_bound}")
        self.logit_bound = logit_bound
        self.net, self.num_classes = net, num_classes
        self.scale, self.temperature = scale, temperature
        self.register_buffer("units", units(num_classes), persistent=False)
        # A fixed offset on the logits of loc = 0 and scale = 1: with small network outputs
        # the layer starts as the identity instead of a random relabelling.
        offset = torch.zeros(self.num_params, num_classes)
        offset[:, 0] = identity_bias
        if scale:
            offset[1] = torch.zeros(num_classes)
            offset[1, 1 % num_classes] = identity_bias
        self.register_buffer("offset", offset, persistent=False)

    @property
    def num_params(self) -> int:
        return 2 if self.scale else 1

    def params(
        self, inputs: Tensor, context: Tensor | None, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """One-hot ``loc`` and ``scale`` (None: 1) ``(B, T, F, K)`` from the network (given
        ``mask`` only when there is one, so any ``net(x, context)`` works unpadded)."""
        out = run_net(self.net, inputs, context, mask)
        out = out.unflatten(-1, (self.num_params, self.num_classes)) + self.offset
        if self.logit_bound:  # |logit| < bound: the surrogate softmax cannot saturate
            out = self.logit_bound * torch.tanh(out / self.logit_bound)
        loc = one_hot_argmax(out[..., 0, :], self.temperature)
        if not self.scale:
            return loc, None
        logits = out[..., 1, :].masked_fill(~self.units, float("-inf"))
        return loc, one_hot_argmax(logits, self.temperature)


class AutoregressiveFlow(_Layer):
    """``y_t = (loc_t + scale_t x_t) mod K`` with ``(loc_t, scale_t)`` from ``y_{<t}``.

    Args:
        net: causal over T (:class:`~lnfmusic.discrete.networks.MaskedMLP`,
            :class:`~lnfmusic.discrete.networks.CausalLSTMNet`), ``P * K`` outputs per
            variable (P = 2 with ``scale``, else 1).
        reverse: condition on ``y_{>t}`` instead (the network sees the time-reversed input).
        identity_bias: added to the logits of loc 0 (and scale 1), so that a layer whose
            network starts with small outputs starts as the identity (0: no offset).
        logit_bound: squash the logits to ``(-bound, bound)`` with a tanh (0: off). With
            temperature 0.1 unbounded logits grow until the surrogate softmax is one-hot and
            the layer stops learning (seen within 50 steps on the Gaussian ring); a bound of
            0.3 keeps the gradient alive. The forward pass is still an exact argmax.
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        *,
        scale: bool = False,
        temperature: float = 0.1,
        reverse: bool = False,
        identity_bias: float = 0.0,
        logit_bound: float = 0.0,
    ):
        super().__init__(net, num_classes, scale, temperature, identity_bias, logit_bound)
        self.reverse = reverse

    def params(
        self, inputs: Tensor, context: Tensor | None, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        if not self.reverse:
            return super().params(inputs, context, mask)
        if context is not None and context.dim() == 3:
            context = reverse_time(context, mask)
        loc, scale = super().params(reverse_time(inputs, mask), context, mask)
        return reverse_time(loc, mask), None if scale is None else reverse_time(scale, mask)

    def inverse(
        self, y: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """Data -> base, parallel: ``x_t = scale_t^{-1} (y_t - loc_t)``, ``(B, T, F, K)``."""
        loc, scale = self.params(y, context, mask)
        return zero_padding(affine_inverse(y, loc, scale), mask)

    def forward(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """Base -> data, serial over T (one network pass per position)."""
        T = x.shape[1]
        y = torch.zeros_like(x)
        for t in reversed(range(T)) if self.reverse else range(T):
            loc, scale = self.params(y, context, mask)
            yt = affine_forward(x[:, t], loc[:, t], None if scale is None else scale[:, t])
            y = y.clone()
            y[:, t] = yt
            y = zero_padding(y, mask)
        return y


class BipartiteFlow(_Layer):
    """Positions of one parity are transformed conditioned on the others.

    Args:
        net: any network (:class:`~lnfmusic.discrete.networks.BiLSTMNet`); it is given the
            input with the transformed positions zeroed.
        parity: 0 transforms even indices, 1 odd ones.
        axis: ``"time"`` (alternate positions along T) or ``"features"`` (alternate the F
            variables of each position, e.g. even and odd keys).
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        *,
        parity: int,
        axis: str = "time",
        scale: bool = False,
        temperature: float = 0.1,
        identity_bias: float = 0.0,
        logit_bound: float = 0.0,
    ):
        super().__init__(net, num_classes, scale, temperature, identity_bias, logit_bound)
        if parity not in (0, 1) or axis not in ("time", "features"):
            raise ValueError(
                f"parity must be 0 or 1 and axis time or features, got {parity}, {axis}"
            )
        self.parity, self.axis = parity, axis

    def transformed(self, x: Tensor) -> Tensor:
        """Bool, broadcastable to ``x`` ``(B, T, F, K)``: the positions this layer changes."""
        dim = 1 if self.axis == "time" else 2
        idx = torch.arange(x.shape[dim], device=x.device) % 2 == self.parity
        shape = [1, 1, 1, 1]
        shape[dim] = -1
        return idx.view(shape)

    def _transform(self, v: Tensor, context: Tensor | None, mask: Tensor | None, fn) -> Tensor:
        sel = self.transformed(v)
        loc, scale = self.params(v * (~sel).to(v.dtype), context, mask)
        return zero_padding(torch.where(sel, fn(v, loc, scale), v), mask)

    def inverse(
        self, y: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """Data -> base, parallel."""
        return self._transform(y, context, mask, affine_inverse)

    def forward(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """Base -> data, parallel."""
        return self._transform(x, context, mask, affine_forward)
