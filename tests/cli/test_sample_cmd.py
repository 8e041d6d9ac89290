"""``lnf sample`` and ``lnf text-sample`` end to end on tiny checkpoints trained here."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
import pytest
import torch
from click.testing import CliRunner

from lnfmusic.cli.main import cli
from tests.helpers import train_tiny, write_jsb_like, write_text_lines


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sample")
    data_dir = write_jsb_like(root / "data")
    text = write_text_lines(root / "lines.txt")
    torch.manual_seed(0)
    return {
        "music": train_tiny("jsb", "iaf-scf", root / "music", data_dir),
        "lstm": train_tiny("jsb", "lstm", root / "lstm", data_dir),
        "text": train_tiny(f"text:{text}", "lstm", root / "text"),
    }


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def check_midi(path: Path) -> list[pretty_midi.Note]:
    pm = pretty_midi.PrettyMIDI(str(path))
    notes = [n for inst in pm.instruments for n in inst.notes]
    assert all(21 <= n.pitch <= 108 for n in notes)
    assert all(n.end > n.start for n in notes)
    return notes


@pytest.mark.parametrize("name", ["music", "lstm"])
def test_sample_writes_valid_midi(checkpoints: dict, tmp_path: Path, name: str) -> None:
    out = tmp_path / "song.mid"
    code, stdout, err = run(
        "sample",
        "--checkpoint",
        str(checkpoints[name]),
        "--out",
        str(out),
        "--seed",
        "3",
        "--length",
        "12",
        "--device",
        "cpu",
    )
    assert code == 0, err
    notes = check_midi(out)
    assert notes, "an untrained model at p ~ 0.5 plays notes"
    assert f"wrote {out}" in stdout and "12 steps" in stdout
    assert f"{len(notes)} notes" in stdout and "seed 3" in stdout


def test_several_samples_need_and_use_the_i_pattern(checkpoints: dict, tmp_path: Path) -> None:
    pattern = str(tmp_path / "s_{i}.mid")
    code, stdout, err = run(
        "sample",
        "--checkpoint",
        str(checkpoints["music"]),
        "--out",
        pattern,
        "--num",
        "3",
        "--seed",
        "5",
        "--device",
        "cpu",
    )
    assert code == 0, err
    for i in range(3):
        check_midi(tmp_path / f"s_{i}.mid")
        assert f"seed {5 + i}" in stdout
    code, _, err = run(
        "sample",
        "--checkpoint",
        str(checkpoints["music"]),
        "--out",
        str(tmp_path / "x.mid"),
        "--num",
        "2",
    )
    assert code == 1 and err.startswith("error:") and err.count("\n") == 1 and "{i}" in err
    assert not (tmp_path / "x.mid").exists()


def test_same_seed_same_file_and_restrike_has_at_least_as_many_notes(
    checkpoints: dict, tmp_path: Path
) -> None:
    args = [
        "sample",
        "--checkpoint",
        str(checkpoints["music"]),
        "--length",
        "12",
        "--seed",
        "1",
        "--device",
        "cpu",
        "--threshold",
        "0.5",
    ]
    for name in ("a", "b"):
        assert run(*args, "--out", str(tmp_path / f"{name}.mid"))[0] == 0
    assert run(*args, "--out", str(tmp_path / "r.mid"), "--articulation", "restrike")[0] == 0
    a, b = check_midi(tmp_path / "a.mid"), check_midi(tmp_path / "b.mid")
    assert [(n.pitch, n.start, n.end) for n in a] == [(n.pitch, n.start, n.end) for n in b]
    assert len(check_midi(tmp_path / "r.mid")) >= len(a)


def test_default_checkpoint_from_model_dir(
    checkpoints: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "default.pt").write_bytes(checkpoints["music"].read_bytes())
    monkeypatch.setenv("LNF_MODEL_DIR", str(models))
    code, _, err = run("sample", "--out", str(tmp_path / "d.mid"), "--device", "cpu")
    assert code == 0, err
    check_midi(tmp_path / "d.mid")


def test_text_sample_to_stdout_and_file(checkpoints: dict, tmp_path: Path) -> None:
    code, out, err = run(
        "text-sample",
        "--checkpoint",
        str(checkpoints["text"]),
        "--num",
        "3",
        "--length",
        "12",
        "--seed",
        "4",
        "--device",
        "cpu",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3 and all(len(line) == 12 for line in lines)
    target = tmp_path / "t.txt"
    code, _, err = run(
        "text-sample",
        "--checkpoint",
        str(checkpoints["text"]),
        "--num",
        "3",
        "--length",
        "12",
        "--seed",
        "4",
        "--out",
        str(target),
        "--device",
        "cpu",
    )
    assert code == 0, err
    assert target.read_text(encoding="utf-8") == out


def test_wrong_kind_and_bad_files_are_one_line_errors(checkpoints: dict, tmp_path: Path) -> None:
    code, _, err = run(
        "sample", "--checkpoint", str(checkpoints["text"]), "--out", str(tmp_path / "x.mid")
    )
    assert code == 1 and err.count("\n") == 1 and "text checkpoint" in err
    assert not (tmp_path / "x.mid").exists()
    code, _, err = run("text-sample", "--checkpoint", str(checkpoints["music"]))
    assert code == 1 and err.count("\n") == 1 and "music checkpoint" in err
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    for args in (["sample", "--out", str(tmp_path / "y.mid")], ["text-sample"]):
        code, _, err = run(*args, "--checkpoint", str(bad))
        assert code == 1 and err.startswith("error:") and err.count("\n") == 1
        assert "bad.pt" in err


def test_roll_png(checkpoints: dict, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "roll.png"
    code, out, err = run(
        "sample",
        "--checkpoint",
        str(checkpoints["music"]),
        "--out",
        str(tmp_path / "p.mid"),
        "--roll-png",
        str(png),
        "--device",
        "cpu",
    )
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(png) in out


def test_unwritable_outputs_are_one_line_errors_before_sampling(
    checkpoints: dict, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = [
        ("sample", "--checkpoint", str(checkpoints["music"]), "--out", str(folder)),
        ("sample", "--checkpoint", str(checkpoints["music"]), "--out", str(blocker / "x.mid")),
        (
            "sample",
            "--checkpoint",
            str(checkpoints["music"]),
            "--out",
            str(tmp_path / "ok.mid"),
            "--roll-png",
            str(folder),
        ),
        ("text-sample", "--checkpoint", str(checkpoints["text"]), "--out", str(blocker / "t")),
    ]
    for args in cases:
        code, _, err = run(*args)
        assert code == 1 and err.startswith("error:") and err.count("\n") == 1, err
        assert "Traceback" not in err
    assert not (tmp_path / "ok.mid").exists(), "nothing is written when an output is bad"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "folder"]
    assert not list(folder.iterdir())


def test_several_samples_name_the_option_that_lacks_the_i_pattern(
    checkpoints: dict, tmp_path: Path
) -> None:
    for args, option in (
        (["--out", str(tmp_path / "s.mid")], "--out"),
        (
            ["--out", str(tmp_path / "s{i}.mid"), "--roll-png", str(tmp_path / "r.png")],
            "--roll-png",
        ),
    ):
        code, _, err = run("sample", "--checkpoint", str(checkpoints["music"]), "--num", "2", *args)
        assert code == 1 and err.count("\n") == 1
        assert f"needs '{{i}}' in {option} " in err, err
    assert not list(tmp_path.iterdir())
