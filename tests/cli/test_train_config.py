"""``lnf train`` configuration through the CLI: the saved config, resuming, run-dir names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from lnfmusic.cli.main import cli
from lnfmusic.cli.train_cmd import default_run_dir
from lnfmusic.train.run_files import METRICS


def test_default_run_dir_is_a_safe_name() -> None:
    assert default_run_dir("jsb", "af-af", "small") == Path("runs/jsb-af-af-small")
    assert "/" not in default_run_dir("text:/a/b.txt", "lstm", "tiny").name


def write_text_dataset(path: Path) -> Path:
    lines = ["abc ab", "ba cab", "abba c", "cab ab", "a b c", "cc ba", "abc", "bca a"] * 3
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_cli_saves_the_resolved_config_and_resumes(tmp_path: Path, one_thread: None) -> None:
    text = write_text_dataset(tmp_path / "lines.txt")
    run_dir = tmp_path / "run"
    toml = tmp_path / "c.toml"
    toml.write_text("[model]\nlatent_dim = 3\n")
    args = [
        "train",
        "--dataset",
        f"text:{text}",
        "--model",
        "af-af",
        "--preset",
        "tiny",
        "--run-dir",
        str(run_dir),
        "--device",
        "cpu",
        "--no-progress",
        "--config",
        str(toml),
        "--epochs",
        "1",
        "--batch-size",
        "4",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "best valid ELBO" in result.stdout and "bits/char" in result.stdout
    stored = json.loads((run_dir / "config.json").read_text())
    assert stored["model"]["latent_dim"] == 3 and stored["train"]["batch_size"] == 4
    assert stored["train"]["epochs"] == 1 and stored["model"]["data_kind"] == "text"
    resumed = CliRunner().invoke(
        cli,
        [
            "train",
            "--dataset",
            f"text:{text}",
            "--preset",
            "tiny",
            "--run-dir",
            str(run_dir),
            "--device",
            "cpu",
            "--no-progress",
            "--resume",
            "--epochs",
            "2",
        ],
    )
    assert resumed.exit_code == 0, resumed.output
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2]
    assert json.loads((run_dir / "config.json").read_text())["model"]["latent_dim"] == 3


def test_resume_without_a_checkpoint_is_a_one_line_error(tmp_path: Path) -> None:
    text = write_text_dataset(tmp_path / "lines.txt")
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--dataset",
            f"text:{text}",
            "--preset",
            "tiny",
            "--run-dir",
            str(tmp_path / "run"),
            "--resume",
            "--no-progress",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert "Traceback" not in result.output and len(lines) == 1  # checked before "resuming"
    assert lines[-1].startswith("error:") and "last.pt" in lines[-1]


def test_a_run_interrupted_in_its_first_epoch_can_simply_be_started_again(
    tmp_path: Path, one_thread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C before the first save leaves config.json and an empty metrics.jsonl: nothing
    to resume (no last.pt) and nothing to lose, so the same command starts the run again
    instead of asking for --resume (which would fail) or --overwrite."""
    from lnfmusic.train import loop

    text = write_text_dataset(tmp_path / "lines.txt")
    args = ["train", "--dataset", f"text:{text}", "--model", "lstm", "--preset", "tiny"]
    args += ["--run-dir", str(tmp_path / "run"), "--no-progress", "--device", "cpu"]

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(loop, "train_epoch", interrupted)
        first = CliRunner().invoke(cli, args)
    assert first.exit_code == 130, first.output
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json", METRICS]
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert (tmp_path / "run" / "last.pt").is_file()
