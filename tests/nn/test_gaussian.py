"""Gaussian log-densities."""

from __future__ import annotations

import math

import pytest
import torch

from lnfmusic.nn.gaussian import HALF_LOG_2PI, standard_normal_log_prob

pytestmark = pytest.mark.usefixtures("float64")


def test_standard_normal_log_prob() -> None:
    eps = torch.randn(4, 5)
    ref = torch.distributions.Normal(0.0, 1.0).log_prob(eps).sum(-1)
    torch.testing.assert_close(standard_normal_log_prob(eps), ref)
    assert HALF_LOG_2PI == 0.5 * math.log(2 * math.pi)
