"""Run directories: a fresh start clears old results (with a note), a resume keeps the
metrics of checkpointed epochs only, checkpoints land atomically."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
import torch
from rich.console import Console

from lnfmusic.checkpoint import load_checkpoint
from lnfmusic.config import preset
from lnfmusic.errors import LnfError
from lnfmusic.train.run_files import RunFiles, check_run_dir, finite_or_none, previous_run


def test_a_fresh_start_creates_empty_metrics(tmp_path: Path) -> None:
    run = RunFiles(tmp_path / "run")
    assert not run.dir.exists() and run.last.name == "last.pt"  # nothing before the start
    quiet = Console(file=io.StringIO())
    run.start_fresh(quiet)
    assert run.dir.is_dir()
    assert run.metrics.read_text() == "" and quiet.file.getvalue() == "" and not run.replacing


def _earlier_run(folder: Path) -> dict[str, bytes]:
    """A finished one-epoch run in ``folder``; returns its files' contents."""
    earlier = RunFiles(folder)
    earlier.write_config(preset("tiny"))
    earlier.append_metrics({"epoch": 1, "run": "earlier"})
    earlier.save({"model": {"w": torch.zeros(1)}, "epoch": 1}, best=True)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("first_is_best", [True, False])
def test_an_earlier_run_is_replaced_only_when_the_first_epoch_is_saved(
    tmp_path: Path, first_is_best: bool
) -> None:
    before = _earlier_run(tmp_path)
    run = RunFiles(tmp_path)
    console = Console(file=io.StringIO(), width=300)
    run.start_fresh(console)
    assert "overwriting the earlier run" in console.file.getvalue() and run.replacing
    run.write_config(preset("small"))  # held back
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    run.append_metrics({"epoch": 1, "run": "new"})
    run.save({"model": {"w": torch.ones(1)}, "epoch": 1}, best=first_is_best)
    assert [json.loads(x)["run"] for x in run.metrics.read_text().splitlines()] == ["new"]
    assert load_checkpoint(run.last)["model"]["w"].item() == 1.0
    assert run.best.exists() == first_is_best  # never the earlier run's best.pt
    assert json.loads(run.config.read_text())["preset"] == "small"
    run.append_metrics({"epoch": 2, "run": "new"})  # appends from now on
    assert run.metrics.read_text().count("\n") == 2 and not run.replacing


@pytest.mark.parametrize("failing", [1, 2])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_first_save_that_fails_leaves_the_earlier_run_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: int, error: type
) -> None:
    """A full disk (torch's RuntimeError) or a kill during either checkpoint of the first
    save over an earlier run: no file of the earlier run is replaced or lost."""
    before = _earlier_run(tmp_path)
    run = RunFiles(tmp_path)
    run.start_fresh(Console(file=io.StringIO()))
    run.write_config(preset("small"))
    run.append_metrics({"epoch": 1, "run": "new"})
    calls, save = [], torch.save

    def fails(obj, f, *args, **kwargs):
        calls.append(f)
        if len(calls) == failing:
            raise error("[enforce fail at inline_container.cc] . 28")
        return save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", fails)
    with pytest.raises((LnfError, KeyboardInterrupt)):
        run.save({"model": {"w": torch.ones(1)}, "epoch": 1}, best=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_keep_metrics_upto_drops_later_and_broken_lines(tmp_path: Path) -> None:
    run = RunFiles(tmp_path)
    lines = [json.dumps({"epoch": e}) for e in (1, 2, 3)] + ["{not json", '{"no": "epoch"}']
    run.metrics.write_text("\n".join(lines) + "\n")
    run.keep_metrics_upto(2)
    assert [json.loads(x)["epoch"] for x in run.metrics.read_text().splitlines()] == [1, 2]
    missing = RunFiles(tmp_path / "other")
    missing.keep_metrics_upto(5)
    assert missing.metrics.read_text() == ""


def test_save_writes_last_always_and_best_on_request(tmp_path: Path) -> None:
    run = RunFiles(tmp_path)
    run.save({"epoch": 1}, best=False)
    assert run.last.exists() and not run.best.exists()
    run.save({"epoch": 2}, best=True)
    assert load_checkpoint(run.best)["epoch"] == 2 == load_checkpoint(run.last)["epoch"]
    assert not list(tmp_path.glob("*.tmp*"))


def test_config_json_and_finite_values(tmp_path: Path) -> None:
    run = RunFiles(tmp_path)
    config = preset("tiny", "music", "lstm")
    run.write_config(config)
    assert json.loads(run.config.read_text()) == config.to_dict()
    assert finite_or_none(1.5) == 1.5 and finite_or_none(math.nan) is None
    assert finite_or_none(math.inf) is None


def test_a_metrics_append_that_fails_is_a_one_line_error(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from lnfmusic.errors import LnfError
    from lnfmusic.train import run_files

    run = RunFiles(tmp_path / "run")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_files, "open", no_space, raising=False)
    with pytest.raises(LnfError, match="No space left on device") as e:
        run.append_metrics({"epoch": 1})
    assert str(run.metrics) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("name", ["best.pt", "last.pt", "metrics.jsonl"])
def test_a_fresh_run_refuses_a_folder_with_an_earlier_run_unless_overwriting(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / name).write_text("x")
    assert previous_run(tmp_path) == [name]
    (tmp_path / "config.json").write_text("x")  # listed beside them
    assert previous_run(tmp_path) == [name, "config.json"]
    with pytest.raises(
        LnfError, match=f"holds an earlier run \\({name}, config.json\\).*--overwrite"
    ):
        check_run_dir(tmp_path, resume=False)
    check_run_dir(tmp_path, resume=False, overwrite=True)
    check_run_dir(tmp_path, resume=True) if name == "last.pt" else None
    assert (tmp_path / name).read_text() == "x"


def test_empty_folders_empty_metrics_and_other_files_are_no_earlier_run(tmp_path: Path) -> None:
    check_run_dir(tmp_path / "missing", resume=False)
    (tmp_path / "metrics.jsonl").write_text("")
    (tmp_path / "config.json").write_text("{}")  # a run stopped in its first epoch
    assert previous_run(tmp_path) == []
    (tmp_path / "notes.txt").write_text("mine")
    check_run_dir(tmp_path, resume=False)
    with pytest.raises(LnfError, match="no last.pt"):
        check_run_dir(tmp_path, resume=True)
    (tmp_path / "file").write_text("")
    with pytest.raises(LnfError, match="is a file"):
        check_run_dir(tmp_path / "file", resume=False)
