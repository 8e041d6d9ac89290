"""Discrete flows on piano rolls and text through the model interface.

Observations become one-hot ``(B, T, F, K)``: music ``F = 88`` keys, ``K = 2`` (every layer
is an XOR: K = 2 has no scale but 1); text ``F = 1``, ``K`` = vocabulary. Padding steps are
all-zero and stay so through every layer (:mod:`lnfmusic.discrete.layers`), so
``log p(x | T)`` is exact over the real steps, like the LSTM baseline's (``kl = 0``, one
importance weight).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lnfmusic.data.batching import Batch
from lnfmusic.discrete import (
    AutoregressiveBase,
    AutoregressiveFlow,
    BiLSTMNet,
    BipartiteFlow,
    CausalLSTMNet,
    DiscreteFlow,
    FactorizedBase,
)
from lnfmusic.discrete.layers import zero_padding
from lnfmusic.model.base import ModelOutput, SequenceModel
from lnfmusic.model.df.config import DFConfig
from lnfmusic.nn.position import PositionEmbedding
from lnfmusic.nn.sequence import length_mask


def bipartite_schedule(num_flows: int, music: bool) -> list[tuple[str, int]]:
    """(axis, parity) of each layer: music cycles even keys, odd keys, even steps, odd
    steps; text alternates even and odd positions."""
    cycle = (
        [("features", 0), ("features", 1), ("time", 0), ("time", 1)]
        if music
        else [
            ("time", 0),
            ("time", 1),
        ]
    )
    return [cycle[i % len(cycle)] for i in range(num_flows)]


class DiscreteFlowModel(SequenceModel):
    """``log p(x | T) = log p_base(f^{-1}(x) | T)`` with the flow of :class:`DFConfig`."""

    exact = True
    config: DFConfig

    def __init__(self, cfg: DFConfig):
        super().__init__(cfg)
        self.kind = cfg.data_kind
        music = self.kind == "music"
        self.features, self.classes = (cfg.output_dim, 2) if music else (1, cfg.output_dim)
        Fe, K, E = self.features, self.classes, cfg.embed_dim
        scale = cfg.scale and K > 2
        P = (2 if scale else 1) * K
        self.position = PositionEmbedding(cfg.max_length, E)
        lstm = dict(hidden=cfg.hidden_size, num_layers=cfg.num_layers, embed=E, step_context_dim=E)
        layers: list[nn.Module] = []
        if cfg.flow == "bipartite":
            base: nn.Module = FactorizedBase(cfg.max_length, Fe, K, context_dim=E)
            for axis, parity in bipartite_schedule(cfg.num_flows, music):
                net = BiLSTMNet(Fe, K, P, **lstm)
                layers.append(
                    BipartiteFlow(
                        net,
                        K,
                        parity=parity,
                        axis=axis,
                        scale=scale,
                        temperature=cfg.gradient_temperature,
                        logit_bound=cfg.logit_bound,
                        identity_bias=cfg.identity_bias,
                    )
                )
        else:
            base = AutoregressiveBase(CausalLSTMNet(Fe, K, K, **lstm), Fe, K)
            for i in range(cfg.num_flows):
                layers.append(
                    AutoregressiveFlow(
                        CausalLSTMNet(Fe, K, P, **lstm),
                        K,
                        scale=scale,
                        temperature=cfg.gradient_temperature,
                        reverse=i % 2 == 0,
                        logit_bound=cfg.logit_bound,
                        identity_bias=cfg.identity_bias,
                    )
                )
        self.flow = DiscreteFlow(base, layers)

    def one_hot(self, x: Tensor, mask: Tensor) -> Tensor:
        """Batch observations -> one-hot ``(B, T, F, K)``, padding all-zero."""
        dtype = next(self.parameters()).dtype
        idx = x.long() if self.kind == "music" else x.unsqueeze(-1)
        return zero_padding(F.one_hot(idx, self.classes).to(dtype), mask)

    def log_prob(self, batch: Batch) -> Tensor:
        """Exact ``log p(x | T)`` per sequence ``(B,)`` (without ``log p(T)``)."""
        T = batch.x.shape[1]
        context = self.position(batch.lengths, T)
        return self.flow.log_prob(self.one_hot(batch.x, batch.mask), context, batch.mask)

    def forward(self, batch: Batch, *, kl_weight: float = 1.0, num_samples: int = 1) -> ModelOutput:
        recon = self.log_prob(batch)
        return ModelOutput.from_terms(recon, torch.zeros_like(recon), batch.lengths, kl_weight)

    def log_weights(self, batch: Batch, num_samples: int = 1) -> Tensor:
        """Exact: ``(1, B)`` whatever ``num_samples``."""
        return self.log_prob(batch).unsqueeze(0)

    @torch.no_grad()
    def generate(
        self,
        lengths: Tensor,
        temperature: float = 1.0,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Draw the base (logits divided by ``temperature``; music ``threshold``: class 1
        where its base probability exceeds it) and map it through the flow. ``df-bipartite``
        is parallel over time; ``df-ar`` serial. Music ``(B, T, 88)`` uint8, text ``(B, T)``
        int64, zeros past each length."""
        lengths = lengths.to(self.device)
        B, T = lengths.shape[0], int(lengths.max())
        mask = length_mask(lengths, T)
        context = self.position(lengths, T)
        y = self.flow.sample(
            B, T, context, mask, temperature, threshold if self.kind == "music" else None, generator
        )
        out = y.argmax(-1) * mask[:, :, None]
        return out.to(torch.uint8) if self.kind == "music" else out[..., 0].long()
