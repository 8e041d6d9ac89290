"""Evaluation maths on a model whose likelihood is known in closed form.

The fake model: ``z_t ~ N(0, 1)``, ``x_t | z_t ~ N(z_t, sigma^2)`` (one real number per step),
so ``p(x_t) = N(0, 1 + sigma^2)``; the proposal is ``q(z_t | x_t) = N(a x_t, s^2)``. With
``a = 1 / (1 + sigma^2)`` and ``s^2 = sigma^2 / (1 + sigma^2)`` q is the exact posterior and
every importance weight equals ``log p(x)``.
"""

from __future__ import annotations

import math

import pytest
import torch

from tests.helpers import (
    LENGTHS,
    ExactModel,
    analytic_elbo_terms,
    evaluate,
    exact_log_p,
    make_ckpt,
    make_data,
    mismatched_model,
    posterior_model,
)


@pytest.mark.parametrize("samples,max_elements", [(1, 10_000), (7, 10_000), (7, 13)])
def test_is_nll_is_exact_when_q_is_the_posterior(samples: int, max_elements: int) -> None:
    data = make_data(LENGTHS)
    res = evaluate(
        posterior_model(),
        make_ckpt(LENGTHS),
        data,
        "test",
        num_samples=samples,
        batch_size=3,
        max_elements=max_elements,
    )
    r = res.splits["test"]
    assert r.nll == pytest.approx(-exact_log_p(data).sum(), rel=1e-10)
    assert r.samples == samples and r.num_sequences == len(LENGTHS)
    assert r.num_steps == sum(LENGTHS)


def test_is_nll_converges_to_exact_nll_and_bounds_the_elbo() -> None:
    data = make_data(LENGTHS)
    ckpt = make_ckpt(LENGTHS)
    exact = -exact_log_p(data).sum()
    few = evaluate(mismatched_model(), ckpt, data, num_samples=2, elbo_samples=1)
    many = evaluate(
        mismatched_model(), ckpt, data, num_samples=4000, elbo_samples=4000, max_elements=20_000
    )
    f, m = few.splits["test"], many.splits["test"]
    assert m.nll == pytest.approx(exact, abs=0.05 * len(LENGTHS))
    # IS-NLL is an upper bound on the exact NLL in expectation; the ELBO is looser still.
    assert m.neg_elbo > m.nll + 1.0
    assert abs(m.nll - exact) < abs(f.nll - exact)
    recon, kl = analytic_elbo_terms(data, 0.4, 0.9)
    assert -m.neg_recon == pytest.approx(recon, rel=0.02)
    assert m.kl == pytest.approx(kl, rel=0.02)
    assert m.neg_elbo == pytest.approx(m.neg_recon + m.kl, rel=1e-12)


def test_normalisations_by_hand() -> None:
    lengths = [2, 3]
    data = make_data(lengths)
    ckpt = make_ckpt([2, 3, 3, 4])
    r = evaluate(posterior_model(), ckpt, data, num_samples=3).splits["test"]
    nll = -exact_log_p(data).sum()
    probs = ckpt.probs
    neg_log_t = -(math.log(probs[1]) + math.log(probs[2]))
    m = r.metrics()
    assert m["nll_paper"] == pytest.approx((nll + neg_log_t) / (5 + 2), rel=1e-10)
    assert m["nll_frame"] == pytest.approx(nll / 5, rel=1e-10)
    # per sounding note: the fake "roll" has one non-zero value per step, so 5 notes
    assert r.num_notes == 5 and m["nll_note"] == pytest.approx(nll / 5, rel=1e-10)

    text = make_data(lengths, kind="text")
    t = evaluate(posterior_model(), ckpt, text, num_samples=3).splits["test"]
    nll_text = -exact_log_p(text).sum()
    mt = t.metrics()
    assert t.unit == "bpc"
    assert mt["nll_paper"] == pytest.approx((nll_text + neg_log_t) / 7 / math.log(2), rel=1e-10)
    assert mt["nll_frame"] == pytest.approx(nll_text / 5 / math.log(2), rel=1e-10)
    assert "nll_note" not in mt and "num_notes" not in t.to_dict()  # music only


def test_same_seed_same_numbers_and_global_rng_untouched() -> None:
    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = evaluate(mismatched_model(), ckpt, data, ["test", "valid"], num_samples=5, seed=4)
    assert torch.equal(torch.rand(3), expected_next)
    b = evaluate(mismatched_model(), ckpt, data, ["test", "valid"], num_samples=5, seed=4)
    c = evaluate(mismatched_model(), ckpt, data, ["test", "valid"], num_samples=5, seed=5)
    assert a.to_dict() == b.to_dict()
    assert a.splits["test"].nll != c.splits["test"].nll


def test_chunked_samples_agree_with_unchunked() -> None:
    """Different chunkings draw different noise, so agreement is up to Monte Carlo error;
    with q the exact posterior it is exact (tested above)."""
    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    one = evaluate(mismatched_model(), ckpt, data, num_samples=400, max_elements=1_000_000).splits[
        "test"
    ]
    many = evaluate(mismatched_model(), ckpt, data, num_samples=400, max_elements=40).splits["test"]
    assert one.nll == pytest.approx(many.nll, abs=0.1 * len(LENGTHS))


def test_exact_model_reports_exact() -> None:
    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    res = evaluate(ExactModel(), ckpt, data, num_samples=50)
    r = res.splits["test"]
    assert r.samples is None and r.to_dict()["samples"] == "exact"
    assert r.nll == pytest.approx(-exact_log_p(data).sum(), rel=1e-12)
    assert r.kl == 0.0 and r.neg_elbo == pytest.approx(r.nll)


def test_bad_split_and_samples_are_one_line_errors() -> None:
    from lnfmusic.errors import LnfError

    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    with pytest.raises(LnfError, match="no split 'train'"):
        evaluate(posterior_model(), ckpt, data, "train")
    with pytest.raises(LnfError, match="at least 1"):
        evaluate(posterior_model(), ckpt, data, num_samples=0)
