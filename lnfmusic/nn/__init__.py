"""Network pieces shared by the flows and the models: length conditioning, masked layers,
helpers for padded sequences, Gaussian log-densities. Imports nothing else of the package."""
