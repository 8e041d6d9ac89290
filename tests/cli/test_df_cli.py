"""Discrete flows through the normal CLI, as a user runs them: ``lnf train --model df-*
--preset tiny`` on music and on text, then ``lnf evaluate`` (exact NLL in the usual table)
and ``lnf sample`` / ``lnf text-sample``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pretty_midi
import pytest
from click.testing import CliRunner

from lnfmusic.cli.main import cli
from tests.helpers import write_jsb_like, write_text_lines


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("df_cli")
    data_dir = write_jsb_like(root / "data")
    text = write_text_lines(root / "lines.txt")
    out = {"data_dir": data_dir, "text": text}
    for name, dataset, model in (
        ("music", "jsb", "df-bipartite"),
        ("music-ar", "jsb", "df-ar"),
        ("text", f"text:{text}", "df-ar"),
        ("text-bipartite", f"text:{text}", "df-bipartite"),
    ):
        code, stdout, err = run(
            "train", "--dataset", dataset, "--model", model, "--preset", "tiny",
            "--epochs", "1", "--run-dir", str(root / name), "--data-dir", str(data_dir),
            "--device", "cpu", "--no-progress",
        )  # fmt: skip
        assert code == 0, err
        assert "best valid NLL (exact)" in stdout, stdout
        out[name] = root / name / "last.pt"
    return out


@pytest.mark.parametrize("name", ["music", "music-ar"])
def test_music_evaluates_exactly_and_samples_midi(trained: dict, tmp_path: Path, name: str) -> None:
    js = tmp_path / "r.json"
    code, out, err = run(
        "evaluate", str(trained[name]), "--data-dir", str(trained["data_dir"]),
        "--split", "valid", "--json", str(js), "--no-progress", "--device", "cpu",
    )  # fmt: skip
    assert code == 0, err
    assert "nats/step" in out and "exact" in out
    (result,) = json.loads(js.read_text())["results"]
    r = result["splits"]["valid"]
    assert math.isfinite(r["nll_paper"]) and math.isfinite(r["nll_frame"])
    # exact: the bound and the likelihood are the same number, with no KL term
    assert r["neg_elbo_paper"] == pytest.approx(r["nll_paper"], abs=1e-9)
    # an (almost) untrained model of 88 binary keys is near 88 ln 2 nats per frame
    assert 40 < r["nll_frame"] < 88 * math.log(2) + 5

    song = tmp_path / "song.mid"
    code, stdout, err = run(
        "sample", "--checkpoint", str(trained[name]), "--out", str(song), "--seed", "4",
        "--length", "10", "--device", "cpu",
    )  # fmt: skip
    assert code == 0, err
    pm = pretty_midi.PrettyMIDI(str(song))
    notes = [n for inst in pm.instruments for n in inst.notes]
    assert notes and all(21 <= n.pitch <= 108 for n in notes)
    assert "10 steps" in stdout


@pytest.mark.parametrize("name", ["text", "text-bipartite"])
def test_text_evaluates_in_bits_and_samples(trained: dict, tmp_path: Path, name: str) -> None:
    js = tmp_path / "r.json"
    code, out, err = run(
        "evaluate", str(trained[name]), "--split", "test", "--json", str(js), "--no-progress",
        "--device", "cpu",
    )  # fmt: skip
    assert code == 0, err
    assert "bpc" in out
    (result,) = json.loads(js.read_text())["results"]
    assert math.isfinite(result["splits"]["test"]["nll_paper"])

    dest = tmp_path / "t.txt"
    code, stdout, err = run(
        "text-sample", "--checkpoint", str(trained[name]), "--num", "3", "--seed", "1",
        "--out", str(dest), "--device", "cpu",
    )  # fmt: skip
    assert code == 0, err
    lines = dest.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3


def test_same_seed_same_sample(trained: dict, tmp_path: Path) -> None:
    texts = []
    for i in range(2):
        dest = tmp_path / f"t{i}.txt"
        code, _, err = run(
            "text-sample", "--checkpoint", str(trained["text"]), "--seed", "9", "--out",
            str(dest), "--device", "cpu",
        )  # fmt: skip
        assert code == 0, err
        texts.append(dest.read_text(encoding="utf-8"))
    assert texts[0] == texts[1]


def test_bipartite_sample_past_its_table_is_a_one_line_error(trained: dict, tmp_path: Path) -> None:
    song = tmp_path / "long.mid"
    code, _, err = run(
        "sample", "--checkpoint", str(trained["music"]), "--out", str(song), "--length", "5000",
        "--device", "cpu",
    )  # fmt: skip
    assert code == 1
    assert err.count("\n") == 1 and "length 5000" in err and "Traceback" not in err
    assert not song.exists()
