"""Shared fixtures: the device option, float64 defaults, and the real data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", default="cpu", help="device for tensor tests (cpu, cuda, cuda:N)")


@pytest.fixture
def device(request: pytest.FixtureRequest) -> torch.device:
    return torch.device(request.config.getoption("--device"))


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


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
