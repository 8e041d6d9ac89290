"""``lnf train`` end to end on the tiny preset (real JSB and PTB files), and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from lnfmusic.checkpoint import load_model
from lnfmusic.cli.main import cli
from lnfmusic.config import RunConfig


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.mark.parametrize("dataset,model", [("jsb", "af-af"), ("ptb", "af-scf")])
def test_train_tiny_leaves_a_loadable_checkpoint(
    dataset: str, model: str, data_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    result = _run(
        [
            "train",
            "--dataset",
            dataset,
            "--model",
            model,
            "--preset",
            "tiny",
            "--run-dir",
            str(run_dir),
            "--data-dir",
            str(data_dir),
            "--device",
            "cpu",
            "--no-progress",
            "--epochs",
            "1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert (run_dir / "metrics.jsonl").read_text().count("\n") == 1
    for name in ("last.pt", "best.pt"):
        ckpt = torch.load(run_dir / name, weights_only=True)
        assert RunConfig.from_dict(ckpt["config"]).model.name == model
    bundle = load_model(run_dir / "best.pt")
    net, ckpt = bundle.model, bundle.checkpoint
    kind = "music" if dataset == "jsb" else "text"
    assert ckpt["dataset"]["kind"] == kind and net.config.data_kind == kind
    if kind == "text":
        assert net.config.output_dim == len(ckpt["dataset"]["meta"]["vocab"])


def test_toml_with_an_unknown_key_is_a_one_line_error(data_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[model]\nlatent_dim = 8\nlatnet_dim = 4\n")
    result = _run(
        [
            "train",
            "--dataset",
            "jsb",
            "--preset",
            "tiny",
            "--data-dir",
            str(data_dir),
            "--run-dir",
            str(tmp_path / "run"),
            "--config",
            str(config),
            "--no-progress",
        ]
    )
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "latnet_dim" in lines[0] and str(config) in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "run" / "last.pt").exists()


def test_missing_dataset_names_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("LNF_DATA_DIR", str(empty))
    monkeypatch.chdir(tmp_path)
    result = _run(
        [
            "train",
            "--dataset",
            "jsb",
            "--preset",
            "tiny",
            "--data-dir",
            str(empty),
            "--run-dir",
            str(tmp_path / "run"),
            "--no-progress",
        ]
    )
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(empty) in lines[0] and "jsb" in lines[0]
    assert "Traceback" not in result.output


def test_run_dir_that_cannot_be_created_is_a_one_line_error(data_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = _run(
        [
            "train",
            "--dataset",
            "jsb",
            "--preset",
            "tiny",
            "--data-dir",
            str(data_dir),
            "--run-dir",
            str(blocker / "run"),
            "--no-progress",
        ]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "run" in lines[0], lines
