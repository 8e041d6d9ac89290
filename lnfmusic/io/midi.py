"""Piano rolls <-> MIDI files (pretty_midi).

A roll is a ``(T, 88)`` 0/1 array on a grid of ``steps_per_beat`` steps per quarter note;
column ``j`` is MIDI pitch ``j + pitch_offset`` (21..108 by default).

Writing: held notes by default (consecutive active steps of a pitch merge into one note) or
``restrike`` (every active step is its own note); 480 ticks per beat, so every step boundary
falls exactly on a tick; a text event marks the end of the last step so trailing rests
survive a round trip; note-offs precede note-ons at a shared tick.

Reading: note boundaries are converted to beats through the file's own tick grid (tempo
changes do not matter) and *rounded* to the nearest step (not floored; ``get_piano_roll`` is
not used). A note that rounds to zero length keeps one step. Drum tracks are dropped; the
sustain pedal is ignored unless ``sustain=True``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import atomic_path

RESOLUTION = 480
END_MARKER = "lnfmusic:end"
ARTICULATIONS = ("hold", "restrike")


def _note_spans(column: np.ndarray, articulation: str) -> list[tuple[int, int]]:
    """``[start, end)`` step spans of the notes of one pitch column."""
    active = np.flatnonzero(column)
    if articulation == "restrike" or len(active) == 0:
        return [(int(t), int(t) + 1) for t in active]
    breaks = np.flatnonzero(np.diff(active) > 1)
    starts = np.concatenate([[active[0]], active[breaks + 1]])
    ends = np.concatenate([active[breaks], [active[-1]]]) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def roll_to_midi(
    roll: np.ndarray, *, steps_per_beat: int = 2, bpm: float = 120.0, program: int = 0,
    articulation: str = "hold", pitch_offset: int = 21, velocity: int = 80,
    resolution: int = RESOLUTION,
):
    """Build a :class:`pretty_midi.PrettyMIDI` from a ``(T, 88)`` roll."""
    import pretty_midi

    roll = np.asarray(roll)
    if roll.ndim != 2:
        raise ValueError(f"expected a (T, P) piano roll, got shape {roll.shape}")
    if articulation not in ARTICULATIONS:
        raise ValueError(f"articulation must be one of {ARTICULATIONS}, got {articulation!r}")
    if steps_per_beat < 1 or resolution % steps_per_beat:
        raise ValueError(f"steps_per_beat must divide {resolution}, got {steps_per_beat}")
    if not 0 <= program <= 127:
        raise ValueError(f"program must be in 0..127, got {program}")
    if not (0 <= pitch_offset and pitch_offset + roll.shape[1] <= 128):
        raise ValueError("pitches outside the MIDI range 0..127")
    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=float(bpm))
    inst = pretty_midi.Instrument(program=program)
    ticks_per_step = resolution // steps_per_beat
    tick = pm.tick_to_time  # exact tick -> seconds under the file's own tempo map
    for j in range(roll.shape[1]):
        for start, end in _note_spans(roll[:, j], articulation):
            inst.notes.append(pretty_midi.Note(
                velocity=velocity, pitch=j + pitch_offset,
                start=tick(start * ticks_per_step), end=tick(end * ticks_per_step)))
    inst.notes.sort(key=lambda n: (n.start, n.pitch))
    pm.instruments.append(inst)
    pm.text_events.append(pretty_midi.Text(END_MARKER, tick(len(roll) * ticks_per_step)))
    return pm


def write_midi(roll: np.ndarray, path: str | os.PathLike[str], **kwargs) -> None:
    """Write ``roll`` as a MIDI file at ``path`` atomically (see :func:`roll_to_midi`)."""
    pm = roll_to_midi(roll, **kwargs)
    with atomic_path(path) as tmp:
        pm.write(str(tmp))


def _read(path: Path):
    import pretty_midi

    if not path.is_file():
        raise LnfError("no such MIDI file", path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pretty_midi.PrettyMIDI(str(path))
    except Exception as e:  # mido/pretty_midi raise many types for a broken file
        msg = str(e).strip().splitlines()[0][:100] if str(e).strip() else type(e).__name__
        raise LnfError(f"not a readable MIDI file ({msg})", path) from None


def _sustained_end(end: float, pedal: list[tuple[float, bool]]) -> float:
    """Extend a note end while the sustain pedal (CC64 >= 64) is down."""
    down = False
    for t, is_down in pedal:
        if t > end:
            return t if down else end
        down = is_down
    return end


def midi_to_roll(
    path: str | os.PathLike[str], *, steps_per_beat: int = 2, pitch_offset: int = 21,
    num_pitches: int = 88, sustain: bool = False,
) -> np.ndarray:
    """Read a MIDI file into a ``(T, num_pitches)`` uint8 roll on a ``steps_per_beat`` grid."""
    path = Path(path)
    pm = _read(path)
    melodic = [i for i in pm.instruments if not i.is_drum]
    if not any(i.notes for i in pm.instruments):
        raise LnfError("MIDI file has no notes", path)
    if not any(i.notes for i in melodic):
        raise LnfError("MIDI file has only drum tracks (drums are dropped)", path)

    def to_step(seconds: float) -> int:
        return int(round(pm.time_to_tick(seconds) / pm.resolution * steps_per_beat))

    spans = []
    for inst in melodic:
        pedal = sorted((c.time, c.value >= 64) for c in inst.control_changes if c.number == 64)
        for note in inst.notes:
            if not pitch_offset <= note.pitch < pitch_offset + num_pitches:
                raise LnfError(
                    f"pitch {note.pitch} outside the piano range "
                    f"{pitch_offset}..{pitch_offset + num_pitches - 1}", path)
            end = _sustained_end(note.end, pedal) if sustain else note.end
            start_step = to_step(note.start)
            spans.append((note.pitch - pitch_offset, start_step, max(to_step(end), start_step + 1)))
    T = max(max(e for _, _, e in spans), to_step(pm.get_end_time()))
    roll = np.zeros((T, num_pitches), dtype=np.uint8)
    for j, s, e in spans:
        roll[s:e, j] = 1
    return roll


def load_midi_folder(
    folder: str | os.PathLike[str], *, steps_per_beat: int = 2
) -> list[tuple[str, np.ndarray]]:
    """All ``.mid``/``.midi`` files of ``folder`` (sorted by name) as ``(name, roll)``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LnfError("no such folder of MIDI files", folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise LnfError("folder holds no .mid or .midi files", folder)
    return [(p.name, midi_to_roll(p, steps_per_beat=steps_per_beat)) for p in files]
