"""Files out (and in): MIDI, piano-roll pictures, atomic writes."""
