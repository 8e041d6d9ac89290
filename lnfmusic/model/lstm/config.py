"""Options of the LSTM baseline (no torch import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lnfmusic.model.config import MAX_LSTM_LAYERS, MAX_WIDTH, ModelConfig
from lnfmusic.options import option


@dataclass
class LSTMConfig(ModelConfig):
    """A stacked LSTM language model over the observations, told t and T."""

    family: ClassVar[str] = "lstm"
    variants: ClassVar[tuple[str, ...]] = ("lstm",)

    embed_dim: int = option(
        500, "input embedding (tied with the output weights)", ge=1, le=MAX_WIDTH
    )
    hidden_size: int = option(500, "LSTM hidden size", ge=1, le=MAX_WIDTH)
    num_layers: int = option(2, "LSTM layers", ge=1, le=MAX_LSTM_LAYERS)
    dropout: float = option(0.0, "dropout on the LSTM's inputs and outputs", ge=0, lt=1)
