"""The texture statistics against rolls whose answers are counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lnfmusic.evaluate.texture import texture


def roll(steps: list[list[int]]) -> np.ndarray:
    r = np.zeros((len(steps), 88), dtype=np.uint8)
    for t, keys in enumerate(steps):
        r[t, keys] = 1
    return r


def test_a_held_c_major_chord_and_a_clash() -> None:
    # steps 0-1: C E G C' (keys 39 43 46 51), four notes, no clash, held two steps;
    # step 2: C and C# (a minor second) and F# (a tritone above C, a fifth above C#)
    r = roll([[39, 43, 46, 51], [39, 43, 46, 51], [39, 40, 45]])
    s = texture([r])
    assert s["steps"] == 3
    assert s["notes_per_step"] == pytest.approx(11 / 3)
    assert s["four_note_share"] == pytest.approx(2 / 3)
    # pairs: 6 + 6 + 3 = 15; clashes: C-C# (1) and C-F# (6) in step 2
    assert s["dissonant_share"] == pytest.approx(2 / 15)
    # notes: C held 3 steps, E 2, G 2, C' 2, C# 1, F# 1 -> 11 sounding steps / 6 notes
    assert s["mean_note_length"] == pytest.approx(11 / 6)


def test_pieces_are_counted_together_and_notes_do_not_run_across_them() -> None:
    a, b = roll([[40], [40]]), roll([[40], [], [40]])
    s = texture([a, b])
    assert s["steps"] == 5
    assert s["mean_note_length"] == pytest.approx(4 / 3)  # runs 2, 1, 1
    assert s["dissonant_share"] == 0.0  # no pairs at all: 0, not a division by zero


def test_a_major_seventh_counts_as_a_clash_and_an_octave_does_not() -> None:
    assert texture([roll([[39, 50]])])["dissonant_share"] == 1.0  # 11 semitones
    assert texture([roll([[39, 51]])])["dissonant_share"] == 0.0  # 12 semitones
