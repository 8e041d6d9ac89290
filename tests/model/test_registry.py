"""The registry of model families (:mod:`lnfmusic.model.registry`): the built-in ``--model``
names and their families, configs by name and from dicts, building models, name clashes, and
a new family plugged in from outside the package (removed again after each test)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from torch import Tensor, nn

from lnfmusic.config import preset
from lnfmusic.data.batching import Batch
from lnfmusic.model import registry
from lnfmusic.model.base import ModelOutput, SequenceModel
from lnfmusic.model.config import ModelConfig
from lnfmusic.model.df.config import DFConfig
from lnfmusic.model.lnf.config import LNFConfig
from lnfmusic.model.lnf.model import LNFModel
from lnfmusic.model.lstm.config import LSTMConfig
from lnfmusic.model.lstm.model import LSTMBaseline
from lnfmusic.model.registry import (
    Family,
    build_model,
    config_for,
    config_from_dict,
    families,
    family_of,
    model_names,
    register,
)
from lnfmusic.options import option
from tests.helpers import tiny_config

BUILTIN = ("af-af", "af-scf", "iaf-scf", "af-only", "lstm", "df-bipartite", "df-ar")


@pytest.fixture
def restore_registry() -> Iterator[None]:
    """Whatever a test registers is gone afterwards."""
    before = dict(registry._FAMILIES)
    yield
    registry._FAMILIES.clear()
    registry._FAMILIES.update(before)


# ----------------------------------------------------------------------------------------
# A family defined outside the package


@dataclass
class ToyConfig(ModelConfig):
    family: ClassVar[str] = "toy"
    variants: ClassVar[tuple[str, ...]] = ("toy",)

    hidden_size: int = option(7, "width", ge=1)
    scale: float = option(1.0, "a toy option no preset knows", gt=0)


class ToyModel(SequenceModel):
    exact = True

    def __init__(self, config: ToyConfig):
        super().__init__(config)
        self.logits = nn.Parameter(torch.zeros(config.output_dim))

    def forward(self, batch: Batch, *, kl_weight: float = 1.0, num_samples: int = 1) -> ModelOutput:
        recon = self.log_weights(batch, num_samples)[0]
        return ModelOutput.from_terms(recon, torch.zeros_like(recon), batch.lengths, kl_weight)

    def log_weights(self, batch: Batch, num_samples: int) -> Tensor:
        return self.logits.sum().expand(1, batch.lengths.shape[0])

    def generate(
        self,
        lengths: Tensor,
        temperature: float = 1.0,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        return torch.zeros(lengths.shape[0], int(lengths.max()), dtype=torch.int64)


# ----------------------------------------------------------------------------------------
# The built-in families


def test_model_names_in_registration_order() -> None:
    assert model_names() == BUILTIN


def test_families_are_lnf_lstm_then_df() -> None:
    fams = families()
    assert list(fams) == ["lnf", "lstm", "df"]
    assert fams["lnf"].config is LNFConfig and fams["lstm"].config is LSTMConfig
    assert fams["df"].config is DFConfig
    assert all(isinstance(f, Family) and f.name == key for key, f in fams.items())


def test_families_is_a_copy() -> None:
    fams = families()
    fams.pop("lstm")
    assert "lstm" in families() and "lstm" in model_names()


@pytest.mark.parametrize(
    ("name", "family"),
    [("af-af", "lnf"), ("af-scf", "lnf"), ("iaf-scf", "lnf"), ("af-only", "lnf"), ("lstm", "lstm")],
)
def test_family_of(name: str, family: str) -> None:
    assert family_of(name).name == family
    assert family_of(name) is families()[family]


@pytest.mark.parametrize("bad", ["nope", "lnf", "", "AF-AF", "af_af"])
def test_family_of_an_unknown_name_lists_the_choices(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown model") as info:
        family_of(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert all(name in message for name in BUILTIN)


@pytest.mark.parametrize("name", BUILTIN)
def test_config_for_gives_the_named_default(name: str) -> None:
    cfg = config_for(name)
    assert cfg.name == name
    assert type(cfg) is family_of(name).config
    assert cfg == config_for(name) and cfg is not config_for(name)  # a fresh one each time


def test_config_for_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        config_for("gru")


def test_config_from_dict_round_trip_and_no_mutation() -> None:
    cfg = config_for("iaf-scf")
    cfg.latent_dim = 3
    d = cfg.to_dict()
    kept = dict(d)
    assert config_from_dict(d) == cfg
    assert d == kept  # the caller's dict is left alone


@pytest.mark.parametrize("family", [None, "toy", "", "LNF"])
def test_config_from_dict_rejects_an_unknown_family(family: str | None) -> None:
    d = config_for("lstm").to_dict()
    if family is None:
        del d["family"]
    else:
        d["family"] = family
    with pytest.raises(ValueError, match="unknown model family"):
        config_from_dict(d)


def test_config_from_dict_rejects_unknown_keys() -> None:
    d = config_for("lstm").to_dict()
    d["latent_dim"] = 4  # an LNF option the LSTM does not have
    with pytest.raises(KeyError, match="latent_dim"):
        config_from_dict(d)


def test_config_from_dict_fills_missing_keys_with_defaults() -> None:
    assert config_from_dict({"family": "lnf", "prior": "af-scf"}) == LNFConfig(prior="af-scf")


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("af-af", LNFModel),
        ("af-scf", LNFModel),
        ("iaf-scf", LNFModel),
        ("af-only", LNFModel),
        ("lstm", LSTMBaseline),
    ],
)
def test_build_model_builds_the_family_model(name: str, cls: type) -> None:
    cfg = tiny_config(name)
    model = build_model(cfg)
    assert type(model) is cls
    assert isinstance(model, SequenceModel)
    assert model.config is cfg
    assert family_of(name).model_class() is cls


def test_build_model_of_an_unregistered_family() -> None:
    with pytest.raises(ValueError, match="unknown model family"):
        build_model(ToyConfig())


@pytest.mark.usefixtures("restore_registry")
def test_a_variant_name_taken_by_another_family_is_refused() -> None:
    @dataclass
    class Clash(ModelConfig):
        family: ClassVar[str] = "clash"
        variants: ClassVar[tuple[str, ...]] = ("fresh", "lstm")

    with pytest.raises(ValueError, match="lstm"):
        register(Clash, f"{__name__}:ToyModel")
    assert "clash" not in families()
    assert model_names() == BUILTIN


@pytest.mark.usefixtures("restore_registry")
def test_a_family_may_register_again_under_its_own_name() -> None:
    first = families()["lstm"]
    again = register(LSTMConfig, first.model)
    assert again == first
    assert model_names() == BUILTIN


# ----------------------------------------------------------------------------------------
# A new family plugs in


@pytest.mark.usefixtures("restore_registry")
def test_a_new_family_plugs_in() -> None:
    family = register(ToyConfig, f"{__name__}:ToyModel")
    assert family.name == "toy" and family.model_class() is ToyModel
    assert model_names() == (*BUILTIN, "toy")
    assert family_of("toy") is family
    cfg = config_for("toy")
    assert type(cfg) is ToyConfig and cfg.name == "toy"
    model = build_model(cfg)
    assert type(model) is ToyModel and model.exact
    assert config_from_dict(cfg.to_dict()) == cfg


@pytest.mark.usefixtures("restore_registry")
def test_presets_set_only_the_fields_a_new_family_has() -> None:
    register(ToyConfig, f"{__name__}:ToyModel")
    run = preset("tiny", "music", "toy")
    assert type(run.model) is ToyConfig
    assert run.model.hidden_size == 16  # a size the tiny preset sets
    assert run.model.scale == 1.0  # unknown to presets: the family default
    for absent in ("latent_dim", "flow_layers", "flow_hidden", "prior_dropout", "embed_dim"):
        assert not hasattr(run.model, absent), absent
    assert set(run.model.to_dict()) == {"family", *(f.name for f in dataclasses.fields(ToyConfig))}
    run.validate()
    small = preset("small", "text", "toy")
    assert small.model.hidden_size == 128


def test_the_new_family_is_gone_after_the_test() -> None:
    assert "toy" not in families() and model_names() == BUILTIN
