"""lnfmusic: latent normalizing flows for discrete sequences (polyphonic music and text).

References:
    Ziegler & Rush, "Latent Normalizing Flows for Discrete Sequences", ICML 2019.
"""

__version__ = "0.1.0"
