"""Discrete flows: invertible maps on categorical data (Tran et al. 2019).

``log p(y) = log p_base(f^{-1}(y))`` exactly, with no Jacobian term. Every tensor of
categorical values is one-hot, ``(B, T, F, K)``: T positions along which autoregressive
layers run (time steps, or the D dimensions of a fixed-size vector), F variables per
position (88 keys of a piano-roll step; 1 for text and fixed-size vectors), K classes.

- ``modular.py``: ``y = (loc + scale * x) mod K`` on one-hot tensors, integer arithmetic
  forward, exact inverse (table of inverses mod K), gradients of the bilinear map backward.
- ``straight_through.py``: one-hot argmax forward, softmax-at-temperature gradient backward.
- ``networks.py``: conditioners ``(B, T, F, K) -> (B, T, F, P*K)``: MADE-style masked MLP,
  causal LSTM (autoregressive over T), bidirectional LSTM and dense MLP (for bipartite
  layers).
- ``layers.py``: autoregressive and bipartite flow layers.
- ``base.py``: factorised and autoregressive categorical bases.
- ``flow.py``: :class:`DiscreteFlow`, a base and a stack of layers.

References:
    Tran et al. (2019), Discrete Flows: Invertible Generative Models of Discrete Data.
"""

from lnfmusic.discrete.base import AutoregressiveBase, FactorizedBase
from lnfmusic.discrete.flow import DiscreteFlow
from lnfmusic.discrete.layers import AutoregressiveFlow, BipartiteFlow
from lnfmusic.discrete.modular import (
    affine_forward,
    affine_inverse,
    inverse_table,
    one_hot_add,
    one_hot_multiply,
    one_hot_subtract,
    units,
)
from lnfmusic.discrete.networks import MLP, BiLSTMNet, CausalLSTMNet, MaskedMLP
from lnfmusic.discrete.straight_through import one_hot_argmax

__all__ = [
    "AutoregressiveBase",
    "AutoregressiveFlow",
    "BiLSTMNet",
    "BipartiteFlow",
    "CausalLSTMNet",
    "DiscreteFlow",
    "FactorizedBase",
    "MLP",
    "MaskedMLP",
    "affine_forward",
    "affine_inverse",
    "inverse_table",
    "one_hot_add",
    "one_hot_argmax",
    "one_hot_multiply",
    "one_hot_subtract",
    "units",
]
