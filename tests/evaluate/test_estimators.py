"""Estimators: the running log-mean-exp, budgeted batches, chunked ELBO and IS-NLL per batch,
exact families in one pass, and a split's sums."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lnfmusic.data.batching import make_batch
from lnfmusic.evaluate.estimators import (
    LogMeanExp,
    budget_batches,
    elbo_terms,
    estimate_split,
    evaluate_batch,
    importance_log_likelihood,
    sample_chunk,
)
from tests.helpers import (
    LENGTHS,
    ExactModel,
    exact_log_p,
    make_ckpt,
    make_data,
    mismatched_model,
    posterior_model,
)


def test_running_logmeanexp_equals_one_shot() -> None:
    w = torch.randn(23, 4, dtype=torch.float64) * 30
    acc = LogMeanExp()
    for chunk in torch.split(w, [5, 1, 10, 7]):
        acc.add(chunk)
    expected = torch.logsumexp(w, 0) - math.log(23)
    assert torch.allclose(acc.value(), expected, rtol=0, atol=1e-12)


def test_budget_batches_cover_each_sequence_once_within_budget() -> None:
    rng = np.random.default_rng(1)
    seqs = [np.zeros((int(T), 1), np.float32) for T in rng.integers(1, 60, size=40)]
    seen = []
    for batch in budget_batches(seqs, batch_size=6, max_elements=100):
        assert len(batch) <= 6
        assert len(batch) == 1 or len(batch) * int(batch.lengths.max()) <= 100
        seen += batch.index.tolist()
    assert sorted(seen) == list(range(40))


def test_sample_chunk_respects_the_budget() -> None:
    batch = make_batch([np.zeros((10, 1), np.float32), np.zeros((4, 1), np.float32)])
    assert sample_chunk(batch, 100) == 5  # 5 samples x 2 sequences x 10 steps
    assert sample_chunk(batch, 7) == 1  # never fewer than one


def test_chunked_elbo_terms_average_the_chunks() -> None:
    """Several passes are averaged: with q the exact posterior the weights are all log p(x),
    so recon - kl is the exact log p(x) however the samples are chunked."""
    data = make_data(LENGTHS)
    batch = next(budget_batches(data.splits["test"], 16, 10_000))
    model = posterior_model()
    one_recon, one_kl = elbo_terms(model, batch, 6, chunk=6)
    many_recon, many_kl = elbo_terms(model, batch, 6, chunk=4)  # passes of 4 and 2
    exact = torch.tensor(exact_log_p(data)[batch.index.numpy()])
    torch.testing.assert_close((one_recon - one_kl).double(), exact, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close((many_recon - many_kl).double(), exact, rtol=1e-10, atol=1e-10)
    assert many_recon.dtype == torch.float64


def test_importance_estimate_is_exact_for_the_posterior_and_exact_models_take_one_pass() -> None:
    data = make_data(LENGTHS)
    batch = next(budget_batches(data.splits["test"], 16, 10_000))
    exact = torch.tensor(exact_log_p(data)[batch.index.numpy()])
    lp = importance_log_likelihood(posterior_model(), batch, 9, chunk=4)
    torch.testing.assert_close(lp, exact, rtol=1e-10, atol=1e-10)

    calls = []
    model = ExactModel()
    original = model.forward
    model.forward = lambda *a, **k: calls.append(1) or original(*a, **k)  # type: ignore[method-assign]
    out = evaluate_batch(model, batch, num_samples=50, elbo_samples=10)
    assert len(calls) == 1 and torch.equal(out["kl"], torch.zeros_like(out["kl"]))
    torch.testing.assert_close(out["log_p"], exact, rtol=1e-12, atol=1e-12)


def test_estimate_split_without_importance_samples_is_the_elbo_only() -> None:
    data = make_data(LENGTHS)
    prior = make_ckpt(LENGTHS)
    batches = budget_batches(data.splits["test"], 3, 10_000)
    r = estimate_split(
        mismatched_model(), batches, prior, "test", "music", num_samples=None, elbo_samples=2
    )
    assert r.samples is None and r.nll == 0.0 and r.num_sequences == len(LENGTHS)
    assert r.neg_elbo > 0 and r.num_steps == sum(LENGTHS)
    assert r.neg_elbo_with_length == pytest.approx(r.neg_elbo + r.neg_log_length, rel=1e-12)
    assert math.isfinite(r.paper_nats(r.neg_elbo_with_length))
