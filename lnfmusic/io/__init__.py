"""Files out (and in): MIDI, atomic writes."""
