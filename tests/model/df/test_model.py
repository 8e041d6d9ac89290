"""Discrete flows on music and text through the model interface: exact, normalised over
every sequence of a length, padding-independent, samples that follow the density."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lnfmusic.data.batching import make_batch
from lnfmusic.model.df.model import DiscreteFlowModel, bipartite_schedule
from tests.helpers import random_batch, tiny_config

pytestmark = pytest.mark.usefixtures("float64")
VARIANTS = ["df-bipartite", "df-ar"]


def make(variant: str, kind: str, features: int | None = None, vocab: int = 3, seed: int = 0):
    torch.manual_seed(seed)
    cfg = tiny_config(variant, kind, vocab)
    cfg.num_flows, cfg.scale = 3, True
    if features is not None:
        cfg.output_dim = features
    model = DiscreteFlowModel(cfg)
    for m in model.flow.layers.modules():  # layers that actually permute the space
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, std=2.0)
    return model.eval()


def every_sequence(kind: str, T: int, F: int, V: int) -> list[np.ndarray]:
    if kind == "text":
        return [np.array(s, dtype=np.int64) for s in itertools.product(range(V), repeat=T)]
    return [
        np.array(s, dtype=np.uint8).reshape(T, F) for s in itertools.product(range(2), repeat=T * F)
    ]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    "kind,T,F,V", [("text", 3, 1, 3), ("text", 2, 1, 5), ("music", 2, 3, 2), ("music", 3, 2, 2)]
)
def test_probabilities_of_every_sequence_of_a_length_sum_to_one(variant, kind, T, F, V) -> None:
    model = make(variant, kind, features=F if kind == "music" else None, vocab=V)
    batch = make_batch(every_sequence(kind, T, F, V))
    batch.x = batch.x.double() if kind == "music" else batch.x
    with torch.no_grad():
        lp = model.log_prob(batch)
    torch.testing.assert_close(lp.exp().sum(), torch.tensor(1.0, dtype=lp.dtype))
    terms = model(batch)
    torch.testing.assert_close(terms.recon, lp)
    assert (terms.kl == 0).all() and model.log_weights(batch, 9).shape == (1, len(lp))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", ["music", "text"])
def test_a_sequence_scores_the_same_alone_and_padded_in_a_batch(variant: str, kind: str) -> None:
    model = make(variant, kind, vocab=5)
    batch = random_batch([7, 4, 2], kind, vocab=5, seed=1)
    with torch.no_grad():
        together = model.log_prob(batch)
        for b, n in enumerate(batch.lengths.tolist()):
            alone = random_batch([7, 4, 2], kind, vocab=5, seed=1)
            single = make_batch([alone.x[b, :n].numpy()])
            single.x = single.x.double() if kind == "music" else single.x
            torch.testing.assert_close(model.log_prob(single)[0], together[b])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", ["music", "text"])
def test_every_parameter_gets_a_gradient(variant: str, kind: str) -> None:
    torch.manual_seed(0)
    cfg = tiny_config(variant, kind, 5)
    cfg.scale = True
    model = DiscreteFlowModel(cfg)
    batch = random_batch([6, 5, 3], kind, vocab=5)
    model(batch).loss.backward()
    for name, p in model.named_parameters():
        # the position table only has rows for the lengths seen
        if name.startswith("position") or name.endswith("base.table"):
            assert p.grad is not None and p.grad.abs().sum() > 0, name
            continue
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("variant", VARIANTS)
def test_text_samples_follow_the_density(variant: str) -> None:
    V, T = 3, 2
    model = make(variant, "text", vocab=V, seed=2)
    seqs = every_sequence("text", T, 1, V)
    batch = make_batch(seqs)
    with torch.no_grad():
        p = model.log_prob(batch).exp()
    order = {tuple(s.tolist()): i for i, s in enumerate(batch.x)}
    x = model.generate(torch.full((20000,), T), generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(torch.tensor([order[tuple(r)] for r in x.tolist()]), minlength=V**T)
    assert (counts.double() / counts.sum() - p).abs().max() < 0.015


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", ["music", "text"])
def test_generate_shapes_padding_and_reproducibility(variant: str, kind: str) -> None:
    model = make(variant, kind, vocab=5)
    lengths = torch.tensor([6, 2, 4])
    a = model.generate(lengths, generator=torch.Generator().manual_seed(3))
    b = model.generate(lengths, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    if kind == "music":
        assert (
            a.shape == (3, 6, 88) and a.dtype == torch.uint8 and set(a.unique().tolist()) <= {0, 1}
        )
        assert (a[1, 2:] == 0).all()
        on = model.generate(lengths, threshold=0.5)
        assert torch.equal(on, model.generate(lengths, threshold=0.5))  # no draws
    else:
        assert a.shape == (3, 6) and a.dtype == torch.int64 and (a[1, 2:] == 0).all()
        assert int(a.max()) < 5


def test_music_layers_cycle_keys_then_steps_and_text_alternates_positions() -> None:
    assert bipartite_schedule(5, music=True) == [
        ("features", 0),
        ("features", 1),
        ("time", 0),
        ("time", 1),
        ("features", 0),
    ]
    assert bipartite_schedule(3, music=False) == [("time", 0), ("time", 1), ("time", 0)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_logit_bound_reaches_every_layer_and_keeps_the_model_normalised(variant: str) -> None:
    torch.manual_seed(0)
    cfg = tiny_config(variant, "text", 4)
    cfg.num_flows, cfg.logit_bound, cfg.identity_bias = 3, 0.3, 1.0
    model = DiscreteFlowModel(cfg).eval()
    assert [layer.logit_bound for layer in model.flow.layers] == [0.3] * 3
    assert all(float(layer.offset[0, 0]) == 1.0 for layer in model.flow.layers)
    batch = make_batch(every_sequence("text", 3, 1, 4))
    with torch.no_grad():
        total = model.log_prob(batch).exp().sum()
    torch.testing.assert_close(total, torch.tensor(1.0, dtype=total.dtype))
