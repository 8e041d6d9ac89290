"""Gaussian log-densities shared by the posterior (encoder) and the flow prior's base."""

from __future__ import annotations

import math

from torch import Tensor

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def standard_normal_log_prob(eps: Tensor) -> Tensor:
    """``log N(eps; 0, I)`` summed over the last dimension."""
    return (-0.5 * eps * eps - HALF_LOG_2PI).sum(-1)
