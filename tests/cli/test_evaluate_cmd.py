"""``lnf evaluate`` end to end on tiny checkpoints trained here on synthetic data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from lnfmusic.cli.main import cli
from tests.helpers import train_tiny, write_jsb_like, write_text_lines


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval")
    data_dir = write_jsb_like(root / "data")
    text = write_text_lines(root / "lines.txt")
    torch.manual_seed(0)
    return {
        "data_dir": data_dir,
        "af-af": train_tiny("jsb", "af-af", root / "afaf", data_dir),
        "lstm": train_tiny("jsb", "lstm", root / "lstm", data_dir),
        "text": train_tiny(f"text:{text}", "iaf-scf", root / "text"),
    }


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def numbers(text: str) -> list[str]:
    return re.findall(r"-?\d+\.\d{3}\b", text)


def test_one_checkpoint_prints_both_normalisations(checkpoints: dict, tmp_path: Path) -> None:
    out_json = tmp_path / "r.json"
    code, out, err = run(
        "evaluate",
        str(checkpoints["af-af"]),
        "--samples",
        "3",
        "--elbo-samples",
        "2",
        "--data-dir",
        str(checkpoints["data_dir"]),
        "--split",
        "test",
        "--split",
        "valid",
        "--json",
        str(out_json),
        "--no-progress",
        "--device",
        "cpu",
    )
    assert code == 0, err
    assert "IS-NLL paper" in out and "IS-NLL per-frame" in out and "nats/step" in out
    assert "IS-NLL per note" in out and "nats per sounding note" in out
    doc = json.loads(out_json.read_text())
    (result,) = doc["results"]
    for split, n in (("test", 77), ("valid", 76)):
        r = result["splits"][split]
        assert r["num_sequences"] == n and r["samples"] == 3
        assert f"{r['nll_paper']:.3f}" in out and f"{r['nll_frame']:.3f}" in out
        # the per-frame number excludes p(T) but divides by fewer steps: both are finite
        assert np.isfinite(r["nll_paper"]) and np.isfinite(r["nll_frame"])
        assert r["neg_elbo_paper"] >= r["nll_paper"] - 0.05


def test_two_checkpoints_give_a_grid_and_same_seed_same_numbers(
    checkpoints: dict, tmp_path: Path
) -> None:
    args = [
        "evaluate",
        str(checkpoints["af-af"]),
        str(checkpoints["lstm"]),
        "--samples",
        "2",
        "--elbo-samples",
        "1",
        "--data-dir",
        str(checkpoints["data_dir"]),
        "--no-progress",
        "--device",
        "cpu",
    ]
    code, out, err = run(*args, "--json", str(tmp_path / "a.json"))
    assert code == 0, err
    assert "RNN-NADE (paper)" in out and "JSB" in out and "LSTM (ours, tiny)" in out
    assert "LNF AF/AF (ours, tiny)" in out and "exact" in out
    code, out2, _ = run(*args, "--json", str(tmp_path / "b.json"))
    assert code == 0
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    assert a["results"] == b["results"] and numbers(out) == numbers(out2)
    for label, row in a["grid"]["splits"]["test"].items():
        assert f"{row['JSB']:.3f}" in out, label


def test_text_checkpoint_in_bits_per_character(checkpoints: dict, tmp_path: Path) -> None:
    code, out, err = run(
        "evaluate",
        str(checkpoints["text"]),
        "--samples",
        "2",
        "--elbo-samples",
        "1",
        "--no-progress",
        "--device",
        "cpu",
        "--json",
        str(tmp_path / "t.json"),
    )
    assert code == 0, err
    assert "bpc" in out
    r = json.loads((tmp_path / "t.json").read_text())["results"][0]["splits"]["test"]
    assert r["unit"] == "bpc"
    assert r["sums_nats"]["nll"] / r["num_steps"] / np.log(2) == pytest.approx(r["nll_frame"])


def test_missing_dataset_is_a_one_line_error(
    checkpoints: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LNF_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.chdir(tmp_path)
    code, out, err = run("evaluate", str(checkpoints["af-af"]), "--no-progress")
    assert code == 1
    assert err.startswith("error:") and err.count("\n") == 1 and "not found" in err


def test_not_a_checkpoint_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"definitely not a checkpoint")
    code, _, err = run("evaluate", str(bad))
    assert code == 1 and err.startswith("error:") and err.count("\n") == 1 and "bad.pt" in err
    code, _, err = run("evaluate", str(tmp_path / "missing.pt"))
    assert code == 1 and err.count("\n") == 1


def test_unwritable_json_fails_before_evaluating(checkpoints: dict, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, out, err = run(
        "evaluate",
        str(checkpoints["af-af"]),
        "--data-dir",
        str(checkpoints["data_dir"]),
        "--json",
        str(blocker / "r.json"),
        "--no-progress",
    )
    assert code == 1 and err.startswith("error:") and err.count("\n") == 1, err
    assert "r.json" in err and "IS-NLL" not in out, "the check comes before the evaluation"


def shipped_folder(
    checkpoints: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: bool = True
) -> Path:
    """A model folder holding a music default, a named music model and (``text``) a model of
    a text file; no JSB data anywhere."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "default.pt").write_bytes(checkpoints["af-af"].read_bytes())
    (models / "jsb-lstm.pt").write_bytes(checkpoints["lstm"].read_bytes())
    if text:
        (models / "lines.pt").write_bytes(checkpoints["text"].read_bytes())
    monkeypatch.setenv("LNF_MODEL_DIR", str(models))
    monkeypatch.setenv("LNF_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)  # no ./datasets here
    return models


def test_without_checkpoints_the_shipped_models_with_data_are_evaluated(
    checkpoints: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped_folder(checkpoints, tmp_path, monkeypatch)
    code, out, err = run("evaluate", "--samples", "2", "--no-progress", "--device", "cpu")
    assert code == 0, err
    assert "lines.pt" in out and "bpc" in out  # the text file's model: its data is there
    assert "default.pt" not in out and "jsb-lstm.pt" not in out
    assert err == "skipped (dataset not present): default.pt (jsb), jsb-lstm.pt (jsb)\n"


def test_without_checkpoints_or_data_one_line_names_what_is_missing(
    checkpoints: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped_folder(checkpoints, tmp_path, monkeypatch, text=False)
    code, out, err = run("evaluate", "--no-progress")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "no shipped model could be evaluated" in err
    assert "default.pt (jsb), jsb-lstm.pt (jsb)" in err


def test_a_shipped_model_by_name_and_a_bad_name(
    checkpoints: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped_folder(checkpoints, tmp_path, monkeypatch)
    args = ("--samples", "2", "--no-progress", "--data-dir", str(checkpoints["data_dir"]))
    code, out, err = run("evaluate", "jsb-lstm", *args)
    assert code == 0 and "jsb-lstm.pt" in out, err
    code, out, err = run("evaluate", "nope", *args)
    assert code == 1 and err.count("\n") == 1
    assert "checkpoint nope: no such file, nor a shipped model" in err and "jsb-lstm" in err


def test_from_json_prints_the_grid_of_earlier_evaluations(
    checkpoints: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    common = ["--samples", "2", "--elbo-samples", "1", "--no-progress", "--device", "cpu"]
    data = ["--data-dir", str(checkpoints["data_dir"])]
    for name in ("af-af", "lstm"):
        code, _, err = run(
            "evaluate", str(checkpoints[name]), *common, *data, "--json", str(tmp_path / name)
        )
        assert code == 0, err
    together = tmp_path / "together.json"
    code, out, err = run(
        "evaluate", str(checkpoints["af-af"]), str(checkpoints["lstm"]), *common, *data,
        "--json", str(together),
    )  # fmt: skip
    assert code == 0, err
    # the two files give the grid and floor of one evaluation of both, number for number
    merged = tmp_path / "merged.json"
    code, out2, err = run(
        "evaluate", "--from-json", str(tmp_path / "af-af"), "--from-json", str(tmp_path / "lstm"),
        *data, "--json", str(merged),
    )  # fmt: skip
    assert code == 0, err
    a, b = json.loads(together.read_text()), json.loads(merged.read_text())
    assert a["grid"] == b["grid"] and a["floor"] == b["floor"] and a["results"] == b["results"]
    assert "independent Bernoulli floor" in out2 and "IS-NLL on test" in out2
    assert set(numbers(out2)) <= set(numbers(out))
    # without the data the floors stored in the files are used (the test data is named
    # "jsb": keep the real JSB, wherever LNF_DATA_DIR or ./datasets has it, out of reach)
    monkeypatch.delenv("LNF_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    code, out3, err = run("evaluate", "--from-json", str(merged), "--data-dir", str(tmp_path))
    assert code == 0, err
    assert numbers(out3) == numbers(out2)


def test_from_json_errors_are_one_line(checkpoints: dict, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"results": [{"checkpoint": "x"}]}')
    cases = [
        (["--from-json", str(bad)], "bad.json is not JSON"),
        (["--from-json", str(wrong)], "wrong.json is not the JSON of lnf evaluate"),
        (["--from-json", str(tmp_path / "none.json")], "cannot read"),
        ([str(checkpoints["lstm"]), "--from-json", str(bad)], "not both"),
    ]
    for args, words in cases:
        code, out, err = run("evaluate", *args)
        assert code == 1 and out == "", err
        assert err.count("\n") == 1 and words in err, err
