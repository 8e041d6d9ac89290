"""The synthetic experiments' models, scoring and result files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from lnfmusic.errors import LnfError
from lnfmusic.experiments import synthetic as S
from lnfmusic.experiments import tasks

KINDS = ["AR base", "AR flow", "factorised base", "bipartite flow"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("D", "K"), [(3, 3), (2, 5)])
def test_every_model_is_normalised_and_above_the_entropy(kind: str, D: int, K: int) -> None:
    torch.manual_seed(D + K)
    probs = tasks.full_rank(D, K, torch.Generator().manual_seed(0))
    model = S.vector_model(kind, D, K, hidden=16, scale=K > 2)
    for p in model.parameters():  # not the near-uniform start: a model that says something
        p.data.normal_(0, 1.0)
    ce, mass = S.exact_cross_entropy(model, probs, D, K, chunk=7)
    assert mass == pytest.approx(1.0, abs=1e-5)
    assert ce >= tasks.entropy(probs) - 1e-6
    q = S.model_probs(model, D, K)
    assert float(q.sum()) == pytest.approx(1.0, abs=1e-5)
    assert ce == pytest.approx(float(-(probs * q.log()).sum()), rel=1e-6)


def test_potts_base_is_an_lstm() -> None:
    model = S.vector_model("AR flow", 9, 3, hidden=16, lstm_base=32)
    assert model.base.net.lstm.hidden_size == 32
    assert model.layers[0].logit_bound == S.LOGIT_BOUND


@pytest.mark.parametrize(("autoregressive", "flows"), [(True, 0), (True, 1), (False, 2)])
def test_addition_model_is_a_distribution_over_sums(autoregressive: bool, flows: int) -> None:
    torch.manual_seed(0)
    D = 2
    model = S.AdditionModel(D, 8, autoregressive=autoregressive, flows=flows)
    sums = tasks.digits(torch.arange(10**D), D, 10)
    inputs = torch.tensor([[[3, 9], [7, 5]]]).expand(len(sums), -1, -1)
    with torch.no_grad():
        total = float(model.log_prob(sums, inputs).double().exp().sum())
    assert total == pytest.approx(1.0, abs=1e-5)


def test_fit_learns_a_small_distribution() -> None:
    torch.manual_seed(0)
    D, K = 2, 3
    g = torch.Generator().manual_seed(3)
    probs = tasks.full_rank(D, K, g)
    s = S.Settings(steps=300, batch_size=128, train_size=5000, heldout_size=2000, hidden=32)
    row = S.train_vector_model(
        "full-rank", "D=2, K=2", "AR base", S.vector_model("AR base", D, K, 32), probs, D, K, s, g
    )
    assert row.cross_entropy < D * math.log(K) - 0.05  # better than uniform
    assert row.cross_entropy == pytest.approx(row.entropy, abs=0.05)
    assert abs(row.heldout_nll - row.cross_entropy) < 0.05


def test_settings_are_checked() -> None:
    with pytest.raises(LnfError, match="steps"):
        S.Settings(steps=0)
    with pytest.raises(LnfError, match="lr"):
        S.Settings(lr=0.0)


def test_unknown_task_fails_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(LnfError, match="unknown task 'nope'"):
        S.run(("ring", "nope"), S.Settings.make(quick=True), tmp_path, "test")
    assert not any(tmp_path.iterdir())


def test_rerunning_one_task_keeps_the_others(tmp_path: Path) -> None:
    stem = tmp_path / "discrete_flows_synthetic"
    meta = {"command": "c", "commit": "x", "hardware": "h", "seconds": 60.0}
    a = S.Row("ring", "90 x 90", "AR base", None, 1.0, 1.1, 1.05, 1.0, 0.9)
    b = S.Row("potts", "3 states, J=0.1", "AR base", 9.27, 9.9, 9.9, 9.9, 1.0, 9.87)
    S.write(stem, [a, b], {"ring": meta, "potts": meta})
    b2 = S.Row("potts", "3 states, J=0.1", "AR base", 9.27, 9.8, 9.8, 9.8, 1.0, 9.87)
    S.write(stem, [b2], {"potts": {**meta, "commit": "y"}})
    doc = json.loads(stem.with_suffix(".json").read_text())
    assert [(r["task"], r["train_nll"]) for r in doc["rows"]] == [("ring", 1.0), ("potts", 9.8)]
    assert doc["runs"]["ring"]["commit"] == "x" and doc["runs"]["potts"]["commit"] == "y"
    md = stem.with_suffix(".md").read_text()
    assert "## ring" in md and "## potts" in md and "| 3 states, J=0.1 | AR base | 9.27 |" in md
    stem.with_suffix(".json").write_text("not json")
    with pytest.raises(LnfError, match="not a results file"):
        S.write(stem, [a], {"ring": meta})


def test_one_hot_layout() -> None:
    x = S.one_hot(torch.tensor([5]), 2, 3)  # 5 = (1, 2)
    assert torch.equal(x, F.one_hot(torch.tensor([[[1], [2]]]), 3).float())


def test_make_applies_overrides_to_either_settings() -> None:
    assert S.Settings.make(train_size=500).train_size == 500
    quick = S.Settings.make(quick=True, train_size=300)
    assert quick.quick and quick.train_size == 300 and quick.steps == 30
    with pytest.raises(LnfError, match="train_size"):
        S.Settings.make(train_size=0)
