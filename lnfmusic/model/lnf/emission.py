"""The emission p(x_t | z_{1:T}, T): a BiLSTM over z, conditionally independent outputs.

The feature of step t combines ``z_t`` with the forward state *before* t (a summary of
``z_{<t}``) and the backward state *after* t (a summary of ``z_{>t}``), so ``z_t`` enters
through its own direct path and its neighbours through the two recurrences. The two
directions are separate LSTM stacks (unlike a stacked ``nn.LSTM(bidirectional=True)``,
whose upper layers mix both directions, so that its "forward" state would already have read
``z_t``). Outputs: 88 independent Bernoulli logits (music) or V categorical logits (text),
the output weights tied to the inference network's input embedding.

``emission = "made"`` (music) makes the notes of a step autoregressive over pitch, low to
high: ``p(x_t | z) = prod_k p(x_tk | x_t,<k, feature_t)`` with the logit of key k the
independent one plus a MADE over the keys below k, conditioned on the step's feature. The
density is one parallel pass (teacher forcing); sampling is 88 cheap incremental passes over
all steps at once (the MADE's hidden pre-activation is updated key by key). The MADE's output
layer starts near zero, so training starts from the independent emission. (LNF's emission
makes the notes independent given z; RNN-NADE and other leaders of the music benchmarks model
them jointly.)

References:
    Ziegler & Rush (2019), Section 5.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lnfmusic.model.likelihood import draw, step_log_likelihood
from lnfmusic.model.lnf.config import LNFConfig
from lnfmusic.nn.made import MADE
from lnfmusic.nn.position import PositionEmbedding
from lnfmusic.nn.sequence import reverse_padded


class Emission(nn.Module):
    """``forward(z (B, T, H), lengths (B,)) -> logits (B, T, output_dim)``.

    ``logits_t = g(W [u_t; f_{t-1}; b_{t+1}]) @ E^T + bias`` with ``g`` tanh or (with
    ``emission_feature = "linear"``, as the LNF reference code) the identity, ``u_t`` the projected
    ``z_t`` plus the position embedding of (t, T), ``f`` the forward LSTM stack over ``u``,
    ``b`` the backward stack (zero before the first and after the last real step) and ``E``
    the tied embedding ``(output_dim, embed_dim)``. Padded steps never reach real ones (both
    stacks run over real steps first).
    """

    def __init__(self, cfg: LNFConfig, embedding: nn.Parameter):
        super().__init__()
        self.embedding = embedding  # (output_dim, embed_dim), tied with the encoder's input
        self.inp = nn.Linear(cfg.latent_dim, cfg.embed_dim)
        self.position = PositionEmbedding(cfg.max_length, cfg.embed_dim)
        self.drop = nn.Dropout(cfg.dropout)
        dropout = cfg.dropout if cfg.num_layers > 1 else 0.0
        self.forward_lstm = nn.LSTM(
            cfg.embed_dim, cfg.hidden_size, cfg.num_layers, batch_first=True, dropout=dropout
        )
        self.backward_lstm = nn.LSTM(
            cfg.embed_dim, cfg.hidden_size, cfg.num_layers, batch_first=True, dropout=dropout
        )
        self.hidden_size = cfg.hidden_size
        self.feature = nn.Linear(cfg.embed_dim + 2 * cfg.hidden_size, cfg.embed_dim)
        # tanh bounds every logit by the row norms of the tied embedding, which start small:
        # the linear feature learns far faster early on (results/reference_code_jsb.md)
        self.bounded = cfg.emission_feature == "tanh"
        self.bias = nn.Parameter(torch.zeros(cfg.output_dim))
        self.kind = cfg.data_kind
        self.notes = (
            MADE(cfg.output_dim, cfg.embed_dim, cfg.emission_hidden, 1)
            if cfg.emission == "made"
            else None
        )

    def forward(self, z: Tensor, lengths: Tensor) -> Tensor:
        """The logits of the independent part ``(B, T, output_dim)``."""
        return self._logits(self._features(z, lengths))

    def _logits(self, feat: Tensor) -> Tensor:
        return feat @ self.embedding.t() + self.bias

    def log_prob(self, z: Tensor, lengths: Tensor, x: Tensor) -> Tensor:
        """``log p(x_t | z, T)`` per step ``(B, T)`` (padded steps hold junk)."""
        feat = self._features(z, lengths)
        logits = self._logits(feat)
        if self.notes is not None:
            logits = logits + self.notes(x.to(feat.dtype), feat)[..., 0]
        return step_log_likelihood(logits, x, self.kind)

    def sample(
        self,
        z: Tensor,
        lengths: Tensor,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """x drawn from p(x | z, T): music ``(B, T, 88)`` uint8 (``threshold``: a key sounds
        when its probability given the keys below exceeds it), text ``(B, T)`` ids."""
        feat = self._features(z, lengths)
        logits = self._logits(feat)
        if self.notes is None:
            return draw(logits, self.kind, threshold, generator)
        made = self.notes.sequential(feat)
        x = torch.zeros(logits.shape, dtype=torch.uint8, device=logits.device)
        for k in range(logits.shape[-1]):
            x_k = draw(logits[..., k] + made.params()[..., 0], "music", threshold, generator)
            x[..., k] = x_k
            made.push(x_k.to(feat.dtype))
        return x

    def _features(self, z: Tensor, lengths: Tensor) -> Tensor:
        """The per-step feature ``(B, T, embed_dim)`` (after dropout)."""
        B, T, _ = z.shape
        u = self.inp(z) + self.position(lengths, T)
        h = self.drop(u)
        fwd, _ = self.forward_lstm(h)  # fwd[:, t] has read u_{<=t}
        bwd, _ = self.backward_lstm(reverse_padded(h, lengths))
        bwd = reverse_padded(bwd, lengths)  # bwd[:, t] has read u_{>=t} (of the real steps)
        zero = fwd.new_zeros(B, 1, self.hidden_size)
        before = torch.cat([zero, fwd[:, :-1]], dim=1)  # forward state at t-1
        after = torch.cat([bwd[:, 1:], zero], dim=1)  # backward state at t+1
        # the backward state "after" the last real step is the zero initial state
        last = torch.arange(T, device=z.device)[None, :] >= lengths.to(z.device)[:, None] - 1
        after = after.masked_fill(last[..., None], 0.0)
        feat = self.feature(torch.cat([u, before, after], dim=-1))
        return self.drop(torch.tanh(feat) if self.bounded else feat)
