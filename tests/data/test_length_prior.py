"""The length model p(T)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lnfmusic.data.length_prior import LengthPrior


def test_empirical_histogram() -> None:
    prior = LengthPrior.from_lengths([2, 2, 3, 5])
    assert prior.max_length == 5
    np.testing.assert_allclose(prior.probs, [0, 0.5, 0.25, 0, 0.25])
    logp = prior.log_prob(torch.tensor([1, 2, 3, 5, 6]))
    assert logp.dtype == torch.float64
    assert logp[0] == -math.inf and logp[4] == -math.inf
    torch.testing.assert_close(logp[1:4], torch.tensor([0.5, 0.25, 0.25]).double().log())


def test_music_add_one_and_extension() -> None:
    lengths = [4, 8, 8]
    prior = LengthPrior.from_lengths(lengths, smoothing=1.0, extend=1.25)
    assert prior.max_length == 10  # ceil(1.25 * 8)
    counts = np.ones(10)
    counts[3] += 1
    counts[7] += 2
    np.testing.assert_allclose(prior.probs, counts / counts.sum())
    assert math.isclose(prior.probs.sum(), 1.0)
    assert (prior.probs > 0).all()
    # lengths outside 1..max_length have probability 0
    logp = prior.log_prob([0, -3, 11, 100, 10, 1])
    assert torch.isneginf(logp[:4]).all() and torch.isfinite(logp[4:]).all()
    music = LengthPrior.for_music(lengths)
    np.testing.assert_array_equal(music.probs, prior.probs)


def test_extension_rounds_up() -> None:
    assert LengthPrior.from_lengths([3], 1.0, 1.25).max_length == 4  # 3.75 -> 4
    assert LengthPrior.from_lengths([1], 1.0, 1.25).max_length == 2  # 1.25 -> 2


@pytest.mark.parametrize("smoothing", [0.0, 1.0])
def test_sums_to_one(smoothing: float) -> None:
    rng = np.random.default_rng(0)
    prior = LengthPrior.from_lengths(rng.integers(1, 300, size=500), smoothing, 1.25)
    assert math.isclose(float(prior.probs.sum()), 1.0, rel_tol=1e-12)
    every = prior.log_prob(torch.arange(1, prior.max_length + 1))
    assert math.isclose(float(every.exp().sum()), 1.0, rel_tol=1e-12)


def test_sampling_distribution() -> None:
    prior = LengthPrior.from_lengths([3, 3, 3, 6, 1], smoothing=1.0, extend=1.25)
    g = torch.Generator().manual_seed(0)
    n = 40_000
    samples = prior.sample(n, generator=g)
    assert samples.shape == (n,) and samples.dtype == torch.long
    assert samples.min() >= 1 and samples.max() <= prior.max_length
    freq = np.bincount(samples.numpy() - 1, minlength=prior.max_length) / n
    # 5 standard errors of a binomial proportion
    tol = 5 * np.sqrt(prior.probs * (1 - prior.probs) / n)
    assert (np.abs(freq - prior.probs) <= tol).all()
    again = prior.sample(n, generator=torch.Generator().manual_seed(0))
    assert torch.equal(samples, again)


def test_dict_roundtrip() -> None:
    prior = LengthPrior.from_lengths([5, 9, 9, 2], smoothing=1.0, extend=1.25)
    d = json.loads(json.dumps(prior.to_dict()))  # plain types only
    back = LengthPrior.from_dict(d)
    assert back.max_length == prior.max_length
    np.testing.assert_array_equal(back.probs, prior.probs)
    lengths = torch.arange(0, 14)
    assert torch.equal(back.log_prob(lengths), prior.log_prob(lengths))


def test_log_prob_keeps_device(device: torch.device) -> None:
    prior = LengthPrior.from_lengths([2, 4])
    out = prior.log_prob(torch.tensor([2, 3], device=device))
    assert out.device.type == device.type
    assert out[1].item() == -math.inf  # seen nowhere, no smoothing


@pytest.mark.parametrize(
    "lengths",
    [[], [0, 3], [-1]],
)
def test_rejects_bad_lengths(lengths: list[int]) -> None:
    with pytest.raises(ValueError):
        LengthPrior.from_lengths(lengths)


def test_no_warning_for_zero_probabilities() -> None:
    prior = LengthPrior.from_lengths([1, 5])
    with np.errstate(all="raise"):
        prior.log_prob([1, 2, 9])


def test_counts_are_kept_stored_and_recovered_from_the_smoothed_probabilities() -> None:
    lengths = [3, 5, 5, 9, 12, 12, 12]
    prior = LengthPrior.for_music(lengths)
    assert prior.counts is not None and prior.counts.sum() == len(lengths)
    assert LengthPrior.from_dict(prior.to_dict()).counts.tolist() == prior.counts.tolist()
    old = {"probs": prior.to_dict()["probs"]}  # a record made before counts were kept
    recovered = LengthPrior.from_dict(old, smoothing=1.0)
    assert recovered.counts.tolist() == prior.counts.tolist()
    assert LengthPrior.from_dict(old).counts is None  # smoothing unknown: nothing guessed
    empirical = recovered.empirical()
    assert np.allclose(empirical.probs[[2, 4, 8, 11]], np.array([1, 2, 1, 3]) / 7)
    assert empirical.probs.sum() == pytest.approx(1.0) and empirical.max_length == prior.max_length


def test_recovery_refuses_probabilities_that_are_not_add_one_counts() -> None:
    assert LengthPrior.from_dict({"probs": [0.3, 0.7]}, smoothing=1.0).counts is None
    assert LengthPrior.from_dict({"probs": [0.5, 0.5]}, smoothing=1.0).counts is None


def test_empirical_draws_only_seen_lengths_and_conditional_drops_short_ones() -> None:
    prior = LengthPrior.for_music([4, 6, 6, 10])
    g = torch.Generator().manual_seed(0)
    draws = prior.empirical().sample(2000, generator=g)
    assert set(draws.tolist()) == {4, 6, 10}
    assert abs(float(draws.double().mean()) - 6.5) < 0.15
    longer = prior.empirical().conditional(5)
    assert set(longer.sample(500, generator=g).tolist()) == {6, 10}
    assert prior.empirical().conditional(10) is None  # nothing seen beyond 10
    smoothed = prior.conditional(10)  # the smoothed prior still has 11..13
    assert smoothed is not None and set(smoothed.sample(300, generator=g).tolist()) == {11, 12, 13}
    assert prior.conditional(13) is None


def test_text_and_music_alike_give_every_length_up_to_a_quarter_beyond_the_longest_mass() -> None:
    lengths = [3, 7, 7, 20]
    for kind in ("music", "text"):
        prior = LengthPrior.for_data(kind, lengths)
        assert prior.max_length == 25 and (prior.probs > 0).all()
        assert (prior.smoothing, prior.extend) == (1.0, 1.25)
        assert torch.isfinite(prior.log_prob(range(1, 26))).all()
        assert prior.log_prob([26])[0] == -math.inf


def test_the_rule_is_stored_and_old_records_keep_theirs() -> None:
    prior = LengthPrior.for_data("text", [2, 4])
    back = LengthPrior.from_dict(json.loads(json.dumps(prior.to_dict())))
    assert (back.smoothing, back.extend) == (1.0, 1.25)
    np.testing.assert_array_equal(back.rebuild([2, 4]).probs, prior.probs)
    # a text record from before issue 15: a plain histogram, rebuilt as one
    old = {"probs": LengthPrior.from_lengths([2, 4]).probs.tolist()}
    before = LengthPrior.from_dict(old, 0.0, 1.0)
    np.testing.assert_array_equal(before.rebuild([2, 4]).probs, before.probs)
    assert before.rebuild([2, 5]).max_length == 5
    assert "smoothing" not in LengthPrior(np.ones(3)).to_dict()  # rule unknown: not stored


def test_describe_says_where_p_of_t_is_non_zero() -> None:
    assert LengthPrior.for_data("text", [4, 8]).describe() == (
        "p(T) > 0 for T in 1..10 (add-1 smoothing)"
    )
    assert "0 for lengths never seen" in LengthPrior.from_lengths([4, 8]).describe()
    assert LengthPrior(np.ones(3)).describe() == "p(T) over 1..3"
