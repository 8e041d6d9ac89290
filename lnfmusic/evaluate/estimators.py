"""Estimators of ``log p(x | T)``: the importance-sampled NLL and the ELBO, per batch and per
split, through the model interface only (:class:`~lnfmusic.model.base.SequenceModel`).

The importance-sampled estimate with ``S`` samples from ``q(z | x)``::

    log p̂(x | T) = logsumexp_s [log p(x | z_s) + log p(z_s | T) - log q(z_s | x)] - log S

is a stochastic lower bound that tightens as ``S`` grows; the ELBO is the ``S = 1`` case in
expectation. Samples are drawn in chunks and folded into a running logsumexp, so memory is
bounded by ``max_elements`` (sample-steps per forward pass) whatever ``S`` and ``T`` are.
For an exact family (``model.exact``) one forward pass gives ``log p(x | T)`` itself.

References:
    Burda et al. (2016), Importance weighted autoencoders.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from lnfmusic.data.batching import Batch, make_batch
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.evaluate.results import SplitResult
from lnfmusic.model.base import SequenceModel


class LogMeanExp:
    """Running ``logsumexp_s w_s - log S`` over chunks of log-weights ``(S_chunk, B)``."""

    def __init__(self) -> None:
        self.lse: Tensor | None = None
        self.count = 0

    def add(self, w: Tensor) -> None:
        chunk = torch.logsumexp(w.double(), 0)
        self.lse = chunk if self.lse is None else torch.logaddexp(self.lse, chunk)
        self.count += w.shape[0]

    def value(self) -> Tensor:
        """``log mean_s exp(w_s)`` per sequence, ``(B,)``."""
        if self.lse is None:
            raise ValueError("no log-weights added")
        return self.lse - math.log(self.count)


def budget_batches(
    seqs: Sequence[np.ndarray], batch_size: int, max_elements: int
) -> Iterator[Batch]:
    """Length-sorted batches of at most ``batch_size`` sequences and (when more than one)
    at most ``max_elements`` padded steps, so long pieces are evaluated a few at a time."""
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    chunk: list[int] = []
    for i in order:
        longest = len(seqs[chunk[0]]) if chunk else len(seqs[i])
        if chunk and (len(chunk) >= batch_size or (len(chunk) + 1) * longest > max_elements):
            yield make_batch([seqs[j] for j in chunk], chunk)
            chunk = []
        chunk.append(i)
    if chunk:
        yield make_batch([seqs[j] for j in chunk], chunk)


def sample_chunk(batch: Batch, max_elements: int) -> int:
    """Samples per forward pass so that ``S_chunk * B * T_max <= max_elements`` (at least 1)."""
    return max(1, max_elements // (len(batch) * int(batch.lengths.max())))


def elbo_terms(
    model: SequenceModel, batch: Batch, num_samples: int, chunk: int
) -> tuple[Tensor, Tensor]:
    """Per-sequence ``recon`` and ``kl`` ``(B,)`` averaged over ``num_samples`` posterior
    draws, ``chunk`` draws per forward pass. One pass returns the model's own tensors; several
    are averaged in float64."""
    if num_samples <= chunk:
        out = model(batch, num_samples=num_samples)
        return out.recon, out.kl
    recon = torch.zeros(len(batch), dtype=torch.float64, device=batch.x.device)
    kl = torch.zeros_like(recon)
    done = 0
    while done < num_samples:
        s = min(chunk, num_samples - done)
        out = model(batch, num_samples=s)
        recon += out.recon.double() * s
        kl += out.kl.double() * s
        done += s
    return recon / num_samples, kl / num_samples


def importance_log_likelihood(
    model: SequenceModel, batch: Batch, num_samples: int, chunk: int
) -> Tensor:
    """``log p̂(x | T)`` ``(B,)`` float64 from ``num_samples`` importance samples."""
    acc = LogMeanExp()
    done = 0
    while done < num_samples:
        s = min(chunk, num_samples - done)
        acc.add(model.log_weights(batch, s))
        done += s
    return acc.value()


@torch.no_grad()
def evaluate_batch(
    model: SequenceModel,
    batch: Batch,
    num_samples: int | None,
    elbo_samples: int,
    max_elements: int | None = None,
) -> dict[str, Tensor | None]:
    """``log_p`` (IS-NLL with ``num_samples`` draws; None when ``num_samples`` is None),
    ``recon`` and ``kl`` (``elbo_samples`` separate draws) of one batch, each ``(B,)``; in
    chunks of at most ``max_elements`` sample-steps (None: all draws in one pass). Exact
    families take one pass for all three."""
    chunk = sample_chunk(batch, max_elements) if max_elements else max(elbo_samples, 1)
    if model.exact:
        recon, kl = elbo_terms(model, batch, 1, 1)
        return {"log_p": recon.double(), "recon": recon, "kl": kl}
    log_p = None
    if num_samples is not None:
        log_p = importance_log_likelihood(model, batch, num_samples, chunk)
    recon, kl = elbo_terms(model, batch, elbo_samples, chunk)
    return {"log_p": log_p, "recon": recon, "kl": kl}


def estimate_split(
    model: SequenceModel,
    batches: Iterable[Batch],
    length_prior: LengthPrior,
    split: str,
    kind: str,
    *,
    num_samples: int | None,
    elbo_samples: int,
    max_elements: int | None = None,
    device: torch.device | str | None = None,
    advance: Callable[[], None] | None = None,
) -> SplitResult:
    """A :class:`SplitResult` over ``batches`` (CPU batches, moved to ``device``), in the
    model's current mode and from the current RNG state. ``num_samples`` None: the ELBO
    only (the training loop's validation). ``advance`` is called after each batch."""
    exact = model.exact
    result = SplitResult(
        split,
        kind,
        samples=None if exact else num_samples,
        elbo_samples=None if exact else elbo_samples,
    )
    for batch in batches:
        lengths = batch.lengths
        out = evaluate_batch(
            model, batch.to(device or model.device), num_samples, elbo_samples, max_elements
        )
        result.add(lengths, length_prior.log_prob(lengths).double(), **out)
        if advance is not None:
            advance()
    return result
