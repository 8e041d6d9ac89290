"""The LNF family's options (:mod:`lnfmusic.model.lnf.config`): its variants are the named
priors, the hidden flow defaults to the prior's own, and :func:`lnfmusic.options.check`
accepts the defaults and rejects out-of-range values."""

from __future__ import annotations

import dataclasses
import math

import pytest

from lnfmusic.errors import LnfError
from lnfmusic.flows.names import HIDDEN_FLOWS, PRIORS, TRANSFORMS
from lnfmusic.model.config import DATA_FIELDS
from lnfmusic.model.lnf.config import LNFConfig
from lnfmusic.options import check

OWN_HIDDEN = {"af-af": "af", "af-scf": "scf", "iaf-scf": "scf", "af-only": "af"}
FLOAT_FIELDS = [f.name for f in dataclasses.fields(LNFConfig) if f.type in (float, "float")]


def test_variants_are_the_priors() -> None:
    assert LNFConfig.variants == tuple(PRIORS)
    assert LNFConfig.family == "lnf"
    assert LNFConfig.variant_field == "prior"
    assert LNFConfig().prior == "af-af"


@pytest.mark.parametrize("prior", list(PRIORS))
def test_name_is_the_prior(prior: str) -> None:
    cfg = LNFConfig.for_variant(prior)
    assert cfg.prior == prior and cfg.name == prior
    assert LNFConfig(prior=prior).name == prior
    assert cfg == LNFConfig(prior=prior)


def test_for_variant_rejects_other_names() -> None:
    for bad in ("lstm", "af", "scf-af", ""):
        with pytest.raises(ValueError, match="no prior"):
            LNFConfig.for_variant(bad)


@pytest.mark.parametrize("prior", list(PRIORS))
def test_hidden_flow_defaults_to_the_priors_own(prior: str) -> None:
    assert OWN_HIDDEN.keys() == PRIORS.keys()
    cfg = LNFConfig(prior=prior)
    assert cfg.hidden_flow is None
    assert cfg.resolved_hidden_flow() == OWN_HIDDEN[prior] == PRIORS[prior][1]


@pytest.mark.parametrize("hidden", HIDDEN_FLOWS)
@pytest.mark.parametrize("prior", list(PRIORS))
def test_an_explicit_hidden_flow_wins(prior: str, hidden: str) -> None:
    assert LNFConfig(prior=prior, hidden_flow=hidden).resolved_hidden_flow() == hidden


def test_has_the_data_fields_and_the_flow_options() -> None:
    names = {f.name for f in dataclasses.fields(LNFConfig)}
    assert set(DATA_FIELDS) <= names
    assert {"prior", "transform", "hidden_flow", "latent_dim", "nlsq_alpha"} <= names


# ----------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize("prior", list(PRIORS))
def test_check_accepts_the_defaults(prior: str) -> None:
    check(LNFConfig(prior=prior))
    for transform in TRANSFORMS:
        for hidden in (None, *HIDDEN_FLOWS):
            check(LNFConfig(prior=prior, transform=transform, hidden_flow=hidden))


def test_check_accepts_the_edges_of_the_ranges() -> None:
    check(LNFConfig(latent_dim=1, flow_layers=1, dropout=0.0, prior_dropout=0.0))
    check(LNFConfig(nlsq_alpha=1e-6, dropout=0.999, prior_dropout=0.999))
    check(LNFConfig(prior_dropout=0))  # an int where a float is wanted is fine


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("latent_dim", 0),
        ("latent_dim", -3),
        ("latent_dim", 2.0),  # not an int
        ("embed_dim", 0),
        ("hidden_size", 0),
        ("num_layers", 0),
        ("flow_layers", 0),
        ("flow_hidden", 0),
        ("nlsq_alpha", 1.0),
        ("nlsq_alpha", 0.0),
        ("nlsq_alpha", 1.5),
        ("dropout", 1.0),
        ("dropout", -0.1),
        ("prior_dropout", 1.0),
        ("transform", "spline"),
        ("transform", None),
        ("hidden_flow", "iaf"),
        ("prior", "lstm"),
        ("data_kind", "video"),
        ("output_dim", 0),
        ("max_length", 0),
    ],
)
def test_check_rejects_bad_values(field: str, value: object) -> None:
    cfg = LNFConfig()
    setattr(cfg, field, value)
    with pytest.raises(LnfError, match=field):
        check(cfg)
    with pytest.raises(LnfError, match=f"model.{field}"):
        check(cfg, "model.")


@pytest.mark.parametrize("field", FLOAT_FIELDS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_check_rejects_non_finite_floats(field: str, value: float) -> None:
    assert FLOAT_FIELDS  # nlsq_alpha, prior_dropout, dropout
    cfg = LNFConfig()
    setattr(cfg, field, value)
    with pytest.raises(LnfError, match=field):
        check(cfg)
