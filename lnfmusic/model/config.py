"""The base of every model family's configuration (no torch import: the CLI reads it).

A family's config is a dataclass deriving from :class:`ModelConfig`, its fields declared
with :func:`lnfmusic.options.option`. The three data fields are filled in from the dataset
by the trainer, never set by the user.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from lnfmusic.options import option

DATA_FIELDS = ("data_kind", "output_dim", "max_length")
# Upper bounds of the families' sizes, far beyond any model trained here (the paper's are 500
# wide and 2 LSTM layers deep), so that a typo is an error rather than an allocation that
# fails (or a machine that swaps) minutes later
MAX_WIDTH = 4096  # embeddings, hidden sizes, latent sizes, flow networks
MAX_LSTM_LAYERS = 16
MAX_FLOW_LAYERS = 64


@dataclass
class ModelConfig:
    """Fields every family has. ``family`` names the family (the registry key);
    ``variants`` are the ``--model`` names it provides; :attr:`name` is this config's."""

    family: ClassVar[str] = ""
    variants: ClassVar[tuple[str, ...]] = ()
    variant_field: ClassVar[str | None] = None  # the field that holds the variant, if any

    data_kind: str = option("music", "kind of data (from the dataset)", choices=("music", "text"))
    output_dim: int = option(88, "88 keys, or the vocabulary size (from the dataset)", ge=1)
    max_length: int = option(200, "positions known to the length embeddings (from p(T))", ge=1)

    @property
    def name(self) -> str:
        """The ``--model`` name of this configuration (a family with one variant: its
        family name)."""
        return self.family

    @classmethod
    def for_variant(cls, name: str) -> ModelConfig:
        """The default configuration of the variant ``name`` (one of :attr:`variants`)."""
        if name not in cls.variants:
            raise ValueError(f"{cls.family} has no variant {name!r}")
        return cls()

    def adapt_to_preset(self, preset: str, kind: str) -> None:
        """Family-specific changes to a preset's sizes (in place); none by default."""

    def variant(self) -> str:
        """What sets this model apart from its family's usual one, for labels (e.g. ``made
        emission``); empty by default."""
        return ""

    def check(self) -> None:
        """Checks across fields, after the field-by-field ones (an :class:`LnfError`);
        none by default."""

    def to_dict(self) -> dict[str, Any]:
        """Plain types, tagged with the family (what checkpoints and config.json store)."""
        return {"family": self.family, **dataclasses.asdict(self)}
