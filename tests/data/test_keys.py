"""Key estimation and transposition of piano rolls."""

from __future__ import annotations

import numpy as np
import pytest

from lnfmusic.data.keys import estimate_key, key_name, pitch_class_histogram, shift_to_c, transpose
from lnfmusic.errors import LnfError

# I - IV - V - I in C major and i - iv - V - i in C minor, as MIDI pitches, one chord a step
C_MAJOR = [(48, 64, 67, 72), (53, 65, 69, 72), (55, 62, 67, 71), (48, 64, 67, 72)]
C_MINOR = [(48, 63, 67, 72), (53, 65, 68, 72), (55, 62, 67, 71), (48, 63, 67, 72)]


def roll_of(chords: list[tuple[int, ...]], shift: int = 0) -> np.ndarray:
    roll = np.zeros((len(chords) * 2, 88), dtype=np.uint8)
    for t, chord in enumerate(chords):
        for p in chord:
            roll[2 * t : 2 * t + 2, p + shift - 21] = 1
    return roll


@pytest.mark.parametrize("shift", range(-6, 6))
def test_cadences_are_found_in_every_key(shift: int) -> None:
    assert estimate_key(roll_of(C_MAJOR, shift)) == (shift % 12, "major")
    assert estimate_key(roll_of(C_MINOR, shift)) == (shift % 12, "minor")
    assert shift_to_c(roll_of(C_MAJOR, shift)) == (-shift + 6) % 12 - 6  # to C, in -6..5


def test_histogram_counts_sounding_steps_per_pitch_class() -> None:
    roll = np.zeros((3, 88), dtype=np.uint8)
    roll[:, 60 - 21] = 1  # middle C for 3 steps
    roll[0, 72 - 21] = 1  # C5 once
    roll[1, 61 - 21] = 1
    hist = pitch_class_histogram(roll)
    assert hist[0] == 4 and hist[1] == 1 and hist.sum() == 5


def test_a_bare_roll_has_no_key() -> None:
    roll = np.zeros((4, 88), dtype=np.uint8)
    roll[:, 39] = 1
    with pytest.raises(LnfError, match="too few distinct pitches"):
        estimate_key(roll)


def test_transpose_moves_columns_and_refuses_or_drops_off_keyboard_notes() -> None:
    roll = roll_of(C_MAJOR)
    up = transpose(roll, 3)
    assert np.array_equal(transpose(up, -3), roll)
    assert up.sum() == roll.sum() and np.array_equal(up[:, 3:], roll[:, :-3])
    edge = np.zeros((2, 88), dtype=np.uint8)
    edge[0, 87] = edge[1, 10] = 1
    with pytest.raises(LnfError, match="off the 88-key range"):
        transpose(edge, 1)
    dropped = transpose(edge, 1, drop=True)
    assert dropped.sum() == 1 and dropped[1, 11] == 1
    assert key_name(9, "minor") == "A minor"
