"""Checkpoints: round trip, format versions and the migration of format 1, and one-line
errors for anything that is not ours."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import pytest
import torch

from lnfmusic.checkpoint import (
    FORMAT_VERSION,
    DatasetInfo,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from lnfmusic.config import EvalConfig
from lnfmusic.data.dataset import load_dataset
from lnfmusic.errors import LnfError
from lnfmusic.evaluate import evaluate_checkpoint
from lnfmusic.train.loop import fit
from tests.helpers import synthetic_music, tiny_run


def _one_line(e: pytest.ExceptionInfo, path) -> None:
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg


def test_round_trip(tmp_path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"model": {"w": torch.arange(3.0)}, "epoch": 4})
    ckpt = load_checkpoint(path)
    assert ckpt["format"] == "lnfmusic-checkpoint" and ckpt["epoch"] == 4
    assert torch.equal(ckpt["model"]["w"], torch.arange(3.0))
    assert torch.load(path, weights_only=True)["epoch"] == 4
    assert not list(tmp_path.glob("*.tmp*"))  # atomic write leaves no temporary behind


def test_load_model_rebuilds_the_trained_model(tmp_path) -> None:
    fit(tiny_run(epochs=1), synthetic_music(8, 4), tmp_path, progress=False)
    bundle = load_model(tmp_path / "last.pt")
    model, ckpt = bundle.model, bundle.checkpoint
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, ckpt["model"][k])


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02garbage" * 100, b"PK\x03\x04 truncated zip", pickle.dumps({"a": 1})],
    ids=["empty", "random", "bad-zip", "plain-pickle"],
)
def test_not_a_checkpoint(tmp_path, content: bytes) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(LnfError) as e, warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's own warnings must not reach the user
        load_checkpoint(path)
    _one_line(e, path)
    assert "weights_only" not in str(e.value), "torch's advice to disable safety is not ours"


class _RunsCode:
    """A pickle that would call a function on load (here a harmless one that leaves a mark)."""

    def __init__(self, mark: Path):
        self.mark = mark

    def __reduce__(self):
        return (Path.touch, (self.mark,))


def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path) -> None:
    path, mark = tmp_path / "evil.pt", tmp_path / "ran"
    torch.save({"model": _RunsCode(mark)}, path)
    with pytest.raises(LnfError) as e:
        load_checkpoint(path)
    _one_line(e, path)
    message = str(e.value)
    assert "not a safe checkpoint" in message and "GLOBAL" in message  # names what it found
    for advice in ("weights_only", "trust", "add_safe_globals", "allowlist"):
        assert advice not in message
    assert not mark.exists()


def test_a_foreign_torch_file(tmp_path) -> None:
    path = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    with pytest.raises(LnfError) as e:
        load_checkpoint(path)
    _one_line(e, path)
    torch.save([1, 2, 3], path)
    with pytest.raises(LnfError) as e:
        load_checkpoint(path)
    _one_line(e, path)


def test_a_truncated_checkpoint(tmp_path) -> None:
    good = tmp_path / "good.pt"
    save_checkpoint(good, {"model": {"w": torch.randn(100)}})
    bad = tmp_path / "cut.pt"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(LnfError) as e:
        load_checkpoint(bad)
    _one_line(e, bad)


def test_missing_file_and_mismatched_weights(tmp_path) -> None:
    with pytest.raises(LnfError) as e:
        load_checkpoint(tmp_path / "nope.pt")
    _one_line(e, tmp_path / "nope.pt")
    fit(tiny_run(epochs=1), synthetic_music(8, 4), tmp_path / "run", progress=False)
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    ckpt["model"] = {k: v for i, (k, v) in enumerate(ckpt["model"].items()) if i > 0}
    path = tmp_path / "broken.pt"
    torch.save(ckpt, path)
    with pytest.raises(LnfError) as e:
        load_model(path)
    _one_line(e, path)


FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Written by lnfmusic at commit bb78758 (format 1: a flat model config naming the model),
# exports of tiny-preset JSB runs; the numbers are what that code's `lnf evaluate --samples 5
# --elbo-samples 2` printed for them (JSB test split, seed 0).
FORMAT1 = {
    "format1-lstm-tiny.pt": ("lstm", "lstm", 58.92180957903656),
    "format1-iaf-scf-tiny.pt": ("iaf-scf", "lnf", 58.73349889755558),
}


@pytest.mark.parametrize("name", sorted(FORMAT1))
def test_a_format1_checkpoint_loads_through_the_migration(name: str, data_dir: Path) -> None:
    model_name, family, recorded_nll = FORMAT1[name]
    raw = torch.load(FIXTURES / name, weights_only=True)
    assert "format_version" not in raw and raw["config"]["model"]["model"] == model_name
    ckpt = load_checkpoint(FIXTURES / name)
    assert ckpt["format_version"] == 2 and ckpt["config"]["model"]["family"] == family
    bundle = load_model(FIXTURES / name)
    assert bundle.name == model_name and bundle.config.model.family == family
    if family == "lstm":  # the flow options an LSTM never used are gone
        assert not hasattr(bundle.config.model, "latent_dim")
    result = evaluate_checkpoint(
        bundle, load_dataset("jsb", data_dir), EvalConfig(num_samples=5, elbo_samples=2)
    )
    assert result.splits["test"].metrics()["nll_paper"] == pytest.approx(recorded_nll, rel=1e-9)


def test_the_current_format_is_written_and_a_newer_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"epoch": 1})
    assert torch.load(path, weights_only=True)["format_version"] == FORMAT_VERSION == 2
    future = tmp_path / "future.pt"
    torch.save({"format": "lnfmusic-checkpoint", "format_version": 99}, future)
    with pytest.raises(LnfError, match="newer") as e:
        load_checkpoint(future)
    _one_line(e, future)


def test_a_full_disk_during_a_save_is_one_line_and_leaves_the_old_file(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"model": {"w": torch.zeros(3)}})
    before = path.read_bytes()

    def full_disk(*args, **kwargs):  # what torch's zip writer raises on ENOSPC
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(LnfError, match="could not write the file .*torch.save failed") as e:
        save_checkpoint(path, {"model": {"w": torch.ones(3)}})
    _one_line(e, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"], "no temporary file is left"


def test_a_dataset_record_without_its_priors_rule_gets_the_rule_of_its_time() -> None:
    probs = {"probs": [0.0, 0.5, 0.0, 0.5]}  # a plain histogram: text before issue 15
    text = DatasetInfo.from_dict({"name": "t", "kind": "text", "length_prior": probs})
    assert (text.length_prior.smoothing, text.length_prior.extend) == (0.0, 1.0)
    music = DatasetInfo.from_dict({"name": "m", "kind": "music", "length_prior": probs})
    assert (music.length_prior.smoothing, music.length_prior.extend) == (1.0, 1.25)


@pytest.mark.parametrize(
    "edit,words",
    [
        (lambda c: c.pop("model"), ["lacks model"]),
        (lambda c: c.pop("config"), ["lacks config"]),
        (lambda c: c["dataset"].pop("kind"), ["lacks dataset.kind"]),
        (lambda c: c.__setitem__("dataset", [1]), ["dataset (a record)"]),
        (lambda c: c["dataset"]["length_prior"].__setitem__("probs", [0.0, 0.0]), ["damaged"]),
    ],
)
def test_an_edited_checkpoint_names_what_is_missing_or_damaged(
    tmp_path: Path, edit, words: list[str]
) -> None:
    from lnfmusic.checkpoint import DatasetInfo as Info
    from lnfmusic.data.length_prior import LengthPrior

    info = Info("x", "music", {}, LengthPrior.for_data("music", [3, 4]))
    ckpt = {"config": {}, "dataset": info.to_dict(), "model": {}}
    edit(ckpt)
    save_checkpoint(tmp_path / "c.pt", ckpt)
    with pytest.raises(LnfError) as e:
        load_model(tmp_path / "c.pt")
    assert all(w in str(e.value) for w in words), str(e.value)


@pytest.mark.parametrize("weights", [{"w": 1}, {"w": [1.0, 2.0]}, [torch.zeros(1)]])
def test_weights_that_are_not_tensors_are_named_on_export_and_load(tmp_path: Path, weights) -> None:
    from lnfmusic.checkpoint import DatasetInfo as Info
    from lnfmusic.checkpoint import export_checkpoint
    from lnfmusic.data.length_prior import LengthPrior

    info = Info("x", "music", {}, LengthPrior.for_data("music", [3, 4]))
    save_checkpoint(tmp_path / "c.pt", {"config": {}, "dataset": info.to_dict(), "model": weights})
    for call in (
        lambda: export_checkpoint(tmp_path / "c.pt", tmp_path / "e.pt", half=True),
        lambda: load_model(tmp_path / "c.pt"),
    ):
        with pytest.raises(LnfError, match="lacks model \\(a dict of tensors\\)"):
            call()
    assert not (tmp_path / "e.pt").exists()
