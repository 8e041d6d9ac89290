"""The inference network q(z | x): embedding -> BiLSTM -> per-step diagonal Gaussian.

References:
    Ziegler & Rush (2019), Section 5 (a BiLSTM for q(z_t | x)).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lnfmusic.config import ModelConfig
from lnfmusic.model.position import PositionEmbedding


def embed_inputs(x: Tensor, weight: Tensor, kind: str) -> Tensor:
    """Music: the sum of the active notes' embeddings, ``(B, T, 88) @ (88, E)``;
    text: a row lookup, ``(B, T)`` ids -> ``(B, T, E)``."""
    if kind == "music":
        return x.to(weight.dtype) @ weight
    return nn.functional.embedding(x, weight)


def run_bilstm(lstm: nn.LSTM, inputs: Tensor, lengths: Tensor) -> Tensor:
    """A (bi)LSTM over padded ``(B, T, D)`` inputs, packed so that the backward direction
    starts at each sequence's own last step; padded outputs are zero."""
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=inputs.shape[1])
    return out


class Encoder(nn.Module):
    """``forward(x, lengths) -> (mean, log_std)``, each ``(B, T, H)``."""

    def __init__(self, cfg: ModelConfig, embedding: nn.Parameter):
        super().__init__()
        self.kind = cfg.data_kind
        self.embedding = embedding  # shared with the emission's output layer (tied)
        self.position = PositionEmbedding(cfg.max_length, cfg.embed_dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(
            cfg.embed_dim, cfg.hidden_size, cfg.num_layers, batch_first=True,
            bidirectional=True, dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        self.out = nn.Linear(2 * cfg.hidden_size, 2 * cfg.latent_dim)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        T = x.shape[1]
        h = embed_inputs(x, self.embedding, self.kind) + self.position(lengths, T)
        h = run_bilstm(self.lstm, self.drop(h), lengths)
        mean, log_std = self.out(self.drop(h)).chunk(2, dim=-1)
        return mean, log_std.clamp(-9.0, 4.0)
