"""The default model shipped in ``models/``: small, loadable, documented, trained, and the
README's main command (``lnf sample --out song.mid``) works with it and nothing else."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pretty_midi
import pytest
import torch
from click.testing import CliRunner

from lnfmusic.checkpoint import load_model
from lnfmusic.cli.main import cli
from lnfmusic.config import EvalConfig
from lnfmusic.data.dataset import load_dataset
from lnfmusic.evaluate import evaluate_checkpoint

MODELS = Path(__file__).resolve().parents[1] / "models"
DEFAULT = MODELS / "default.pt"


def test_default_model_is_small_and_loads_safely() -> None:
    assert DEFAULT.is_file(), "models/default.pt must be committed"
    assert DEFAULT.stat().st_size < 8 * 2**20, "the shipped model should be a few MB"
    ckpt = torch.load(DEFAULT, map_location="cpu", weights_only=True)
    assert ckpt["config"]["dataset"] == "jsb"
    assert ckpt["dataset"]["kind"] == "music"
    meta = ckpt["dataset"]["meta"]
    assert meta["pitch_offset"] == 21 and meta["steps_per_beat"] == 1
    assert "optimizer" not in ckpt, "an export keeps only what sampling needs"


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.pt")), ids=lambda p: p.name)
def test_model_card_matches_every_shipped_file(path: Path) -> None:
    card = (MODELS / "README.md").read_text(encoding="utf-8")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    row = next((line for line in card.splitlines() if sha in line), None)
    assert row is not None, f"models/README.md must give the sha256 of {path.name}"
    model = load_model(path).name  # the shipped files are format 1: loaded through migration
    assert f"`{path.name}`" in row and f"`{model}`" in row, f"{path.name} is a {model} model"


def test_main_command_writes_valid_midi_without_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./models, no ./datasets here
    monkeypatch.delenv("LNF_MODEL_DIR", raising=False)
    monkeypatch.setenv("LNF_DATA_DIR", str(tmp_path / "nothing"))
    result = CliRunner().invoke(
        cli, ["sample", "--out", "song.mid", "--length", "24", "--seed", "5", "--device", "cpu"]
    )
    assert result.exit_code == 0, result.stderr
    assert "wrote song.mid" in result.stdout
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "song.mid"))
    notes = [n for inst in pm.instruments for n in inst.notes]
    assert notes
    assert all(21 <= n.pitch <= 108 and n.end > n.start for n in notes)


def test_default_model_is_trained(data_dir: Path) -> None:
    """Far better than an untrained model (~60 nats/step) on JSB test: a few importance
    samples already put it near the card's number (the card has S = 50)."""
    bundle = load_model(DEFAULT)
    dataset = load_dataset("jsb", data_dir)
    result = evaluate_checkpoint(bundle, dataset, EvalConfig(num_samples=4, elbo_samples=1))
    nll = result.splits["test"].metrics()["nll_paper"]
    assert nll < 8.0, nll


TEXT_DEFAULT = MODELS / "default-text.pt"


def test_default_text_model_is_small_and_loads_safely() -> None:
    assert TEXT_DEFAULT.is_file(), "models/default-text.pt must be committed"
    assert TEXT_DEFAULT.stat().st_size < 8 * 2**20
    ckpt = torch.load(TEXT_DEFAULT, map_location="cpu", weights_only=True)
    assert ckpt["config"]["dataset"] == "ptb" and ckpt["dataset"]["kind"] == "text"
    assert "optimizer" not in ckpt


def test_text_sample_works_without_data_or_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LNF_MODEL_DIR", raising=False)
    monkeypatch.setenv("LNF_DATA_DIR", str(tmp_path / "nothing"))
    result = CliRunner().invoke(
        cli, ["text-sample", "--num", "2", "--length", "60", "--seed", "1", "--device", "cpu"]
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(len(line) == 60 for line in lines)
    words = " ".join(lines).split()
    assert len(words) >= 6, "a trained character model writes words and spaces"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["default-text.pt", "ptb-lstm.pt"])
def test_text_models_evaluate_to_their_card_numbers(name: str, data_dir: Path) -> None:
    """The card's row of ``name``: test (paper-comparable, per character), valid."""
    card = (MODELS / "README.md").read_text(encoding="utf-8")
    row = next(  # the metrics row (the file table's row starts with the model's name)
        line
        for line in card.splitlines()
        if line.startswith(f"| `{name}` | ") and line.split("|")[2].strip()[:1].isdigit()
    )
    bundle = load_model(MODELS / name)
    config = EvalConfig(splits=("test", "valid"))
    result = evaluate_checkpoint(bundle, load_dataset("ptb", data_dir), config)
    test, valid = result.splits["test"].metrics(), result.splits["valid"].metrics()
    for value in (test["nll_paper"], test["nll_frame"], valid["nll_paper"]):
        assert f" {value:.3f} " in row, (value, row)


MUSIC_MODELS = [
    ("default.pt", "jsb"),
    ("jsb-af-scf-small.pt", "jsb"),
    ("jsb-af-af-small.pt", "jsb"),
    ("nottingham.pt", "nottingham"),
    ("piano-midi.pt", "piano-midi"),
    ("musedata.pt", "musedata"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "dataset"), MUSIC_MODELS)
def test_music_models_evaluate_to_their_card_numbers(
    name: str, dataset: str, data_dir: Path
) -> None:
    """The card's row of ``name`` holds its four test numbers (S = 50, seed 0)."""
    card = (MODELS / "README.md").read_text(encoding="utf-8")
    row = next(
        line
        for line in card.splitlines()
        if line.startswith(f"| `{name}` | ") and line.count("|") == 6
    )
    bundle = load_model(MODELS / name)
    result = evaluate_checkpoint(bundle, load_dataset(dataset, data_dir), EvalConfig())
    metrics = result.splits["test"].metrics()
    for key in ("nll_paper", "nll_frame", "neg_elbo_paper", "neg_elbo_frame"):
        assert f" {metrics[key]:.3f} " in row, (key, metrics[key], row)
