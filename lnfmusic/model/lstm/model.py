"""The autoregressive LSTM baseline over x, with the same length conditioning and p(T).

``log p(x | T) = sum_t log p(x_t | x_{<t}, t, T)`` is exact, so it needs no sampling; the
step-t input is the embedding of ``x_{t-1}`` (a learned start vector at t = 1) plus the
position embedding of (t, T).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lnfmusic.data.batching import Batch
from lnfmusic.model.base import ModelOutput, SequenceModel
from lnfmusic.model.likelihood import draw, embed_inputs, step_log_likelihood
from lnfmusic.model.lstm.config import LSTMConfig
from lnfmusic.nn.position import PositionEmbedding
from lnfmusic.nn.sequence import zero_padding


class LSTMBaseline(SequenceModel):
    """A (2-layer) LSTM language model; input embedding tied with the output weights.
    Its likelihood is exact (``kl = 0``, one importance weight)."""

    exact = True
    config: LSTMConfig

    def __init__(self, cfg: LSTMConfig):
        super().__init__(cfg)
        self.kind = cfg.data_kind
        self.embedding = nn.Parameter(torch.randn(cfg.output_dim, cfg.embed_dim) * 0.1)
        self.start = nn.Parameter(torch.zeros(cfg.embed_dim))
        self.position = PositionEmbedding(cfg.max_length, cfg.embed_dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(
            cfg.embed_dim,
            cfg.hidden_size,
            cfg.num_layers,
            batch_first=True,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        self.feature = nn.Linear(cfg.hidden_size, cfg.embed_dim)
        self.bias = nn.Parameter(torch.zeros(cfg.output_dim))

    def _logits(self, h: Tensor) -> Tensor:
        """LSTM outputs ``(..., hidden)`` -> logits ``(..., output_dim)`` (tied weights)."""
        return torch.tanh(self.feature(self.drop(h))) @ self.embedding.t() + self.bias

    def log_prob(self, batch: Batch) -> Tensor:
        """Exact ``log p(x | T)`` per sequence, ``(B,)`` (without ``log p(T)``)."""
        B, T = batch.x.shape[:2]
        emb = embed_inputs(batch.x, self.embedding, self.kind)
        inputs = torch.cat([self.start.expand(B, 1, -1), emb[:, :-1]], dim=1)
        inputs = inputs + self.position(batch.lengths, T)
        # No packing needed: the recurrence is causal, so padding never reaches real steps.
        out, _ = self.lstm(self.drop(inputs))
        ll = step_log_likelihood(self._logits(out), batch.x, self.kind)
        return (ll * batch.mask.to(ll.dtype)).sum(1)

    def forward(self, batch: Batch, *, kl_weight: float = 1.0, num_samples: int = 1) -> ModelOutput:
        """``recon`` = exact ``log p(x | T)``, ``kl`` = 0, each ``(B,)``; the weight and the
        number of samples do not matter."""
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
        """Ancestral sampling, one LSTM step per time step with the state carried over.

        ``lengths`` ``(B,)`` -> music ``(B, T, 88)`` uint8 / text ``(B, T)`` int64, zeros past
        each length. ``temperature`` divides the logits. Serial in time by construction.
        """
        return self._ancestral(lengths, temperature, threshold, generator, None)

    @torch.no_grad()
    def continue_sequence(
        self,
        prefix: Tensor,
        lengths: Tensor,
        temperature: float = 1.0,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Exact conditional sampling: the LSTM reads the prefix, then samples on."""
        if bool((lengths <= prefix.shape[1]).any()):
            raise ValueError("every length must exceed the prefix's")
        return self._ancestral(lengths, temperature, threshold, generator, prefix)

    def _ancestral(
        self,
        lengths: Tensor,
        temperature: float,
        threshold: float | None,
        generator: torch.Generator | None,
        prefix: Tensor | None,
    ) -> Tensor:
        device = self.embedding.device
        lengths = lengths.to(device)
        B, T = lengths.shape[0], int(lengths.max())
        K = 0 if prefix is None else prefix.shape[1]
        pos = self.position(lengths, T)  # (B, T, E), computed once
        if self.kind == "music":
            x = torch.zeros(B, T, self.config.output_dim, dtype=torch.uint8, device=device)
        else:
            x = torch.zeros(B, T, dtype=torch.long, device=device)
        if prefix is not None:
            x[:, :K] = prefix.to(device, x.dtype)
        inp = self.start.expand(B, 1, -1) + pos[:, :1]
        state = None
        for t in range(T):
            out, state = self.lstm(inp, state)
            if t >= K:  # the prefix's steps are read, not drawn
                logits = self._logits(out[:, 0])
                if temperature != 1.0:
                    logits = logits / temperature
                x[:, t] = draw(logits, self.kind, threshold, generator)
            if t + 1 < T:
                inp = (
                    embed_inputs(x[:, t], self.embedding, self.kind).unsqueeze(1)
                    + pos[:, t + 1 : t + 2]
                )
        return zero_padding(x, lengths)
