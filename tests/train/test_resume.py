"""``resume=True`` continues exactly: 1 + 1 epochs equal 2 epochs straight."""

from __future__ import annotations

import pytest
import torch

from lnfmusic.train.loop import fit
from tests.helpers import synthetic_music, tiny_run


@pytest.mark.parametrize("model", ["af-af", "iaf-scf", "lstm"])
def test_resume_gives_identical_parameters(tmp_path, model: str) -> None:
    data = synthetic_music(n_train=16, n_valid=4)
    # dropout on, so the RNG state must be carried across the interruption too
    config = tiny_run(model, epochs=2)
    config.model.dropout = 0.2
    config.model.prior_dropout = 0.2
    config.model.num_layers = 2
    fit(config, data, tmp_path / "straight", progress=False)
    one = tiny_run(model, epochs=1)
    one.model.dropout = one.model.prior_dropout = 0.2
    one.model.num_layers = 2
    fit(one, data, tmp_path / "resumed", progress=False)
    fit(one, data, tmp_path / "resumed", resume=True, epochs=2, progress=False)
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 2 and a["step"] == b["step"]
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    lines_a = (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    lines_b = (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()
    assert len(lines_a) == len(lines_b) == 2
