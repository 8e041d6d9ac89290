"""The LSTM baseline's options (:mod:`lnfmusic.model.lstm.config`): one variant named after
the family, no flow options, and validation of its own fields."""

from __future__ import annotations

import dataclasses
import math

import pytest

from lnfmusic.errors import LnfError
from lnfmusic.model.config import DATA_FIELDS
from lnfmusic.model.lnf.config import LNFConfig
from lnfmusic.model.lstm.config import LSTMConfig
from lnfmusic.options import check

OWN = ("embed_dim", "hidden_size", "num_layers", "dropout")


def test_fields_are_the_data_fields_and_its_own() -> None:
    assert tuple(f.name for f in dataclasses.fields(LSTMConfig)) == (*DATA_FIELDS, *OWN)


def test_has_no_flow_options() -> None:
    names = {f.name for f in dataclasses.fields(LSTMConfig)}
    flow_only = {f.name for f in dataclasses.fields(LNFConfig)} - names
    assert {
        "prior",
        "latent_dim",
        "transform",
        "hidden_flow",
        "flow_layers",
        "flow_hidden",
        "nlsq_alpha",
        "prior_dropout",
    } <= flow_only
    cfg = LSTMConfig()
    for name in ("latent_dim", "transform", "hidden_flow", "prior", "resolved_hidden_flow"):
        assert not hasattr(cfg, name), name


def test_variant_and_name() -> None:
    assert LSTMConfig.family == "lstm"
    assert LSTMConfig.variants == ("lstm",)
    assert LSTMConfig.variant_field is None
    assert LSTMConfig().name == "lstm"
    assert LSTMConfig.for_variant("lstm") == LSTMConfig()
    with pytest.raises(ValueError):
        LSTMConfig.for_variant("af-af")


def test_defaults() -> None:
    cfg = LSTMConfig()
    assert (cfg.embed_dim, cfg.hidden_size, cfg.num_layers, cfg.dropout) == (500, 500, 2, 0.0)


def test_check_accepts_the_defaults_and_the_edges() -> None:
    check(LSTMConfig())
    check(LSTMConfig(embed_dim=1, hidden_size=1, num_layers=1, dropout=0.999))
    check(LSTMConfig(data_kind="text", output_dim=1, max_length=1, dropout=0))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("embed_dim", 0),
        ("hidden_size", 0),
        ("hidden_size", -1),
        ("num_layers", 0),
        ("num_layers", 1.5),
        ("dropout", 1.0),
        ("dropout", -0.5),
        ("dropout", math.nan),
        ("dropout", math.inf),
        ("dropout", "0.1"),
        ("dropout", None),
        ("data_kind", "video"),
        ("output_dim", 0),
        ("max_length", 0),
    ],
)
def test_check_rejects_bad_values(field: str, value: object) -> None:
    cfg = LSTMConfig()
    setattr(cfg, field, value)
    with pytest.raises(LnfError, match=f"model.{field}"):
        check(cfg, "model.")
