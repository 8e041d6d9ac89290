"""The flow names (:mod:`lnfmusic.flows.names`) agree with what the package builds: every
prior is made of a built time flow and hidden layer, the name tuples are exactly the keys of
the builders, and the module stays free of torch (configs and the CLI read it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lnfmusic.flows import hidden, names, time
from lnfmusic.flows.hidden import HiddenFlow
from lnfmusic.flows.transforms import ScalarTransform, get_transform

ROOT = Path(__file__).resolve().parents[2]


def test_the_four_priors_of_the_paper() -> None:
    assert list(names.PRIORS) == ["af-af", "af-scf", "iaf-scf", "af-only"]
    assert names.PRIORS["iaf-scf"] == ("iaf", "scf")
    assert names.PRIORS["af-only"] == ("none", "af")


@pytest.mark.parametrize("prior", list(names.PRIORS))
def test_every_prior_is_made_of_built_flows(prior: str) -> None:
    time_name, hidden_name = names.PRIORS[prior]
    assert time_name in time.TIME_FLOWS
    assert hidden_name in hidden.LAYERS
    assert time_name in names.TIME_FLOWS and hidden_name in names.HIDDEN_FLOWS


def test_time_flow_names_are_the_built_ones() -> None:
    assert len(set(names.TIME_FLOWS)) == len(names.TIME_FLOWS)
    assert set(names.TIME_FLOWS) == set(time.TIME_FLOWS)
    assert all(issubclass(cls, time.TimeFlow) for cls in time.TIME_FLOWS.values())


def test_hidden_flow_names_are_the_built_ones() -> None:
    assert len(set(names.HIDDEN_FLOWS)) == len(names.HIDDEN_FLOWS)
    assert set(names.HIDDEN_FLOWS) == set(hidden.LAYERS)


@pytest.mark.parametrize("kind", names.HIDDEN_FLOWS)
def test_every_hidden_flow_name_builds(kind: str) -> None:
    flow = HiddenFlow(kind, 4, 3, 8, 2, get_transform("affine"))
    assert flow.kind == kind and len(flow.layers) == 2


@pytest.mark.parametrize("kind", names.TIME_FLOWS)
def test_every_time_flow_name_builds(kind: str) -> None:
    flow = time.TIME_FLOWS[kind](
        HiddenFlow("af", 4, 6, 8, 1, get_transform("affine")), 4, 6, 1, 0.0, 10
    )
    z, ladj = flow(torch.zeros(2, 3, 4), torch.tensor([3, 2]))
    assert z.shape == (2, 3, 4) and ladj.shape == (2, 3)


def test_an_unknown_hidden_flow_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown hidden flow"):
        HiddenFlow("iaf", 4, 3, 8, 1, get_transform("affine"))


def test_transform_names_are_those_get_transform_accepts() -> None:
    assert len(set(names.TRANSFORMS)) == len(names.TRANSFORMS)
    for name in names.TRANSFORMS:
        t = get_transform(name)
        assert isinstance(t, ScalarTransform) and t.name == name
    for other in ("spline", "NLSQ", "Affine", "", "none", "af", "scf"):
        with pytest.raises(ValueError):
            get_transform(other)


def test_importing_the_names_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import lnfmusic.flows.names as n\n"
        "assert n.PRIORS and n.TRANSFORMS\n"
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_the_subprocess_check_can_fail() -> None:
    """The same check on a module that does import torch fails."""
    code = "import sys\nimport lnfmusic.flows.transforms\nassert 'torch' not in sys.modules\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0
