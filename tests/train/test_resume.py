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


def _snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_resume_on_other_data_is_refused_before_anything_is_written(tmp_path) -> None:
    from lnfmusic.errors import LnfError

    data = synthetic_music(n_train=16, n_valid=4)
    run = tmp_path / "run"
    fit(tiny_run("lstm", epochs=1), data, run, progress=False)
    before = _snapshot(run)
    other_name = synthetic_music(n_train=16, n_valid=4)
    other_name.name = "nottingham"
    other_files = synthetic_music(n_train=15, n_valid=4)  # same name, one piece fewer
    other_kind = synthetic_music(n_train=16, n_valid=4)
    other_kind.meta = {**other_kind.meta, "steps_per_beat": 99}
    for other, match in (
        (other_name, "trained on 'synthetic', not 'nottingham'"),
        (other_files, "train \\+ valid lengths differ"),
        (other_kind, "metadata differ"),
    ):
        with pytest.raises(LnfError, match=match):
            fit(tiny_run("lstm", epochs=2), other, run, resume=True, progress=False)
        assert _snapshot(run) == before
    fit(tiny_run("lstm", epochs=2), data, run, resume=True, progress=False)  # its own data


def test_a_checkpoint_without_its_dataset_record_cannot_be_resumed(tmp_path) -> None:
    from lnfmusic.errors import LnfError

    data = synthetic_music(n_train=16, n_valid=4)
    run = tmp_path / "run"
    fit(tiny_run("lstm", epochs=1), data, run, progress=False)
    ckpt = torch.load(run / "last.pt", weights_only=True)
    del ckpt["dataset"]
    torch.save(ckpt, run / "last.pt")
    with pytest.raises(LnfError, match="no dataset record"):
        fit(tiny_run("lstm", epochs=2), data, run, resume=True, progress=False)
