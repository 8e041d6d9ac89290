"""KL annealing and the learning-rate decay on a validation plateau (SPEC 4)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from lnfmusic.config import TrainConfig


def kl_weight(epochs_done: float, cfg: TrainConfig) -> float:
    """``kl_min_weight`` for ``kl_zero_epochs``, then linear to 1 over ``kl_ramp_epochs``.

    ``epochs_done`` is fractional (epoch + batch / batches), so the weight moves per batch.
    """
    if epochs_done < cfg.kl_zero_epochs:
        return cfg.kl_min_weight
    if cfg.kl_ramp_epochs <= 0:
        return 1.0
    frac = (epochs_done - cfg.kl_zero_epochs) / cfg.kl_ramp_epochs
    return min(1.0, cfg.kl_min_weight + (1.0 - cfg.kl_min_weight) * frac)


@dataclass
class PlateauSchedule:
    """Divide the lr by ``lr_decay`` after ``patience`` epochs without a new best validation
    value, counting only once annealing is over. A non-finite value counts as no improvement
    (it never crashes the schedule)."""

    lr: float
    best: float = math.inf
    bad_epochs: int = 0  # since the last best or lr decay (drives the decay)
    since_best: int = 0  # annealed epochs since the last best (drives early stopping)

    def step(self, value: float, annealed: bool, cfg: TrainConfig) -> bool:
        """Record one epoch's validation value (lower is better); True if it is a new best."""
        improved = math.isfinite(value) and value < self.best
        if improved:
            self.best = value
            self.bad_epochs = self.since_best = 0
        elif annealed:
            self.bad_epochs += 1
            self.since_best += 1
            if self.bad_epochs >= cfg.patience:
                # never below min_lr, and never raised to it from below
                self.lr = max(self.lr / cfg.lr_decay, min(cfg.min_lr, self.lr))
                self.bad_epochs = 0
        return improved

    def should_stop(self, cfg: TrainConfig) -> bool:
        """True once ``cfg.early_stop`` annealed epochs in a row brought no new best."""
        return cfg.early_stop is not None and self.since_best >= cfg.early_stop

    def state_dict(self) -> dict:
        return asdict(self)
