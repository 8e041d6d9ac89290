"""Training state: seeded creation, the checkpoint round trip (RNG states included) that
makes a resumed run continue exactly."""

from __future__ import annotations

import random

import numpy as np
import torch

from lnfmusic.checkpoint import DatasetInfo
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.train.state import TrainState, rng_state, set_rng_state
from tests.helpers import tiny_run


def _config():
    config = tiny_run("af-scf")
    config.model.max_length = 12
    return config


def test_create_is_seeded() -> None:
    a, b = TrainState.create(_config(), "cpu"), TrainState.create(_config(), "cpu")
    for (name, p), q in zip(a.model.named_parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q), name
    other = _config()
    other.train.seed = 1
    c = TrainState.create(other, "cpu")
    assert not torch.equal(next(c.model.parameters()), next(a.model.parameters()))
    assert a.optimizer.param_groups[0]["lr"] == _config().train.lr and a.epoch == a.step == 0


def test_rng_state_round_trip() -> None:
    state = rng_state()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(state)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1])
    assert expected[2] == again[2]


def test_checkpoint_round_trip_continues_exactly() -> None:
    config = _config()
    state = TrainState.create(config, "cpu")
    with torch.no_grad():
        for p in state.model.parameters():
            p.add_(0.01)
    state.epoch, state.step = 3, 17
    state.schedule.step(5.0, annealed=False, cfg=config.train)
    info = DatasetInfo("x", "music", {}, LengthPrior.from_lengths([3, 4]))
    ckpt = state.checkpoint(config, info, seconds=12.5)
    assert ckpt["epoch"] == 3 and ckpt["step"] == 17 and ckpt["best_valid"] == 5.0
    assert ckpt["dataset"]["name"] == "x" and ckpt["config"] == config.to_dict()
    draw = torch.rand(2)  # what the RNG gives next after the checkpoint

    restored = TrainState.create(config, "cpu")  # reseeds: a different RNG position
    restored.load(ckpt)
    assert torch.equal(torch.rand(2), draw)
    assert (restored.epoch, restored.step, restored.seconds) == (3, 17, 12.5)
    assert restored.schedule.best == 5.0
    for p, q in zip(restored.model.parameters(), state.model.parameters(), strict=True):
        assert torch.equal(p, q)
