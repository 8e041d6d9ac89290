"""Normalizing flows: scalar transforms, flows within a time step (hidden) and across time,
the named priors (``names`` lists them without importing torch)."""
