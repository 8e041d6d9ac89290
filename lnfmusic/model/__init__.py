"""Model families behind one interface (:mod:`lnfmusic.model.base`), found by name in
:mod:`lnfmusic.model.registry`: the LNF VAE (``lnf``), the LSTM baseline (``lstm``) and
Discrete Flows (``df``)."""

from lnfmusic.model.df.config import DFConfig
from lnfmusic.model.lnf.config import LNFConfig
from lnfmusic.model.lstm.config import LSTMConfig
from lnfmusic.model.registry import register

register(LNFConfig, "lnfmusic.model.lnf.model:LNFModel")
register(LSTMConfig, "lnfmusic.model.lstm.model:LSTMBaseline")
register(DFConfig, "lnfmusic.model.df.model:DiscreteFlowModel")
