"""The LSTM baseline family: an autoregressive LSTM over x with exact likelihood."""
