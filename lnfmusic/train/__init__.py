"""Training: presets, the ELBO loop, KL annealing, checkpoints."""
