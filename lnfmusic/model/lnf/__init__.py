"""The LNF family (Ziegler & Rush 2019): a VAE whose prior is a normalizing flow over the
latent sequence. ``config`` (options), ``encoder`` q(z|x), ``emission`` p(x|z), ``model``."""
