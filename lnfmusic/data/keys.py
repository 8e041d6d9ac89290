"""Keys of piano rolls: estimating the tonic and mode, and transposing.

The four polyphonic benchmark sets (JSB, Nottingham, Piano-midi, MuseData) were published
with every piece transposed to C major or C minor (Boulanger-Lewandowski et al., 2012); a
model trained on them has seldom seen another key. :func:`shift_to_c` finds the shift that
moves a roll's estimated tonic to C, so a primer in D major can be moved down a tone,
continued in the model's key, and moved back.

The key is the major or minor key whose Krumhansl-Kessler profile correlates best with the
roll's pitch-class histogram, each sounding step of a note counted once: the classic
Krumhansl-Schmuckler method. On the JSB training set it names C (major or minor) for 180 of
229 chorales and G (the dominant, its usual confusion) for 33.

References:
    Krumhansl, C. (1990). Cognitive Foundations of Musical Pitch, ch. 4 (the profiles).
"""

from __future__ import annotations

import numpy as np

from lnfmusic.errors import LnfError

# Probe-tone ratings for C major and C minor (Krumhansl & Kessler 1982), C first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def pitch_class_histogram(roll: np.ndarray, pitch_offset: int = 21) -> np.ndarray:
    """Sounding steps per pitch class, ``(12,)``, of a ``(T, P)`` roll whose column 0 is
    MIDI pitch ``pitch_offset``."""
    per_pitch = np.asarray(roll, dtype=np.float64).sum(0)
    hist = np.zeros(12)
    np.add.at(hist, (np.arange(len(per_pitch)) + pitch_offset) % 12, per_pitch)
    return hist


def estimate_key(roll: np.ndarray, pitch_offset: int = 21) -> tuple[int, str]:
    """``(tonic pitch class 0..11, "major" | "minor")`` of a roll with at least two sounding
    pitch classes. Raises :class:`LnfError` for a roll too bare to have a key."""
    hist = pitch_class_histogram(roll, pitch_offset)
    if np.count_nonzero(hist) < 2:
        raise LnfError("too few distinct pitches to estimate a key (use --transpose N)")
    best = (-np.inf, 0, "major")
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def key_name(tonic: int, mode: str) -> str:
    return f"{PITCH_NAMES[tonic % 12]} {mode}"


def shift_to_c(roll: np.ndarray, pitch_offset: int = 21) -> int:
    """The shift in semitones, in -6..5, that moves the roll's estimated tonic to C."""
    tonic, _ = estimate_key(roll, pitch_offset)
    return (-tonic + 6) % 12 - 6


def transpose(roll: np.ndarray, semitones: int, drop: bool = False) -> np.ndarray:
    """The roll moved by ``semitones`` (columns shifted). A note that would leave the
    keyboard raises :class:`LnfError`, or is dropped if ``drop``."""
    roll = np.asarray(roll)
    if semitones == 0:
        return roll.copy()
    active = np.flatnonzero(roll.any(0))
    P = roll.shape[1]
    off = len(active) and (active[0] + semitones < 0 or active[-1] + semitones >= P)
    if off and not drop:
        raise LnfError(f"transposing by {semitones:+d} semitones moves notes off the {P}-key range")
    out = np.zeros_like(roll)
    if semitones > 0:
        out[:, semitones:] = roll[:, : P - semitones]
    else:
        out[:, : P + semitones] = roll[:, -semitones:]
    return out
