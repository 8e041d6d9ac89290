"""The Discrete Flows family's options: variants, presets, round trip through the registry."""

from __future__ import annotations

import pytest

from lnfmusic.config import preset
from lnfmusic.model.df.config import DFConfig
from lnfmusic.model.registry import config_for, config_from_dict, family_of


def test_variants_are_the_two_flows() -> None:
    assert DFConfig.variants == ("df-bipartite", "df-ar")
    for name in DFConfig.variants:
        cfg = config_for(name)
        assert isinstance(cfg, DFConfig) and cfg.name == name
        assert family_of(name).name == "df"
    with pytest.raises(ValueError):
        DFConfig.for_variant("df-iaf")


def test_round_trip_through_the_registry() -> None:
    cfg = DFConfig(flow="ar", num_flows=3, scale=True)
    assert config_from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("kind", ["music", "text"])
def test_presets_set_the_number_of_layers_and_the_text_paper_scale(kind: str) -> None:
    paper = preset("paper", kind, "df-bipartite").model
    assert (paper.num_flows, paper.embed_dim, paper.hidden_size) == (8, 400, 915)
    assert paper.scale is (kind == "text")
    assert preset("small", kind, "df-ar").model.num_flows == 4
    assert preset("tiny", kind, "df-ar").model.num_flows == 2


def test_df_ar_presets_start_their_layers_as_the_identity_and_a_flag_overrides() -> None:
    from lnfmusic.config import apply_overrides, preset

    for name in ("tiny", "small", "paper"):
        assert preset(name, "music", "df-ar").model.identity_bias == 1.0
        assert preset(name, "text", "df-bipartite").model.identity_bias == 0.0
    config = preset("small", "text", "df-ar")
    apply_overrides(config, ["model.identity_bias=0"])
    assert config.model.identity_bias == 0.0
