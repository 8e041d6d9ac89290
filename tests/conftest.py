"""Shared fixtures: the device option, float64 for numerical tests, one torch thread, the
real data directory, a local HTTP server."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from tests.helpers import start_server


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", default="cpu", help="device for tensor tests (cpu, cuda, cuda:N)")


@pytest.fixture
def device(request: pytest.FixtureRequest) -> torch.device:
    return torch.device(request.config.getoption("--device"))


@pytest.fixture
def float64(device: torch.device) -> Iterator[None]:
    """Numerical tests: float64 by default, and tensors created without a device on
    ``--device``. Use it module-wide with ``pytestmark = pytest.mark.usefixtures("float64")``."""
    dtype, default = torch.get_default_dtype(), torch.get_default_device()
    torch.set_default_dtype(torch.float64)
    torch.set_default_device(device)
    yield
    torch.set_default_dtype(dtype)
    torch.set_default_device(default)


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    """Small LSTMs run far faster on one thread, above all on a shared, busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def data_dir() -> Path:
    """The real datasets (``$LNF_DATA_DIR``, else ``../shared/data`` beside the repo).

    Missing data fails the test when ``LNF_REQUIRE_DATA`` is set (as in CI), and skips it
    otherwise, so a user without the data can still run the suite.
    """
    env = os.environ.get("LNF_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "data")
    for path in candidates:
        if (path / "jsb_chorales.pickle").exists() or (path / "tcn_mat").exists():
            return path
    msg = f"real datasets not found (looked in {', '.join(map(str, candidates))}); set LNF_DATA_DIR"
    if os.environ.get("LNF_REQUIRE_DATA"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture
def serve(request: pytest.FixtureRequest) -> Callable[[Path], str]:
    """Start a local HTTP server for a folder; returns its base URL (shut down at the end)."""
    return functools.partial(start_server, request=request)
