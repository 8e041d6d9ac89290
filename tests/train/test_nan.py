"""A non-finite loss never corrupts a run: one bad batch is skipped, persistent ones stop it
with a clear error while the last good checkpoint survives."""

from __future__ import annotations

import json

import pytest
import torch

from lnfmusic.errors import LnfError
from lnfmusic.model.lnf.model import LNFModel
from lnfmusic.train.loop import fit
from tests.helpers import synthetic_music, tiny_run


def _poison(monkeypatch: pytest.MonkeyPatch, bad) -> list[int]:
    """Make ``LNFModel``'s terms NaN on the training calls selected by ``bad``."""
    original = LNFModel.sample_terms
    calls: list[int] = []

    def sample_terms(self, batch, num_samples, noise=None):
        terms = original(self, batch, num_samples, noise)
        if self.training:
            calls.append(len(calls))
            if bad(len(calls) - 1):
                terms = tuple(v * float("nan") for v in terms)
        return terms

    monkeypatch.setattr(LNFModel, "sample_terms", sample_terms)
    return calls


def test_a_single_nan_batch_is_skipped(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _poison(monkeypatch, lambda i: i == 1)
    summary = fit(tiny_run(epochs=2), synthetic_music(24, 8), tmp_path, progress=False)
    records = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(calls) == 6  # 3 batches per epoch, all attempted
    assert [r["skipped_batches"] for r in records] == [1, 0]
    assert summary["steps"] == 5 and summary["skipped_batches"] == 1
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
    assert all(r["valid_elbo_nats_per_step"] is not None for r in records)


def test_persistent_nan_stops_and_keeps_the_last_checkpoint(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _poison(monkeypatch, lambda i: i >= 3)  # epoch 1 (3 batches) is fine, then NaN forever
    config = tiny_run(epochs=3)
    config.train.max_nonfinite = 2
    run_dir = tmp_path / "run"
    with pytest.raises(LnfError) as info:
        fit(config, synthetic_music(24, 8), run_dir, progress=False)
    message = str(info.value)
    assert "\n" not in message
    assert str(run_dir) in message and "non-finite" in message and "last.pt" in message
    ckpt = torch.load(run_dir / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1


def test_weights_that_become_non_finite_never_replace_the_last_good_checkpoint(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lnfmusic.checkpoint import load_model
    from lnfmusic.train import loop

    data, run = synthetic_music(16, 4), tmp_path / "run"
    fit(tiny_run("lstm", epochs=1), data, run, progress=False)
    good = (run / "last.pt").read_bytes()
    lines = (run / "metrics.jsonl").read_text()
    original = loop.train_step

    def diverging(state, *args, **kwargs):  # a finite loss, then an infinite weight
        out = original(state, *args, **kwargs)
        with torch.no_grad():
            next(state.model.parameters()).fill_(float("inf"))
        return out

    monkeypatch.setattr(loop, "train_step", diverging)
    with pytest.raises(LnfError, match="non-finite in epoch 2 .*last.pt keeps the last good"):
        fit(tiny_run("lstm", epochs=2), data, run, resume=True, epochs=2, progress=False)
    assert (run / "last.pt").read_bytes() == good
    assert (run / "metrics.jsonl").read_text() == lines

    # a checkpoint that holds such weights (written by anything) is refused on load
    ckpt = torch.load(run / "last.pt", weights_only=True)
    name = next(iter(ckpt["model"]))
    ckpt["model"][name] = torch.full_like(ckpt["model"][name], float("nan"))
    torch.save(ckpt, tmp_path / "nan.pt")
    with pytest.raises(LnfError, match=f"non-finite weights \\({name}"):
        load_model(tmp_path / "nan.pt")


def test_an_overwriting_run_that_diverges_in_its_first_epoch_leaves_the_earlier_run(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error does not call the earlier run's last.pt this run's last good epoch."""
    from lnfmusic.train import loop

    data, run = synthetic_music(16, 4), tmp_path / "run"
    fit(tiny_run("lstm", epochs=1), data, run, progress=False)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    original = loop.train_step

    def diverging(state, *args, **kwargs):
        out = original(state, *args, **kwargs)
        with torch.no_grad():
            next(state.model.parameters()).fill_(float("inf"))
        return out

    monkeypatch.setattr(loop, "train_step", diverging)
    with pytest.raises(LnfError, match="non-finite in epoch 1 .*no checkpoint was written"):
        fit(tiny_run("lstm", epochs=1), data, run, overwrite=True, progress=False)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
