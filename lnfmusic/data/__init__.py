"""Data in: polyphonic music piano rolls, text corpora, batching and the length prior p(T)."""
