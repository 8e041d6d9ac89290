"""The models: the LNF VAE (inference network, emission, flow prior) and the LSTM baseline."""
