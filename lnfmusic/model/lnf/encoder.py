"""The inference network q(z | x): embedding -> BiLSTM -> per-step diagonal Gaussian.

References:
    Ziegler & Rush (2019), Section 5 (a BiLSTM for q(z_t | x)).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lnfmusic.model.likelihood import embed_inputs
from lnfmusic.model.lnf.config import LNFConfig
from lnfmusic.nn.gaussian import HALF_LOG_2PI
from lnfmusic.nn.position import PositionEmbedding
from lnfmusic.nn.sequence import run_bilstm

LOG_STD_MIN, LOG_STD_MAX = -9.0, 4.0  # keeps exp(log_std) and log q finite early in training


class Encoder(nn.Module):
    """``q(z | x) = prod_t N(z_t; mean_t, diag(exp(log_std_t))^2)`` from a BiLSTM over x.

    Args:
        cfg: the model configuration (``embed_dim``, ``hidden_size``, ``num_layers``,
            ``latent_dim``, ``dropout``, ``max_length``, ``data_kind``).
        embedding: the input embedding ``(output_dim, embed_dim)``, shared (tied) with the
            emission's output layer.
    """

    def __init__(self, cfg: LNFConfig, embedding: nn.Parameter):
        super().__init__()
        self.kind = cfg.data_kind
        self.embedding = embedding
        self.position = PositionEmbedding(cfg.max_length, cfg.embed_dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(
            cfg.embed_dim,
            cfg.hidden_size,
            cfg.num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        self.out = nn.Linear(2 * cfg.hidden_size, 2 * cfg.latent_dim)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``x`` music ``(B, T, 88)`` / text ``(B, T)``, ``lengths`` ``(B,)`` ->
        ``(mean, log_std)``, each ``(B, T, H)`` (padded steps hold finite junk)."""
        T = x.shape[1]
        h = embed_inputs(x, self.embedding, self.kind) + self.position(lengths, T)
        h = run_bilstm(self.lstm, self.drop(h), lengths)
        mean, log_std = self.out(self.drop(h)).chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def rsample(
        self,
        x: Tensor,
        lengths: Tensor,
        mask: Tensor,
        num_samples: int = 1,
        noise: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Reparameterised draws ``z = mean + exp(log_std) * eps ~ q(z | x)`` and their
        log-density.

        Returns ``z`` ``(S * B, T, H)`` (sample-major: row ``s * B + b``; zeros on padded
        steps) and ``log q(z | x)`` ``(S * B,)`` summed over the real steps (``mask``
        ``(B, T)`` True on real steps). ``noise`` ``(S, B, T, H)`` replaces the standard
        normal draws (for tests and common random numbers).
        """
        mean, log_std = self(x, lengths)
        if noise is None:
            eps = torch.randn((num_samples, *mean.shape), device=mean.device, dtype=mean.dtype)
        else:
            eps = noise.to(mean)
        m = mask.to(mean.dtype)[None, :, :, None]
        z = (mean + log_std.exp() * eps) * m
        log_q = ((-0.5 * eps * eps - log_std - HALF_LOG_2PI) * m).sum((2, 3))
        return z.flatten(0, 1), log_q.flatten(0, 1)
