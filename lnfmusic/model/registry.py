"""Model families by name: each is a config class (light, read by the CLI) and a model
class (imported only when a model is built).

A family registers itself with :func:`register`; the built-in ones (``lnf``, ``lstm``) are
registered by ``lnfmusic.model``. ``--model`` names are the families' variants (``af-af``,
``af-scf``, ``iaf-scf``, ``af-only`` of ``lnf``; ``lstm``).
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lnfmusic.model.config import ModelConfig

if TYPE_CHECKING:
    from lnfmusic.model.base import SequenceModel


@dataclass(frozen=True)
class Family:
    """``config``: the family's :class:`ModelConfig` subclass; ``model``: its
    :class:`~lnfmusic.model.base.SequenceModel` as ``"module:Class"``."""

    config: type[ModelConfig]
    model: str

    @property
    def name(self) -> str:
        return self.config.family

    def model_class(self) -> type[SequenceModel]:
        module, _, cls = self.model.partition(":")
        return getattr(importlib.import_module(module), cls)


_FAMILIES: dict[str, Family] = {}


def register(config: type[ModelConfig], model: str) -> Family:
    """Add a family; its variant names must not clash with another family's."""
    taken = {v for f in _FAMILIES.values() if f.name != config.family for v in f.config.variants}
    clash = taken & set(config.variants)
    if clash:
        raise ValueError(f"model name(s) {', '.join(sorted(clash))} already registered")
    family = Family(config, model)
    _FAMILIES[config.family] = family
    return family


def families() -> dict[str, Family]:
    return dict(_FAMILIES)


def model_names() -> tuple[str, ...]:
    """Every ``--model`` name, in registration order."""
    return tuple(v for f in _FAMILIES.values() for v in f.config.variants)


def family_of(model_name: str) -> Family:
    for family in _FAMILIES.values():
        if model_name in family.config.variants:
            return family
    raise ValueError(f"unknown model {model_name!r}; choose from {', '.join(model_names())}")


def config_for(model_name: str) -> ModelConfig:
    """The default config of the ``--model`` name ``model_name``."""
    return family_of(model_name).config.for_variant(model_name)


def config_from_dict(d: dict[str, Any]) -> ModelConfig:
    """Rebuild a config from :meth:`ModelConfig.to_dict`; unknown keys are an error."""
    d = dict(d)
    name = d.pop("family", None)
    if name not in _FAMILIES:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(_FAMILIES)}")
    cls = _FAMILIES[name].config
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise KeyError(f"unknown {name} option(s): {', '.join(sorted(unknown))}")
    return cls(**d)


def build_model(config: ModelConfig) -> SequenceModel:
    """The model of ``config``'s family, freshly initialised from the global torch RNG."""
    if config.family not in _FAMILIES:
        raise ValueError(f"unknown model family {config.family!r}")
    return _FAMILIES[config.family].model_class()(config)
