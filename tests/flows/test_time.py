"""Flows across time: the serial LSTM step, causality, padding, masks, dropout."""

from __future__ import annotations

import pytest
import torch

from lnfmusic.flows.hidden import HiddenFlow
from lnfmusic.flows.time import TIME_FLOWS, TimeFlow
from lnfmusic.flows.transforms import get_transform

pytestmark = pytest.mark.usefixtures("float64")

H, C = 3, 6


def _time_flow(kind: str, hidden_kind: str = "scf", dropout: float = 0.0) -> TimeFlow:
    hidden = HiddenFlow(hidden_kind, H, C, 8, 2, get_transform("nlsq"))
    flow = TIME_FLOWS[kind](hidden, H, C, num_layers=2, dropout=dropout, max_length=8)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return flow.eval()


@pytest.mark.parametrize("kind", ["af", "iaf"])
def test_serial_step_equals_the_parallel_lstm(kind: str) -> None:
    """The hand-rolled stacked-LSTM step used by the serial directions is the same function
    as the cuDNN-style ``nn.LSTM`` used by the parallel ones."""
    flow = _time_flow(kind)
    x = torch.randn(2, 7, H)
    ref, _ = flow.lstm(x)
    state = flow._init_state(x[:, 0])
    outs = []
    for t in range(7):
        out, state = flow._step(x[:, t], state)
        outs.append(out)
    torch.testing.assert_close(torch.stack(outs, 1), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["af", "iaf", "none"])
def test_causal_in_both_directions(kind: str) -> None:
    """Perturbing ``z_t`` changes no ``eps_s``, ``s < t``; perturbing ``eps_t`` changes no
    ``z_s``, ``s < t``; and both change step t itself."""
    flow = _time_flow(kind)
    lengths = torch.tensor([6, 6])
    eps = torch.randn(2, 6, H)
    z, _ = flow(eps, lengths)
    e0, _ = flow.inverse(z, lengths)
    for t in range(6):
        dz = z.clone()
        dz[:, t] += 1.0
        e1, _ = flow.inverse(dz, lengths)
        torch.testing.assert_close(e1[:, :t], e0[:, :t], rtol=0, atol=0)
        assert (e1[:, t] != e0[:, t]).any()
        de = eps.clone()
        de[:, t] += 1.0
        z1, _ = flow(de, lengths)
        torch.testing.assert_close(z1[:, :t], z[:, :t], rtol=0, atol=0)
        assert (z1[:, t] != z[:, t]).any()
        if kind != "none" and t < 5:  # the next step sees step t
            assert (e1[:, t + 1] != e0[:, t + 1]).any() and (z1[:, t + 1] != z[:, t + 1]).any()


@pytest.mark.parametrize("kind", ["af", "iaf", "none"])
def test_dropout_is_active_in_training_only(kind: str) -> None:
    flow = _time_flow(kind, dropout=0.5)
    lengths = torch.tensor([5, 4])
    z = torch.randn(2, 5, H)
    a, b = flow.inverse(z, lengths)[1], flow.inverse(z, lengths)[1]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    flow.train()
    c = flow.inverse(z, lengths)[1]
    if kind == "none":  # no LSTM, nothing to drop
        torch.testing.assert_close(c, a, rtol=0, atol=0)
    else:
        assert not torch.allclose(c, a)


def test_start_vector_is_used() -> None:
    flow = _time_flow("af")
    lengths = torch.tensor([3])
    z = torch.randn(1, 3, H)
    e0, _ = flow.inverse(z, lengths)
    with torch.no_grad():
        flow.start.add_(1.0)
    e1, _ = flow.inverse(z, lengths)
    assert (e1[:, 0] != e0[:, 0]).any()


@pytest.mark.parametrize("kind", ["af", "iaf", "none"])
def test_directions_share_one_convention(kind: str) -> None:
    """``forward`` and ``inverse`` return ``(output, ladj (B, T))``: the log-determinant of
    the map applied, so the inverse's is minus the forward's at the same points."""
    flow = _time_flow(kind)
    lengths = torch.tensor([5, 5])
    eps = torch.randn(2, 5, H)
    z, ladj_fwd = flow(eps, lengths)
    eps2, ladj_inv = flow.inverse(z, lengths)
    assert ladj_fwd.shape == ladj_inv.shape == (2, 5)
    torch.testing.assert_close(eps2, eps, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(ladj_inv, -ladj_fwd, rtol=1e-9, atol=1e-9)
