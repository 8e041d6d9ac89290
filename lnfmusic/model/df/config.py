"""Options of the Discrete Flows family (no torch import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lnfmusic.model.config import MAX_FLOW_LAYERS, MAX_LSTM_LAYERS, MAX_WIDTH, ModelConfig
from lnfmusic.options import option

FLOWS = ("bipartite", "ar")


@dataclass
class DFConfig(ModelConfig):
    """A discrete flow over the observations; ``flow`` is the variant.

    - ``df-bipartite``: factorised base, ``num_flows`` bipartite layers (BiLSTM
      conditioners). Music alternates even/odd keys and even/odd steps; text even/odd
      positions. Density and sampling are both one pass per layer.
    - ``df-ar``: autoregressive base (an LSTM over steps) and ``num_flows`` autoregressive
      layers, the first right-to-left, then alternating. Density is parallel; sampling is
      serial (one pass per step per layer).

    Every network is told (t, T) through a position embedding, as the other families are.
    """

    family: ClassVar[str] = "df"
    variants: ClassVar[tuple[str, ...]] = tuple(f"df-{f}" for f in FLOWS)
    variant_field: ClassVar[str | None] = "flow"

    flow: str = option("bipartite", "layer type", choices=FLOWS, cli=False)
    num_flows: int = option(8, "flow layers", ge=1, le=MAX_FLOW_LAYERS)
    embed_dim: int = option(400, "input and position embedding size", ge=1, le=MAX_WIDTH)
    hidden_size: int = option(915, "LSTM hidden size of every conditioner", ge=1, le=MAX_WIDTH)
    num_layers: int = option(1, "LSTM layers of every conditioner", ge=1, le=MAX_LSTM_LAYERS)
    scale: bool = option(False, "learn a scale as well as a location (text; K = 2 has none)")
    gradient_temperature: float = option(
        0.1, "softmax temperature of the straight-through gradient", gt=0, le=10
    )
    identity_bias: float = option(
        0.0,
        "added to the logits of the identity map, so every layer starts as it (0: off)",
        ge=0,
        le=100,
    )
    logit_bound: float = option(
        0.0, "squash every flow layer's logits into (-b, b) with a tanh (0: off)", ge=0, le=100
    )

    @property
    def name(self) -> str:
        return f"df-{self.flow}"

    @classmethod
    def for_variant(cls, name: str) -> DFConfig:
        if name not in cls.variants:
            raise ValueError(f"df has no variant {name!r}; choose from {', '.join(cls.variants)}")
        return cls(flow=name.removeprefix("df-"))

    def adapt_to_preset(self, preset: str, kind: str) -> None:
        """Fewer layers below the paper's 8 (PTB bipartite: embedding 400, LSTM 915).
        ``df-ar`` layers start as the identity in every preset: started as random
        relabellings of the past they kept the AR base from learning (JSB validation 10.57
        against 10.27 at epoch 16; 8.33 at best with the identity start)."""
        if self.flow == "ar":
            self.identity_bias = 1.0
        if preset == "small":
            self.num_flows = 4
        elif preset == "tiny":
            self.num_flows = 2
        if preset == "paper" and kind == "text":
            self.scale = True
