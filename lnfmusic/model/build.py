"""Build a model from its :class:`~lnfmusic.config.ModelConfig`."""

from __future__ import annotations

from torch import nn

from lnfmusic.config import MODELS, ModelConfig
from lnfmusic.model.lnf import LNFModel
from lnfmusic.model.lstm import LSTMBaseline


def build_model(cfg: ModelConfig) -> LNFModel | LSTMBaseline:
    if cfg.model not in MODELS:
        raise ValueError(f"unknown model {cfg.model!r}; choose from {', '.join(MODELS)}")
    return LSTMBaseline(cfg) if cfg.model == "lstm" else LNFModel(cfg)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
