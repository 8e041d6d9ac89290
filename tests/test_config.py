"""Configuration: presets, preset < TOML < overrides, one-line errors for bad files and
values, old config dicts upgraded, and the validation layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from lnfmusic.config import (
    apply_toml,
    preset,
    resolve_config,
)
from lnfmusic.errors import LnfError


def test_priority_preset_then_toml_then_flags(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        "[model]\nlatent_dim = 7\nhidden_size = 24\n[train]\nlr = 0.01\n"
        "kl_ramp_epochs = 3\nmax_sequences = 5\n"
    )
    cfg = resolve_config(
        "music",
        "af-scf",
        "tiny",
        toml,
        {"model.hidden_size": 40, "train.lr": None, "train.seed": 3},
    )
    base = preset("tiny", "music", "af-scf")
    assert cfg.model.name == "af-scf"
    assert cfg.model.latent_dim == 7 and cfg.model.hidden_size == 40  # flag beats TOML
    assert cfg.train.lr == 0.01 and cfg.train.kl_ramp_epochs == 3.0  # int accepted as float
    assert cfg.train.seed == 3 and cfg.train.max_sequences == 5
    assert cfg.model.flow_layers == base.model.flow_layers  # untouched preset values


@pytest.mark.parametrize(
    "text, words",
    [
        ("[model]\nlatnet_dim = 4\n", ["latnet_dim", "[model]"]),
        ("[optim]\nlr = 1\n", ["[optim]"]),
        ("[train]\nbatch_size = 'big'\n", ["batch_size", "int"]),
        ("[train]\nlr = true\n", ["lr", "float"]),
        ("[model]\ntransform = 'spline'\n", ["transform", "nlsq"]),
        ("[model]\noutput_dim = 3\n", ["output_dim"]),  # filled in from the data
        ("[model\n", ["invalid TOML"]),
    ],
)
def test_bad_config_files_are_one_line_errors(tmp_path: Path, text: str, words: list[str]) -> None:
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(LnfError) as e:
        apply_toml(preset("tiny"), toml)
    msg = str(e.value)
    assert "\n" not in msg and str(toml) in msg
    for w in words:
        assert w in msg


def test_nullable_options_accept_none_only_where_allowed(tmp_path: Path) -> None:
    cfg = preset("tiny")
    toml = tmp_path / "c.toml"
    toml.write_text("[model]\nhidden_flow = 'none'\n")
    apply_toml(cfg, toml)
    assert cfg.model.hidden_flow == "none"
