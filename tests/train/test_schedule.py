"""KL annealing weights and the plateau learning-rate decay."""

from __future__ import annotations

import math

import pytest

from lnfmusic.config import TrainConfig
from lnfmusic.train.schedule import PlateauSchedule, kl_weight


def test_kl_weight_is_small_then_ramps_linearly_per_batch() -> None:
    cfg = TrainConfig(kl_zero_epochs=2, kl_ramp_epochs=4, kl_min_weight=1e-4)
    assert kl_weight(0.0, cfg) == kl_weight(1.99, cfg) == 1e-4
    assert kl_weight(2.0, cfg) == pytest.approx(1e-4)
    mid = 1e-4 + (1 - 1e-4) * 0.5
    assert kl_weight(4.0, cfg) == pytest.approx(mid)
    assert kl_weight(2.5, cfg) < kl_weight(2.75, cfg) < kl_weight(3.0, cfg)  # fractional
    assert kl_weight(6.0, cfg) == kl_weight(50.0, cfg) == 1.0


def test_no_ramp_means_full_weight_after_the_zero_phase() -> None:
    cfg = TrainConfig(kl_zero_epochs=0.5, kl_ramp_epochs=0)
    assert kl_weight(0.25, cfg) == cfg.kl_min_weight
    assert kl_weight(0.5, cfg) == 1.0


def test_plateau_divides_the_lr_after_patience_bad_epochs_once_annealed() -> None:
    cfg = TrainConfig(patience=2, lr_decay=4.0, min_lr=1e-5)
    s = PlateauSchedule(lr=1e-3)
    assert s.step(5.0, annealed=False, cfg=cfg)
    for _ in range(5):  # no decay before annealing is over
        assert not s.step(6.0, annealed=False, cfg=cfg)
    assert s.lr == 1e-3 and s.bad_epochs == 0
    assert not s.step(6.0, annealed=True, cfg=cfg)
    assert s.lr == 1e-3
    assert not s.step(5.5, annealed=True, cfg=cfg)
    assert s.lr == pytest.approx(2.5e-4) and s.bad_epochs == 0
    assert s.step(4.0, annealed=True, cfg=cfg) and s.best == 4.0


def test_nan_validation_counts_as_no_improvement_and_never_crashes() -> None:
    cfg = TrainConfig(patience=1, lr_decay=2.0, min_lr=1e-4)
    s = PlateauSchedule(lr=1e-3)
    assert not s.step(math.nan, annealed=True, cfg=cfg)
    assert not s.step(math.inf, annealed=True, cfg=cfg)
    assert s.best == math.inf and s.lr == pytest.approx(2.5e-4)
    for _ in range(10):
        s.step(math.nan, annealed=True, cfg=cfg)
    assert s.lr == 1e-4  # floored at min_lr
    assert PlateauSchedule(**s.state_dict()) == s


def test_an_lr_below_min_lr_is_never_raised_to_it() -> None:
    cfg = TrainConfig(lr=1e-6, patience=1, lr_decay=4.0, min_lr=1e-5)
    s = PlateauSchedule(lr=1e-6)
    for _ in range(3):
        s.step(math.nan, annealed=True, cfg=cfg)
    assert s.lr == 1e-6


def test_early_stop_counts_annealed_epochs_since_the_best_across_lr_decays() -> None:
    cfg = TrainConfig(patience=2, early_stop=3)
    s = PlateauSchedule(lr=1e-3)
    assert s.step(5.0, annealed=False, cfg=cfg)
    s.step(6.0, annealed=False, cfg=cfg)  # not annealed yet: does not count
    assert s.since_best == 0 and not s.should_stop(cfg)
    s.step(6.0, annealed=True, cfg=cfg)
    s.step(6.0, annealed=True, cfg=cfg)  # lr decays here; the early-stop count goes on
    assert s.lr < 1e-3 and s.bad_epochs == 0 and s.since_best == 2
    assert not s.should_stop(cfg)
    s.step(6.0, annealed=True, cfg=cfg)
    assert s.should_stop(cfg)
    assert s.step(4.0, annealed=True, cfg=cfg) and not s.should_stop(cfg)  # a new best resets
    assert not s.should_stop(TrainConfig(early_stop=None))
    assert PlateauSchedule(**s.state_dict()) == s
