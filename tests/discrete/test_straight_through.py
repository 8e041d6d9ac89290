"""The straight-through argmax: exact one-hot forward, softmax-temperature gradient."""

from __future__ import annotations

import pytest
import torch

from lnfmusic.discrete.straight_through import one_hot_argmax

pytestmark = pytest.mark.usefixtures("float64")


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("K", [2, 5, 51])
def test_forward_is_the_exact_one_hot_and_backward_the_softmax_jacobian(K: int, tau: float) -> None:
    logits = torch.randn(4, 3, K, requires_grad=True)
    g = torch.randn(4, 3, K)
    y = one_hot_argmax(logits, tau)
    assert (y.argmax(-1) == logits.argmax(-1)).all()
    assert ((y == 0) | (y == 1)).all() and (y.sum(-1) == 1).all()
    (y * g).sum().backward()
    ref = logits.detach().clone().requires_grad_()
    (torch.softmax(ref / tau, -1) * g).sum().backward()
    torch.testing.assert_close(logits.grad, ref.grad)


def test_masked_logits_are_never_chosen_and_get_no_gradient() -> None:
    logits = torch.randn(100, 6)
    logits[:, [0, 2, 3, 4]] = float("-inf")
    logits.requires_grad_()
    y = one_hot_argmax(logits)
    assert set(y.argmax(-1).tolist()) <= {1, 5}
    (y * torch.randn(100, 6)).sum().backward()
    assert (logits.grad[:, [0, 2, 3, 4]] == 0).all()


def test_temperature_must_be_positive() -> None:
    with pytest.raises(ValueError):
        one_hot_argmax(torch.zeros(2, 3), 0.0)
