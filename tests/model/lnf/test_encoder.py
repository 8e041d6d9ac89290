"""The inference network q(z|x)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lnfmusic.model.likelihood import embed_inputs
from lnfmusic.model.lnf.encoder import Encoder
from tests.helpers import random_batch, tiny_config

pytestmark = pytest.mark.usefixtures("float64")


def make_encoder(kind: str = "music") -> Encoder:
    cfg = tiny_config(kind=kind)
    weight = nn.Parameter(torch.randn(cfg.output_dim, cfg.embed_dim))
    return Encoder(cfg, weight).eval()


def test_music_embedding_is_the_sum_of_the_active_notes() -> None:
    weight = torch.randn(88, 6)
    x = torch.zeros(1, 2, 88)
    x[0, 0, [3, 40, 70]] = 1.0
    out = embed_inputs(x, weight, "music")
    torch.testing.assert_close(out[0, 0], weight[3] + weight[40] + weight[70])
    torch.testing.assert_close(out[0, 1], torch.zeros(6))


def test_text_embedding_is_a_row_lookup() -> None:
    weight = torch.randn(5, 6)
    ids = torch.tensor([[4, 0, 2]])
    torch.testing.assert_close(embed_inputs(ids, weight, "text")[0], weight[[4, 0, 2]])


@pytest.mark.parametrize("kind", ["music", "text"])
def test_shapes_and_log_density_of_the_samples(kind: str) -> None:
    enc = make_encoder(kind)
    batch = random_batch([7, 5, 3], kind)
    S, H = 4, enc.out.out_features // 2
    mean, log_std = enc(batch.x, batch.lengths)
    assert mean.shape == log_std.shape == (3, 7, H)
    noise = torch.randn(S, 3, 7, H)
    z, log_q = enc.rsample(batch.x, batch.lengths, batch.mask, S, noise)
    assert z.shape == (S * 3, 7, H) and log_q.shape == (S * 3,)
    m = batch.mask[None, :, :, None].double()
    expected_z = (mean + log_std.exp() * noise) * m
    torch.testing.assert_close(z, expected_z.flatten(0, 1))
    normal = torch.distributions.Normal(mean, log_std.exp())
    expected = (normal.log_prob(expected_z) * m).sum((2, 3)).flatten(0, 1)
    torch.testing.assert_close(log_q, expected)
    assert torch.all(z.view(S, 3, 7, H)[:, 2, 3:] == 0)  # padding of the length-3 sequence


def test_outputs_of_a_sequence_do_not_depend_on_its_batch() -> None:
    enc = make_encoder()
    batch = random_batch([9, 4], "music", seed=1)
    mean, log_std = enc(batch.x, batch.lengths)
    alone_mean, alone_log_std = enc(batch.x[1:, :4], batch.lengths[1:])
    torch.testing.assert_close(mean[1, :4], alone_mean[0])
    torch.testing.assert_close(log_std[1, :4], alone_log_std[0])


def test_every_step_sees_the_whole_sequence() -> None:
    """A BiLSTM: changing the last step changes the first step's posterior, and back."""
    enc = make_encoder()
    batch = random_batch([6], "music", seed=2)
    mean, _ = enc(batch.x, batch.lengths)
    x = batch.x.clone()
    x[0, -1] = 1 - x[0, -1]
    mean2, _ = enc(x, batch.lengths)
    assert not torch.allclose(mean[0, 0], mean2[0, 0])
