"""Options of the LNF family (no torch import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lnfmusic.errors import LnfError
from lnfmusic.flows.names import HIDDEN_FLOWS, PRIORS, TRANSFORMS
from lnfmusic.model.config import MAX_FLOW_LAYERS, MAX_LSTM_LAYERS, MAX_WIDTH, ModelConfig
from lnfmusic.options import option

EMISSIONS = ("independent", "made")
EMISSION_FEATURES = ("tanh", "linear")


@dataclass
class LNFConfig(ModelConfig):
    """Architecture of an LNF model; ``prior`` is the variant (``--model`` name)."""

    family: ClassVar[str] = "lnf"
    variants: ClassVar[tuple[str, ...]] = tuple(PRIORS)
    variant_field: ClassVar[str | None] = "prior"

    prior: str = option("af-af", "flow prior over the latents", choices=tuple(PRIORS), cli=False)
    transform: str = option("nlsq", "scalar transform of the prior", choices=TRANSFORMS)
    hidden_flow: str | None = option(
        None, "flow within a time step (unset: the prior's own)", choices=HIDDEN_FLOWS
    )
    latent_dim: int = option(50, "H, size of each latent vector z_t", ge=1, le=MAX_WIDTH)
    embed_dim: int = option(
        500, "input embedding (tied with the output weights)", ge=1, le=MAX_WIDTH
    )
    hidden_size: int = option(
        500, "LSTM hidden size (encoder, emission, prior)", ge=1, le=MAX_WIDTH
    )
    num_layers: int = option(2, "LSTM layers everywhere", ge=1, le=MAX_LSTM_LAYERS)
    flow_layers: int = option(5, "flow layers within a time step", ge=1, le=MAX_FLOW_LAYERS)
    flow_hidden: int = option(500, "width of the MADE / coupling networks", ge=1, le=MAX_WIDTH)
    nlsq_alpha: float = option(0.95, "NLSq bound: |c| < alpha * 8 sqrt(3)/9 * b/d", gt=0, lt=1)
    prior_dropout: float = option(0.2, "dropout on the prior's LSTM", ge=0, lt=1)
    dropout: float = option(0.0, "dropout outside the prior (encoder, emission)", ge=0, lt=1)
    emission: str = option(
        "independent",
        "p(x_t | z): independent notes, or made (the notes of a step autoregressive over "
        "pitch, low to high; music only)",
        choices=EMISSIONS,
    )
    emission_hidden: int = option(
        256, "width of the made emission's hidden layer", ge=1, le=MAX_WIDTH
    )
    emission_feature: str = option(
        "tanh",
        "the emission's per-step feature before the tied output layer: tanh (bounded), or "
        "linear (as the LNF reference code; learns much faster early on)",
        choices=EMISSION_FEATURES,
    )

    @property
    def name(self) -> str:
        return self.prior

    @classmethod
    def for_variant(cls, name: str) -> LNFConfig:
        if name not in PRIORS:
            raise ValueError(f"lnf has no prior {name!r}; choose from {', '.join(PRIORS)}")
        return cls(prior=name)

    def adapt_to_preset(self, preset: str, kind: str) -> None:
        """The paper's IAF/SCF text model has 3 flow layers in hidden, not 5."""
        if preset == "paper" and kind == "text" and self.prior == "iaf-scf":
            self.flow_layers = 3

    def variant(self) -> str:
        parts = [f"{self.emission} emission"] if self.emission != "independent" else []
        if self.emission_feature != "tanh":
            parts.append(f"{self.emission_feature} feature")
        return ", ".join(parts)

    def check(self) -> None:
        if self.emission == "made" and self.data_kind != "music":
            raise LnfError("model.emission: made is for music (88 keys); text is categorical")

    def resolved_hidden_flow(self) -> str:
        """The flow in hidden actually used: ``hidden_flow``, or the prior's own."""
        return self.hidden_flow if self.hidden_flow is not None else PRIORS[self.prior][1]
