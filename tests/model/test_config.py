"""The base of every family's configuration (:mod:`lnfmusic.model.config`): the data fields
every family shares, the family-tagged ``to_dict`` and its round trip through the registry,
:meth:`ModelConfig.for_variant`, and that reading configs never imports torch."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lnfmusic.model import registry
from lnfmusic.model.config import DATA_FIELDS, ModelConfig
from lnfmusic.model.lstm.config import LSTMConfig

pytestmark = pytest.mark.usefixtures("float64")

FAMILIES = sorted(registry.families())
NAMES = list(registry.model_names())
ROOT = Path(__file__).resolve().parents[2]


def test_data_fields_are_the_base_fields() -> None:
    assert DATA_FIELDS == ("data_kind", "output_dim", "max_length")
    assert tuple(f.name for f in dataclasses.fields(ModelConfig)) == DATA_FIELDS


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_config_has_the_data_fields(family: str) -> None:
    cls = registry.families()[family].config
    assert issubclass(cls, ModelConfig)
    names = [f.name for f in dataclasses.fields(cls)]
    assert set(DATA_FIELDS) <= set(names)
    assert cls.family == family


def test_base_defaults() -> None:
    base = ModelConfig()
    assert (base.data_kind, base.output_dim, base.max_length) == ("music", 88, 200)
    assert ModelConfig.family == "" and ModelConfig.variants == ()
    assert ModelConfig.variant_field is None
    assert base.name == base.family


@pytest.mark.parametrize("name", NAMES)
def test_to_dict_is_tagged_with_the_family_and_plain(name: str) -> None:
    cfg = registry.config_for(name)
    d = cfg.to_dict()
    assert d["family"] == cfg.family
    assert {k for k in d if k != "family"} == {f.name for f in dataclasses.fields(cfg)}
    assert json.loads(json.dumps(d)) == d  # plain types only


@pytest.mark.parametrize("name", NAMES)
def test_to_dict_round_trips_through_the_registry(name: str) -> None:
    cfg = registry.config_for(name)
    cfg.output_dim, cfg.max_length, cfg.data_kind = 37, 55, "text"
    back = registry.config_from_dict(cfg.to_dict())
    assert type(back) is type(cfg)
    assert back == cfg
    assert back.name == name
    # through JSON too (what config.json and checkpoints store)
    assert registry.config_from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_to_dict_does_not_alias_the_config() -> None:
    cfg = registry.config_for("lstm")
    d = cfg.to_dict()
    d["output_dim"] = 3
    assert cfg.output_dim == 88


@pytest.mark.parametrize("family", FAMILIES)
def test_for_variant_gives_each_variant_and_rejects_others(family: str) -> None:
    cls = registry.families()[family].config
    for variant in cls.variants:
        cfg = cls.for_variant(variant)
        assert type(cfg) is cls and cfg.name == variant
    for bad in ("nope", "", "AF-AF", *(n for n in NAMES if n not in cls.variants)):
        with pytest.raises(ValueError):
            cls.for_variant(bad)


def test_base_for_variant_checks_the_name() -> None:
    with pytest.raises(ValueError, match="lstm has no variant 'x'"):
        LSTMConfig.for_variant("x")
    assert LSTMConfig.for_variant("lstm") == LSTMConfig()
    with pytest.raises(ValueError):
        ModelConfig.for_variant("anything")  # the base has no variants at all


def test_reading_model_configs_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import lnfmusic.model.config, lnfmusic.model.registry, lnfmusic.model\n"
        "from lnfmusic.model import registry\n"
        "registry.config_from_dict(registry.config_for('af-af').to_dict())\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
