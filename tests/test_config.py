"""Configuration: presets, preset < TOML < overrides, one-line errors for bad files and
values, old config dicts upgraded, and the validation layer."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lnfmusic.config import (
    SMALL_MUSIC_SCHEDULES,
    EvalConfig,
    RunConfig,
    SampleConfig,
    apply_overrides,
    apply_toml,
    explicit_options,
    preset,
    resolve_config,
    upgrade_config_dict,
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


def test_presets_take_the_sizes_each_family_has() -> None:
    lnf, lstm = preset("small", "music", "af-scf"), preset("small", "music", "lstm")
    assert lnf.model.latent_dim == 32 and lnf.model.flow_layers == 3
    assert lstm.model.hidden_size == lnf.model.hidden_size == 128
    assert not hasattr(lstm.model, "latent_dim")
    # a family adapts a preset to itself: the paper's IAF/SCF text model has 3 flow layers
    assert preset("paper", "text", "iaf-scf").model.flow_layers == 3
    assert preset("paper", "text", "af-scf").model.flow_layers == 5
    assert preset("paper", "music", "iaf-scf").model.flow_layers == 5


def test_small_music_schedules_follow_the_dataset() -> None:
    def schedule(config: RunConfig) -> tuple:
        t = config.train
        return t.epochs, t.kl_zero_epochs, t.kl_ramp_epochs, t.patience

    # JSB's tuned schedule is the default, with or without a dataset name
    assert schedule(preset("small")) == (200, 40, 30, 10)
    assert schedule(preset("small", "music", "af-scf", "jsb", 229)) == (200, 40, 30, 10)
    for name, expected in SMALL_MUSIC_SCHEDULES.items():
        assert schedule(preset("small", "music", "af-scf", name, 1)) == expected
    # the named sets keep the KL-free start near 1,100 updates and the ramp near 900
    sizes = {"jsb": 229, "nottingham": 694, "musedata": 524, "piano-midi": 87}
    for name, (_, kl_zero, ramp, _) in SMALL_MUSIC_SCHEDULES.items():
        per_epoch = math.ceil(sizes[name] / 8)
        assert abs(kl_zero * per_epoch - 1_100) < 100 and abs(ramp * per_epoch - 900) < 100
    # an unnamed set is sized by its number of pieces: 20 pieces -> 3 updates per epoch
    assert schedule(preset("small", "music", "af-scf", "midi:x", 20)) == (2000, 367, 300, 100)
    # a large one never ends its KL phases before the last epoch
    epochs, kl_zero, ramp, patience = schedule(preset("small", "music", "af-af", "midi:y", 9000))
    assert (kl_zero, ramp, patience) == (1, 1, 3) and epochs >= kl_zero + ramp + 10
    # PTB's ~5M characters take larger batches and fewer epochs than other text
    ptb, other = preset("small", "text", "af-scf", "ptb", 41740), preset("small", "text")
    assert (ptb.train.batch_size, ptb.train.epochs) == (64, 8)
    assert (other.train.batch_size, other.train.epochs) == (8, 10)
    # the other presets do not depend on the dataset
    assert schedule(preset("tiny", "music", "af-scf", "musedata", 524)) == schedule(preset("tiny"))


def test_resolve_config_applies_flags_over_the_dataset_schedule() -> None:
    config = resolve_config(
        "music", "af-scf", "small", overrides={"train.epochs": 7}, dataset="nottingham"
    )
    assert (config.train.epochs, config.train.kl_zero_epochs) == (7, 13)


def test_unknown_preset_and_model_are_one_line_errors() -> None:
    with pytest.raises(LnfError, match="preset"):
        preset("huge")
    with pytest.raises(LnfError, match="unknown model"):
        preset("tiny", "music", "gpt")


def test_overrides_toml_and_upgrade(tmp_path: Path) -> None:
    config = preset("tiny")
    apply_overrides(config, ["train.lr=3e-4", "model.hidden_flow=none", "train.early_stop=none"])
    assert config.train.lr == 3e-4 and config.model.hidden_flow == "none"
    assert config.train.early_stop is None
    for bad in ("train.lr", "train.lr=nan", "train.lr=-1", "model.prior=af-scf", "x.y=1"):
        with pytest.raises(LnfError) as e:
            apply_overrides(config, [bad])
        assert "\n" not in str(e.value) and bad in str(e.value)
    old = {"dataset": "jsb", "preset": "small", "model": {"model": "lstm", "latent_dim": 32,
           "hidden_size": 64, "data_kind": "music"}, "train": {}}  # fmt: skip
    new = upgrade_config_dict(old)
    assert new["model"] == {"family": "lstm", "hidden_size": 64, "data_kind": "music"}
    assert RunConfig.from_dict(new).model.hidden_size == 64
    lnf = upgrade_config_dict({**old, "model": {"model": "af-scf", "latent_dim": 8}})
    assert lnf["model"] == {"family": "lnf", "prior": "af-scf", "latent_dim": 8}


def test_sample_and_eval_configs_validate() -> None:
    SampleConfig().validate()
    EvalConfig().validate()
    for bad in ({"num": 0}, {"temperature": float("nan")}, {"threshold": 1.0}, {"seed": -1}):
        with pytest.raises(LnfError):
            SampleConfig(**bad).validate()
    with pytest.raises(LnfError, match="num_samples"):
        EvalConfig(num_samples=0).validate()
    with pytest.raises(LnfError, match="split"):
        EvalConfig(splits=()).validate()


def test_explicit_options_from_every_source(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("[train]\nepochs = 5\n[model]\nlatent_dim = 3\n")
    keys = explicit_options(toml, {"train.lr": 0.1, "train.seed": None}, ["train.clip=1"])
    assert keys == {"train.epochs", "model.latent_dim", "train.lr", "train.clip"}


@pytest.mark.parametrize(
    "item,words",
    [
        ("train.epochs=2000000", ["train", "epochs", "at most 1000000"]),
        ("train.lr=1e300", ["lr", "at most 10"]),
        ("train.weight_decay=1e300", ["weight_decay", "at most 10"]),
        ("train.elbo_samples=18446744073709551616", ["elbo_samples", "at most 1000"]),
        ("model.hidden_size=100000", ["hidden_size", "at most 4096"]),
        ("model.num_layers=1000", ["num_layers", "at most 16"]),
        ("model.flow_layers=1000", ["flow_layers", "at most 64"]),
        ("train.max_sequences=18446744073709551616", ["max_sequences", "64 bits"]),
    ],
)
def test_sizes_and_counts_have_upper_bounds(item: str, words: list[str]) -> None:
    with pytest.raises(LnfError) as info:
        resolve_config("music", "af-af", "tiny", assignments=[item])
    assert all(w in str(info.value) for w in words), str(info.value)


def test_made_emission_on_text_fails_when_the_config_is_resolved() -> None:
    with pytest.raises(LnfError, match="made is for music"):
        resolve_config("text", "af-af", "tiny", assignments=["model.emission=made"])
