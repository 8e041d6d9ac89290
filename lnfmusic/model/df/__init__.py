"""The Discrete Flows family (Tran et al. 2019): exact likelihood by invertible maps on the
observations themselves, built from :mod:`lnfmusic.discrete`."""
