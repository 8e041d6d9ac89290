"""Observation models (:mod:`lnfmusic.model.likelihood`): per-step log-likelihoods against the
Bernoulli / categorical formulas written out by hand, drawing (thresholded, Bernoulli and
categorical frequencies against their probabilities), and the input embeddings."""

from __future__ import annotations

import math

import pytest
import torch

from lnfmusic.model.likelihood import draw, embed_inputs, step_log_likelihood

pytestmark = pytest.mark.usefixtures("float64")


def _gen(device: torch.device, seed: int = 0) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


# ----------------------------------------------------------------------------------------
# step_log_likelihood


def test_music_is_a_sum_of_bernoulli_log_probs() -> None:
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 88) * 3
    x = (torch.rand(2, 3, 88) < 0.3).to(torch.uint8)
    got = step_log_likelihood(logits, x, "music")
    assert got.shape == (2, 3)
    for b in range(2):
        for t in range(3):
            total = 0.0
            for k in range(88):
                p = 1.0 / (1.0 + math.exp(-logits[b, t, k].item()))
                total += math.log(p) if x[b, t, k] else math.log(1.0 - p)
            assert got[b, t].item() == pytest.approx(total, rel=1e-10)


def test_music_is_stable_for_large_logits() -> None:
    logits = torch.tensor([[[60.0, -60.0, 60.0, -60.0]]])
    x = torch.tensor([[[1, 0, 0, 1]]], dtype=torch.uint8)
    got = step_log_likelihood(logits, x, "music")
    # log sigmoid(60) ~ -e^-60 twice, log sigmoid(-60) ~ -60 twice
    assert torch.isfinite(got).all()
    assert got.item() == pytest.approx(-120.0, rel=1e-12)


def test_music_accepts_float_observations() -> None:
    logits = torch.randn(1, 2, 88)
    x = (torch.rand(1, 2, 88) < 0.5).to(torch.uint8)
    assert torch.allclose(
        step_log_likelihood(logits, x, "music"), step_log_likelihood(logits, x.double(), "music")
    )


def test_text_is_log_softmax_gathered() -> None:
    torch.manual_seed(2)
    V = 7
    logits = torch.randn(3, 4, V) * 2
    x = torch.randint(0, V, (3, 4))
    got = step_log_likelihood(logits, x, "text")
    assert got.shape == (3, 4)
    for b in range(3):
        for t in range(4):
            row = logits[b, t].tolist()
            log_z = math.log(sum(math.exp(v) for v in row))
            assert got[b, t].item() == pytest.approx(row[x[b, t]] - log_z, rel=1e-10)


def test_text_probabilities_sum_to_one_over_the_vocabulary() -> None:
    V = 5
    logits = torch.randn(1, 1, V)
    total = sum(step_log_likelihood(logits, torch.tensor([[v]]), "text").exp() for v in range(V))
    assert total.item() == pytest.approx(1.0, rel=1e-12)


# ----------------------------------------------------------------------------------------
# draw


def test_music_threshold_is_deterministic(device: torch.device) -> None:
    logits = torch.tensor([-3.0, -0.1, 0.0, 0.1, 3.0, 0.4054651081081644])
    probs = torch.sigmoid(logits)
    for threshold in (0.5, 0.2, 0.9):
        out = draw(logits, "music", threshold=threshold, generator=_gen(device, 0))
        again = draw(logits, "music", threshold=threshold, generator=_gen(device, 1))
        assert out.dtype == torch.uint8
        assert torch.equal(out, again)
        assert out.tolist() == [int(p > threshold) for p in probs.tolist()]
    # strictly greater: p = 0.5 is off at threshold 0.5
    assert draw(torch.zeros(3), "music", threshold=0.5).tolist() == [0, 0, 0]


def test_music_draws_follow_the_sigmoid(device: torch.device) -> None:
    n = 20000
    logits = torch.linspace(-4.0, 4.0, 88)
    out = draw(logits.expand(n, 88), "music", generator=_gen(device, 3))
    assert out.shape == (n, 88) and out.dtype == torch.uint8
    assert set(out.unique().tolist()) <= {0, 1}
    p = torch.sigmoid(logits)
    freq = out.double().mean(0)
    sd = (p * (1 - p) / n).sqrt()
    assert ((freq - p).abs() <= 5 * sd + 1e-3).all(), (freq - p).abs().max()


def test_music_draws_are_reproducible_with_a_generator(device: torch.device) -> None:
    logits = torch.randn(4, 5, 88)
    a = draw(logits, "music", generator=_gen(device, 7))
    b = draw(logits, "music", generator=_gen(device, 7))
    c = draw(logits, "music", generator=_gen(device, 8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_text_draws_follow_the_softmax(device: torch.device) -> None:
    n = 20000
    logits = torch.tensor([1.0, -1.0, 0.0, 2.0, -3.0])
    out = draw(logits.expand(n, 5), "text", generator=_gen(device, 4))
    assert out.shape == (n,) and out.dtype == torch.int64
    p = torch.softmax(logits, -1)
    freq = torch.bincount(out, minlength=5).double() / n
    sd = (p * (1 - p) / n).sqrt()
    assert ((freq - p).abs() <= 5 * sd + 1e-3).all(), (freq, p)


def test_text_draws_keep_the_leading_shape_and_are_reproducible(device: torch.device) -> None:
    logits = torch.randn(3, 4, 6)
    a = draw(logits, "text", generator=_gen(device, 5))
    b = draw(logits, "text", generator=_gen(device, 5))
    assert a.shape == (3, 4) and torch.equal(a, b)
    assert ((a >= 0) & (a < 6)).all()
    # a near one-hot row always draws its peak
    peaked = torch.full((2, 6), -50.0)
    peaked[0, 2] = peaked[1, 5] = 50.0
    assert draw(peaked, "text", generator=_gen(device)).tolist() == [2, 5]


# ----------------------------------------------------------------------------------------
# embed_inputs


def test_music_embedding_is_the_sum_of_the_active_rows() -> None:
    weight = torch.randn(88, 6)
    x = torch.zeros(2, 3, 88, dtype=torch.uint8)
    x[0, 0, [3, 40, 87]] = 1
    x[1, 2, 10] = 1
    got = embed_inputs(x, weight, "music")
    assert got.shape == (2, 3, 6) and got.dtype == weight.dtype
    for b in range(2):
        for t in range(3):
            active = x[b, t].nonzero().flatten().tolist()
            expected = sum((weight[k] for k in active), torch.zeros(6))
            assert torch.allclose(got[b, t], expected, atol=1e-14)
    assert (got[0, 1] == 0).all()  # silence embeds to zero


def test_music_embedding_carries_gradients_to_the_weight() -> None:
    weight = torch.randn(88, 4, requires_grad=True)
    x = torch.zeros(1, 2, 88, dtype=torch.uint8)
    x[0, :, 5] = 1
    x[0, 1, 9] = 1
    embed_inputs(x, weight, "music").sum().backward()
    grad_rows = weight.grad.abs().sum(1)
    assert grad_rows[5].item() == pytest.approx(8.0) and grad_rows[9].item() == pytest.approx(4.0)
    assert grad_rows.count_nonzero().item() == 2


def test_text_embedding_is_a_row_lookup() -> None:
    weight = torch.randn(7, 5)
    x = torch.tensor([[0, 6, 3], [2, 2, 1]])
    got = embed_inputs(x, weight, "text")
    assert got.shape == (2, 3, 5)
    for b in range(2):
        for t in range(3):
            assert torch.equal(got[b, t], weight[x[b, t]])
