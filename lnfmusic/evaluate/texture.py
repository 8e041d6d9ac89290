"""The texture of piano rolls: how many notes sound together, how often exactly four, how
often two of them clash, how long notes last. Compares samples and reconstructions with the
data (``benchmarks/sample_stats.py``): the notes of a step are what the emission decides."""

from __future__ import annotations

import numpy as np

# Intervals (semitones modulo 12) counted as a clash: minor second / major seventh, tritone.
DISSONANT = (1, 6, 11)


def texture(rolls: list[np.ndarray]) -> dict[str, float]:
    """Statistics over every step of ``rolls`` (each ``(T, 88)`` 0/1, key ``k`` = MIDI pitch
    ``21 + k``):

    - ``notes_per_step``: mean number of sounding keys;
    - ``four_note_share``: share of steps with exactly four;
    - ``dissonant_share``: of all pairs of keys sounding in one step, the share whose interval
      modulo 12 is in :data:`DISSONANT`;
    - ``mean_note_length``: mean length in steps of a note (a maximal run of one key);
    - ``steps``: how many steps were counted.
    """
    steps = notes = four = pairs = dissonant = 0
    runs = run_steps = 0
    interval = np.abs(np.arange(88)[:, None] - np.arange(88)[None, :]) % 12
    bad = np.isin(interval, DISSONANT)
    upper = np.triu(np.ones((88, 88), dtype=bool), 1)
    for roll in rolls:
        r = np.asarray(roll, dtype=np.int64)
        counts = r.sum(1)
        steps += len(r)
        notes += int(counts.sum())
        four += int((counts == 4).sum())
        co = r.T @ r  # (88, 88): steps in which keys i and j both sound
        pairs += int(co[upper].sum())
        dissonant += int(co[upper & bad].sum())
        onsets = np.diff(np.vstack([np.zeros((1, 88), np.int64), r]), axis=0) == 1
        runs += int(onsets.sum())
        run_steps += int(r.sum())
    return {
        "steps": steps,
        "notes_per_step": notes / max(steps, 1),
        "four_note_share": four / max(steps, 1),
        "dissonant_share": dissonant / max(pairs, 1),
        "mean_note_length": run_steps / max(runs, 1),
    }
