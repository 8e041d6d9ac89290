"""The emission p(x_t | z_{1:T}, T): a BiLSTM over z, conditionally independent outputs.

The feature of step t combines ``z_t`` with the forward state *before* t and the backward
state *after* t, so ``z_t`` enters through its own path and its neighbours through the
recurrences. Outputs: 88 independent Bernoulli logits (music) or V categorical logits (text),
with output weights tied to the inference network's input embedding.

References:
    Ziegler & Rush (2019), Section 5.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lnfmusic.config import ModelConfig
from lnfmusic.model.encoder import run_bilstm
from lnfmusic.model.position import PositionEmbedding


class Emission(nn.Module):
    """``forward(z, lengths) -> logits`` ``(B, T, output_dim)``."""

    def __init__(self, cfg: ModelConfig, embedding: nn.Parameter):
        super().__init__()
        self.embedding = embedding  # (output_dim, embed_dim), tied
        self.inp = nn.Linear(cfg.latent_dim, cfg.embed_dim)
        self.position = PositionEmbedding(cfg.max_length, cfg.embed_dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(
            cfg.embed_dim, cfg.hidden_size, cfg.num_layers, batch_first=True,
            bidirectional=True, dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        self.hidden_size = cfg.hidden_size
        self.feature = nn.Linear(cfg.embed_dim + 2 * cfg.hidden_size, cfg.embed_dim)
        self.bias = nn.Parameter(torch.zeros(cfg.output_dim))

    def forward(self, z: Tensor, lengths: Tensor) -> Tensor:
        B, T, _ = z.shape
        h = self.inp(z) + self.position(lengths, T)
        out = run_bilstm(self.lstm, self.drop(h), lengths)
        fwd, bwd = out[..., : self.hidden_size], out[..., self.hidden_size :]
        zero = out.new_zeros(B, 1, self.hidden_size)
        before = torch.cat([zero, fwd[:, :-1]], dim=1)  # forward state at t-1
        after = torch.cat([bwd[:, 1:], zero], dim=1)  # backward state at t+1
        feat = torch.tanh(self.feature(torch.cat([h, before, after], dim=-1)))
        return self.drop(feat) @ self.embedding.t() + self.bias
