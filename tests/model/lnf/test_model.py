"""The LNF VAE end to end: ELBO terms, importance weights, gradients, tying, padding."""

from __future__ import annotations

import pytest
import torch

from lnfmusic.data.batching import make_batch
from lnfmusic.model.base import count_parameters
from lnfmusic.model.lnf.model import LNFModel
from lnfmusic.model.lstm.model import LSTMBaseline
from lnfmusic.model.registry import build_model, config_for
from tests.helpers import random_batch, random_seqs, tiny_config

pytestmark = pytest.mark.usefixtures("float64")

MODELS = ["af-af", "af-scf", "iaf-scf", "af-only"]
EMISSIONS = ["independent", "made"]  # made: music only
KIND_EMISSION = [("music", "independent"), ("text", "independent"), ("music", "made")]


def make_model(name: str = "af-af", kind: str = "music", emission: str = "independent") -> LNFModel:
    cfg = tiny_config(name, kind)
    cfg.emission = emission
    return build_model(cfg)


@pytest.mark.parametrize(("kind", "emission"), KIND_EMISSION)
@pytest.mark.parametrize("name", MODELS)
def test_shapes_and_finite_values(name: str, kind: str, emission: str) -> None:
    model = make_model(name, kind, emission)
    batch = random_batch([6, 5, 2], kind)
    terms = model(batch, num_samples=2)
    assert terms.recon.shape == terms.kl.shape == terms.objective.shape == (3,)
    assert torch.all(torch.isfinite(terms.recon)) and torch.all(terms.recon < 0)
    assert terms.loss.shape == () and int(terms.num_steps) == 6 + 5 + 2 + 3
    w = model.log_weights(batch, 4)
    assert w.shape == (4, 3) and torch.all(torch.isfinite(w))


def test_elbo_terms_are_the_sample_average_of_the_weights_parts() -> None:
    model = make_model().eval()
    batch = random_batch([5, 3], "music")
    torch.manual_seed(5)
    w = model.log_weights(batch, 3)
    torch.manual_seed(5)
    terms = model(batch, num_samples=3)
    torch.manual_seed(5)
    recon, log_p, log_q = model.sample_terms(batch, 3)
    torch.testing.assert_close(w, recon + log_p - log_q)
    torch.testing.assert_close(terms.recon, recon.mean(0))
    torch.testing.assert_close(terms.kl, (log_q - log_p).mean(0))


@pytest.mark.parametrize("emission", EMISSIONS)
@pytest.mark.parametrize("name", MODELS)
def test_every_parameter_gets_a_gradient(name: str, emission: str) -> None:
    model = make_model(name, emission=emission)
    batch = random_batch([7, 4], "music")
    model(batch, num_samples=2).loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


def test_input_and_output_weights_are_tied() -> None:
    model = make_model()
    assert model.encoder.embedding is model.emission.embedding is model.embedding
    assert model.encoder.embedding.data_ptr() == model.emission.embedding.data_ptr()
    n_unique = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    assert count_parameters(model) == n_unique
    with torch.no_grad():
        model.embedding[0, 0] += 1.0
    assert model.encoder.embedding[0, 0] == model.emission.embedding[0, 0]


@pytest.mark.parametrize("emission", EMISSIONS)
@pytest.mark.parametrize("name", MODELS)
def test_padding_invariance(name: str, emission: str) -> None:
    """A sequence's weights do not depend on the other sequences of its batch."""
    model = make_model(name, emission=emission).eval()
    seqs = random_seqs([8, 3], "music", seed=4)
    H = model.config.latent_dim
    noise = torch.randn(2, 2, 8, H)
    both = make_batch(seqs)
    both.x = both.x.double()
    alone = make_batch(seqs[1:])
    alone.x = alone.x.double()
    terms_both = model.sample_terms(both, 2, noise)
    terms_alone = model.sample_terms(alone, 2, noise[:, 1:, :3])
    for a, b in zip(terms_both, terms_alone, strict=True):
        torch.testing.assert_close(a[:, 1], b[:, 0])


@pytest.mark.parametrize(("kind", "emission"), KIND_EMISSION)
@pytest.mark.parametrize("name", MODELS)
def test_generate_shapes(name: str, kind: str, emission: str) -> None:
    model = make_model(name, kind, emission).eval()
    lengths = torch.tensor([4, 6])
    x = model.generate(lengths, generator=torch.Generator().manual_seed(0))
    assert x.shape[:2] == (2, 6)
    assert x.dtype == (torch.uint8 if kind == "music" else torch.int64)
    assert torch.all(x[0, 4:] == 0)


@pytest.mark.parametrize("name", MODELS)
def test_made_emission_continues_decodes_and_samples_deterministically(name: str) -> None:
    model = make_model(name, emission="made").eval()
    prefix = torch.as_tensor(random_seqs([3], "music", seed=2)[0])[None]
    lengths = torch.tensor([7])
    x = model.continue_sequence(prefix, lengths, generator=torch.Generator().manual_seed(1))
    assert x.shape == (1, 7, 88) and torch.equal(x[:, :3], prefix)
    z = model.encode(x, lengths, 1.0, torch.Generator().manual_seed(2))
    a = model.decode(z, lengths, None, torch.Generator().manual_seed(3))
    b = model.decode(z, lengths, None, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == x.shape


def test_build_model_picks_the_family() -> None:
    assert isinstance(build_model(tiny_config("lstm")), LSTMBaseline)
    assert isinstance(build_model(tiny_config("iaf-scf")), LNFModel)
    with pytest.raises(ValueError, match="unknown model"):
        config_for("nope")
    cfg = tiny_config()
    cfg.family = "nope"  # an instance of no registered family
    with pytest.raises(ValueError, match="unknown model"):
        build_model(cfg)
