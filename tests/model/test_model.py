"""The sequence models end to end: LNF (every prior) and the LSTM baseline, music and text."""

from __future__ import annotations

import pytest
import torch

from lnfmusic.data.batching import make_batch
from lnfmusic.model.base import count_parameters
from lnfmusic.model.likelihood import step_log_likelihood
from lnfmusic.model.lnf.model import LNFModel
from lnfmusic.model.lstm.model import LSTMBaseline
from lnfmusic.model.registry import build_model
from tests.helpers import random_batch, random_seqs, tiny_config

pytestmark = pytest.mark.usefixtures("float64")

MODELS = ["af-af", "af-scf", "iaf-scf", "af-only", "lstm"]
KINDS = ["music", "text"]
LENGTHS = [6, 4, 2]


def make_model(model: str, kind: str) -> LNFModel | LSTMBaseline:
    torch.manual_seed(0)
    return build_model(tiny_config(model, kind)).eval()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model", MODELS)
def test_terms_shapes_gradients_and_tied_weights(model: str, kind: str) -> None:
    m = make_model(model, kind).train()
    batch = random_batch(LENGTHS, kind)
    out = m(batch, num_samples=2)
    terms = {"recon": out.recon, "kl": out.kl}
    for v in terms.values():
        assert v.shape == (3,) and torch.isfinite(v).all()
    assert (terms["recon"] < 0).all()
    if model == "lstm":
        assert (terms["kl"] == 0).all()
    lw = m.log_weights(batch, 3)
    assert lw.shape == ((1, 3) if model == "lstm" else (3, 3)) and torch.isfinite(lw).all()
    loss = -(terms["recon"] - terms["kl"]).sum()
    loss.backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    if model != "lstm":
        assert m.encoder.embedding is m.embedding and m.emission.embedding is m.embedding
        # the shared weight is counted (and registered) once
        assert sum(p is m.embedding for p in m.parameters()) == 1
    assert count_parameters(m) == sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model", MODELS)
def test_padding_invariance(model: str, kind: str) -> None:
    """The same sequences batched with a longer neighbour (more padding) give the same
    per-sequence terms, with the posterior noise fixed by the seed."""
    m = make_model(model, kind)
    seqs = random_seqs(LENGTHS, kind)
    small = make_batch(seqs)
    big = make_batch(seqs + random_seqs([9], kind, seed=1))
    if kind == "music":
        small.x, big.x = small.x.double(), big.x.double()
    # garbage on the padded steps must not matter either
    pad = ~big.mask
    if kind == "music":
        big.x[pad] = 1.0
    else:
        big.x[pad] = 3
    S = 2
    if model == "lstm":
        a, b = vars(m(small)), vars(m(big))
    else:
        noise = torch.randn(S, 4, 9, m.config.latent_dim)
        # big is sorted by length: the new sequence is row 0; rows 1..3 are the small batch
        a_terms = m.sample_terms(small, S, noise[:, 1:, :6])
        b_terms = m.sample_terms(big, S, noise)
        a = {"recon": a_terms[0], "logp": a_terms[1], "logq": a_terms[2]}
        b = {"recon": b_terms[0][:, 1:], "logp": b_terms[1][:, 1:], "logq": b_terms[2][:, 1:]}
        for k in a:
            torch.testing.assert_close(b[k], a[k], rtol=1e-10, atol=1e-10)
        return
    torch.testing.assert_close(b["recon"][1:], a["recon"], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model", ["af-af", "iaf-scf"])
def test_elbo_terms_padding_invariance_with_fixed_seed(model: str, kind: str) -> None:
    """Same batch, extra all-padding steps appended: ``elbo_terms`` unchanged (same seed)."""
    m = make_model(model, kind)
    batch = random_batch(LENGTHS, kind)
    wide = random_batch(LENGTHS, kind)
    extra = 3
    shape = list(wide.x.shape)
    shape[1] = extra
    wide.x = torch.cat([wide.x, torch.ones(shape, dtype=wide.x.dtype)], 1)
    wide.mask = torch.cat([wide.mask, torch.zeros(3, extra, dtype=torch.bool)], 1)
    torch.manual_seed(5)
    # draws of q are (S, B, T, H): a wider T changes which numbers land where, so compare
    # through explicit noise of the wide shape
    noise = torch.randn(1, 3, 6 + extra, m.config.latent_dim)
    a = m.sample_terms(batch, 1, noise[:, :, :6])
    b = m.sample_terms(wide, 1, noise)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(y, x, rtol=1e-10, atol=1e-10)
    torch.manual_seed(7)
    t1 = vars(m(batch, num_samples=2))
    torch.manual_seed(7)
    t2 = vars(m(batch, num_samples=2))
    assert all(torch.equal(t1[k], t2[k]) for k in t1)


@pytest.mark.parametrize("kind", KINDS)
def test_lstm_exact_log_prob_is_the_stepwise_product(kind: str) -> None:
    """``log p(x|T)`` from the parallel pass equals stepping the LSTM one input at a time
    (the way ``generate`` runs), summing log p(x_t | x_<t)."""
    m = make_model("lstm", kind)
    batch = random_batch(LENGTHS, kind)
    ref = m.log_prob(batch)
    B, T = batch.x.shape[:2]
    pos = m.position(batch.lengths, T)
    from lnfmusic.model.likelihood import embed_inputs

    inp = m.start.expand(B, 1, -1) + pos[:, :1]
    state = None
    total = torch.zeros(B)
    for t in range(T):
        out, state = m.lstm(inp, state)
        logits = m._logits(out)  # (B, 1, V)
        xt = batch.x[:, t : t + 1]
        ll = step_log_likelihood(logits, xt, kind)[:, 0]
        total = total + ll * batch.mask[:, t]
        inp = embed_inputs(xt, m.embedding, kind) + pos[:, t + 1 : t + 2]
    torch.testing.assert_close(total, ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(m.log_weights(batch, 5), ref[None])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model", ["af-af", "af-only"])
def test_emission_logits_ignore_padding(model: str, kind: str) -> None:
    """Step t's logits of a sequence depend on its own z and length only."""
    m = make_model(model, kind)
    H = m.config.latent_dim
    z = torch.randn(1, 5, H)
    alone = m.emission(z, torch.tensor([5]))
    padded = torch.cat([z, torch.randn(1, 4, H) * 10], 1)
    other = torch.randn(1, 9, H)
    both = m.emission(torch.cat([other, padded]), torch.tensor([9, 5]))
    torch.testing.assert_close(both[1, :5], alone[0], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model", MODELS)
def test_generate(model: str, kind: str) -> None:
    m = make_model(model, kind)
    lengths = torch.tensor([3, 7, 1])
    x = m.generate(lengths, generator=torch.Generator().manual_seed(0))
    if kind == "music":
        assert x.shape == (3, 7, 88) and x.dtype == torch.uint8
        assert set(x.unique().tolist()) <= {0, 1}
        pad = torch.arange(7)[None, :] >= lengths[:, None]
        assert (x[pad] == 0).all()
        xt = m.generate(lengths, threshold=0.5)
        assert set(xt.unique().tolist()) <= {0, 1} and (xt[pad] == 0).all()
    else:
        assert x.shape == (3, 7) and x.dtype == torch.int64
        assert ((x >= 0) & (x < m.config.output_dim)).all()
        pad = torch.arange(7)[None, :] >= lengths[:, None]
        assert (x[pad] == 0).all()
    # the same generator seed reproduces the draw
    x2 = m.generate(lengths, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)
