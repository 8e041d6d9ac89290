"""Position embeddings: distance from the start and from the end, clamped, device-safe."""

from __future__ import annotations

import pytest
import torch

from lnfmusic.nn.position import PositionEmbedding

pytestmark = pytest.mark.usefixtures("float64")


def test_equals_two_one_hots_through_a_linear_layer() -> None:
    """The LNF one-hot conditioning, written out, is the same function."""
    emb = PositionEmbedding(max_length=7, dim=4)
    lengths = torch.tensor([5, 2, 7])
    T = 7
    out = emb(lengths, T)
    assert out.shape == (3, T, 4)
    eye = torch.eye(7)
    for b, n in enumerate(lengths.tolist()):
        for t in range(n):
            one_hots = eye[t] @ emb.start.weight + eye[n - 1 - t] @ emb.end.weight
            torch.testing.assert_close(out[b, t], one_hots)


def test_real_steps_do_not_depend_on_the_padded_width() -> None:
    emb = PositionEmbedding(max_length=10, dim=3)
    lengths = torch.tensor([4, 2])
    torch.testing.assert_close(emb(lengths, 4), emb(lengths, 9)[:, :4])


def test_long_sequences_are_clamped_and_finite() -> None:
    emb = PositionEmbedding(max_length=5, dim=3)
    out = emb(torch.tensor([12, 3]), 12)
    assert torch.isfinite(out).all()
    # beyond max_length the rows of the last position are reused
    torch.testing.assert_close(out[0, 11], emb.start.weight[4] + emb.end.weight[0])
    torch.testing.assert_close(out[0, 0], emb.start.weight[0] + emb.end.weight[4])


def test_every_weight_used_gets_a_gradient() -> None:
    emb = PositionEmbedding(max_length=6, dim=3)
    emb(torch.tensor([6, 3]), 6).sum().backward()
    assert (emb.start.weight.grad.abs().sum(1) > 0).all()
    assert (emb.end.weight.grad.abs().sum(1) > 0).all()
