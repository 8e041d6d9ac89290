"""Checkpoints: round trip, and one-line errors for anything that is not ours."""

from __future__ import annotations

import pickle
import warnings

import pytest
import torch

from lnfmusic.checkpoint import load_checkpoint, load_model, save_checkpoint
from lnfmusic.errors import LnfError
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
