"""The autoregressive LSTM baseline: exact log-probabilities and step-by-step generation."""

from __future__ import annotations

import itertools

import pytest
import torch

from lnfmusic.data.batching import make_batch
from lnfmusic.model.likelihood import embed_inputs, step_log_likelihood
from lnfmusic.model.lstm.model import LSTMBaseline
from tests.helpers import random_batch, tiny_config

pytestmark = pytest.mark.usefixtures("float64")


def make_lstm(kind: str = "music", vocab: int = 5) -> LSTMBaseline:
    return LSTMBaseline(tiny_config("lstm", kind, vocab)).eval()


def manual_log_prob(model: LSTMBaseline, x: torch.Tensor, length: int) -> torch.Tensor:
    """One sequence, one LSTM step at a time with the state carried by hand."""
    kind = model.kind
    pos = model.position(torch.tensor([length]), length)[0]
    state = None
    prev = model.start
    total = torch.zeros(())
    for t in range(length):
        out, state = model.lstm((prev + pos[t]).view(1, 1, -1), state)
        logits = model._logits(out[0])  # (1, V)
        xt = x[t : t + 1].unsqueeze(0)  # (1, 1, ...)
        total = total + step_log_likelihood(logits.unsqueeze(0), xt, kind).sum()
        prev = embed_inputs(x[t : t + 1], model.embedding, kind)[0]
    return total


@pytest.mark.parametrize("kind", ["music", "text"])
def test_log_prob_equals_a_step_by_step_computation(kind: str) -> None:
    model = make_lstm(kind)
    batch = random_batch([6, 4, 1], kind, seed=3)
    lp = model.log_prob(batch)
    assert lp.shape == (3,)
    for b in range(3):
        n = int(batch.lengths[b])
        torch.testing.assert_close(lp[b], manual_log_prob(model, batch.x[b, :n], n))
    terms = model(batch, num_samples=3)
    torch.testing.assert_close(terms.recon, lp)
    assert torch.all(terms.kl == 0)
    assert model.log_weights(batch, 7).shape == (1, 3)


def test_text_probabilities_of_all_sequences_of_a_length_sum_to_one() -> None:
    V, T = 3, 3
    model = make_lstm("text", vocab=V)
    seqs = [torch.tensor(s).numpy() for s in itertools.product(range(V), repeat=T)]
    with torch.no_grad():
        lp = model.log_prob(make_batch(seqs))
    torch.testing.assert_close(lp.exp().sum(), torch.tensor(1.0))


@pytest.mark.parametrize("kind", ["music", "text"])
def test_generate_shapes_padding_and_seeds(kind: str) -> None:
    model = make_lstm(kind)
    lengths = torch.tensor([5, 2, 7])
    g = torch.Generator().manual_seed(1)
    x = model.generate(lengths, generator=g)
    if kind == "music":
        assert x.shape == (3, 7, 88) and x.dtype == torch.uint8
        assert set(x.unique().tolist()) <= {0, 1}
    else:
        assert x.shape == (3, 7) and x.dtype == torch.int64
        assert int(x.max()) < 5
    assert torch.all(x[1, 2:] == 0) and torch.all(x[0, 5:] == 0)
    again = model.generate(lengths, generator=torch.Generator().manual_seed(1))
    assert torch.equal(x, again)


def test_generated_music_follows_the_model() -> None:
    """A threshold of 0 keeps every note with p > 0, 1 keeps none."""
    model = make_lstm("music")
    lengths = torch.tensor([4])
    assert model.generate(lengths, threshold=1.0).sum() == 0
    assert model.generate(lengths, threshold=0.0).sum() == 4 * 88
