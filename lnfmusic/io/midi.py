"""Piano rolls <-> MIDI files (pretty_midi, with mido for the final message order).

A roll is a ``(T, P)`` 0/1 array (``P = 88``) on a grid of ``steps_per_beat`` steps per quarter
note; column ``j`` is MIDI pitch ``j + pitch_offset`` (21..108 by default).

Writing (:func:`roll_to_midi`, :func:`write_midi`):
  - ``hold`` (default): consecutive active steps of a pitch merge into one note;
    ``restrike``: every active step is its own note. No note has zero length.
  - 480 ticks per beat and ``480 / steps_per_beat`` ticks per step, so every step boundary is a
    whole tick: the tempo (``bpm``) changes the seconds, never the grid.
  - A text event ``lnfmusic:end`` marks the end of the last step, so trailing rests survive a
    round trip.
  - :func:`write_midi` reorders each tick's messages so that every note-off precedes every
    note-on (pretty_midi orders them by pitch, which can put a note-on before another
    pitch's note-off at the same tick).

Reading (:func:`midi_to_roll`):
  - Note boundaries are taken in beats through the file's own tick grid
    (``tick / ticks_per_beat``), so tempo changes do not move them, and *rounded* to the
    nearest step (halves round up); ``get_piano_roll`` is not used.
  - A note that rounds to zero length (shorter than about half a step) keeps one step,
    starting at its rounded onset.
  - The roll ends at the last note end, or at the ``lnfmusic:end`` marker if that is later.
  - Drum tracks are dropped. The sustain pedal is ignored unless ``sustain=True``.
  - Pitches outside ``pitch_offset .. pitch_offset + P - 1``, a file that is not MIDI, and a
    file without (non-drum) notes raise :class:`~lnfmusic.errors.LnfError` naming the file.
"""

from __future__ import annotations

import bisect
import io
import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import atomic_path

if TYPE_CHECKING:
    import mido
    import pretty_midi

RESOLUTION = 480
END_MARKER = "lnfmusic:end"
ARTICULATIONS = ("hold", "restrike")
MIDI_SUFFIXES = (".mid", ".midi")


def _note_spans(column: np.ndarray, articulation: str) -> list[tuple[int, int]]:
    """``[start, end)`` step spans of the notes of one pitch column ``(T,)``."""
    active = np.flatnonzero(column)
    if articulation == "restrike" or len(active) == 0:
        return [(int(t), int(t) + 1) for t in active]
    breaks = np.flatnonzero(np.diff(active) > 1)
    starts = np.concatenate([[active[0]], active[breaks + 1]])
    ends = np.concatenate([active[breaks], [active[-1]]]) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _check_write_args(
    roll: np.ndarray,
    steps_per_beat: int,
    bpm: float,
    program: int,
    articulation: str,
    pitch_offset: int,
    velocity: int,
    resolution: int,
) -> None:
    if roll.ndim != 2:
        raise LnfError(f"expected a (T, 88) piano roll, got shape {roll.shape}")
    if articulation not in ARTICULATIONS:
        raise LnfError(
            f"articulation must be one of {', '.join(ARTICULATIONS)}, got {articulation!r}"
        )
    if resolution < 1 or steps_per_beat < 1 or resolution % steps_per_beat:
        raise LnfError(
            f"steps per beat must divide the resolution {resolution} "
            f"(ticks per beat), got {steps_per_beat}"
        )
    # A MIDI file stores the tempo as a whole number of microseconds per beat, 1..2^24 - 1
    # (pretty_midi truncates 60e6 / bpm).
    if not (math.isfinite(bpm) and bpm > 0 and 1 <= int(60e6 / bpm) <= MAX_TEMPO_US):
        raise LnfError(
            f"bpm must be between {60e6 / MAX_TEMPO_US:.4g} and {60e6:,.0f} "
            f"(a MIDI tempo is 1 to {MAX_TEMPO_US:,} microseconds per beat), got {bpm:g}"
        )
    if not 0 <= program <= 127:
        raise LnfError(f"MIDI program must be in 0..127, got {program}")
    if not 1 <= velocity <= 127:
        raise LnfError(f"velocity must be in 1..127, got {velocity}")
    if not (0 <= pitch_offset and pitch_offset + roll.shape[1] <= 128):
        raise LnfError(
            f"pitches {pitch_offset}..{pitch_offset + roll.shape[1] - 1} "
            "fall outside the MIDI range 0..127"
        )


MAX_TEMPO_US = 0xFFFFFF


def roll_to_midi(
    roll: np.ndarray,
    *,
    steps_per_beat: int = 2,
    bpm: float = 120.0,
    program: int = 0,
    articulation: str = "hold",
    pitch_offset: int = 21,
    velocity: int = 80,
    resolution: int = RESOLUTION,
) -> pretty_midi.PrettyMIDI:
    """Build a MIDI score from a piano roll.

    Args:
        roll: ``(T, P)`` array, nonzero = key down; column ``j`` is pitch ``j + pitch_offset``.
        steps_per_beat: grid steps per quarter note; must divide ``resolution``.
        bpm: tempo in quarter notes per minute.
        program: General MIDI program (0 = acoustic grand piano).
        articulation: ``"hold"`` (merge consecutive steps) or ``"restrike"`` (one note a step).
        resolution: ticks per quarter note.

    Returns:
        A ``pretty_midi.PrettyMIDI`` with one instrument. Save it with :func:`write_midi`
        (which also fixes the note-off/note-on order), not ``PrettyMIDI.write``.
    """
    import pretty_midi

    roll = np.asarray(roll)
    _check_write_args(
        roll, steps_per_beat, bpm, program, articulation, pitch_offset, velocity, resolution
    )
    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=float(bpm))
    inst = pretty_midi.Instrument(program=program)
    ticks_per_step = resolution // steps_per_beat
    # One constant tempo: seconds = tick * (60 / (bpm * resolution)), exactly the scale
    # pretty_midi uses to turn these times back into ticks when it writes.
    seconds_per_step = ticks_per_step * 60.0 / (float(bpm) * resolution)
    for j in range(roll.shape[1]):
        for start, end in _note_spans(roll[:, j], articulation):
            inst.notes.append(
                pretty_midi.Note(
                    velocity=velocity,
                    pitch=j + pitch_offset,
                    start=start * seconds_per_step,
                    end=end * seconds_per_step,
                )
            )
    inst.notes.sort(key=lambda n: (n.start, n.pitch))
    pm.instruments.append(inst)
    pm.text_events.append(pretty_midi.Text(END_MARKER, len(roll) * seconds_per_step))
    return pm


def _is_note_off(msg: mido.Message) -> bool:
    return msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0)


def _offs_before_ons(track: mido.MidiTrack) -> mido.MidiTrack:
    """The same track with each tick's messages ordered: others, note-offs, note-ons, end.

    The sort is stable, so messages of one kind keep pretty_midi's order.
    """
    import mido

    def rank(msg: Any) -> int:
        if msg.type == "end_of_track":
            return 3
        if _is_note_off(msg):
            return 1
        return 2 if msg.type == "note_on" else 0

    tick, timed = 0, []
    for msg in track:
        tick += msg.time
        timed.append((tick, msg))
    timed.sort(key=lambda tm: (tm[0], rank(tm[1])))
    out, last = mido.MidiTrack(), 0
    for tick, msg in timed:
        out.append(msg.copy(time=tick - last))
        last = tick
    return out


def to_mido(pm: pretty_midi.PrettyMIDI) -> mido.MidiFile:
    """Serialise ``pm`` to a ``mido.MidiFile`` whose note-offs precede note-ons at every tick."""
    import mido

    buffer = io.BytesIO()
    pm.write(buffer)
    buffer.seek(0)
    mid = mido.MidiFile(file=buffer)
    mid.tracks = [_offs_before_ons(track) for track in mid.tracks]
    return mid


def write_midi(roll: np.ndarray, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Write ``roll`` ``(T, 88)`` as a MIDI file at ``path``, atomically.

    ``kwargs`` are those of :func:`roll_to_midi`.
    """
    mid = to_mido(roll_to_midi(roll, **kwargs))
    with atomic_path(path) as tmp:
        mid.save(filename=str(tmp))


def _read(path: Path) -> pretty_midi.PrettyMIDI:
    import pretty_midi

    if not path.is_file():
        raise LnfError("no such MIDI file", path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pretty_midi.PrettyMIDI(str(path))
    except EOFError:
        raise LnfError(
            "not a readable MIDI file (it ends early: empty or truncated)", path
        ) from None
    except Exception as e:  # mido and pretty_midi raise many types for a broken file
        text = str(e).strip()
        detail = f"{type(e).__name__}: {text.splitlines()[0][:100]}" if text else type(e).__name__
        raise LnfError(f"not a readable MIDI file ({detail})", path) from None


def _sustained_end(
    end: float,
    next_onset: float,
    pedal_times: list[float],
    pedal_down: list[bool],
    piece_end: float,
) -> float:
    """Extend a note ending at ``end`` while the sustain pedal is down.

    The note lasts until the pedal is released (or the piece ends), but never past the next
    onset of the same pitch. ``pedal_times`` is sorted; ``pedal_down[i]`` is CC64 >= 64 there.
    """
    i = bisect.bisect_right(pedal_times, end)  # pedal events at or before the note end
    if i == 0 or not pedal_down[i - 1]:
        return end
    release = next(
        (t for t, down in zip(pedal_times[i:], pedal_down[i:], strict=True) if not down), piece_end
    )
    return max(end, min(release, next_onset))


def _note_events(pm: pretty_midi.PrettyMIDI, sustain: bool) -> list[tuple[int, float, float]]:
    """``(pitch, start, end)`` in seconds of every non-drum note, pedal applied if asked."""
    notes = []
    piece_end = pm.get_end_time()
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        if not sustain:
            notes += [(n.pitch, n.start, n.end) for n in inst.notes]
            continue
        pedal = sorted((c.time, c.value >= 64) for c in inst.control_changes if c.number == 64)
        times, down = [t for t, _ in pedal], [d for _, d in pedal]
        by_pitch: dict[int, list[tuple[float, float]]] = {}
        for n in inst.notes:
            by_pitch.setdefault(n.pitch, []).append((n.start, n.end))
        for pitch, spans in by_pitch.items():
            spans.sort()
            for k, (start, end) in enumerate(spans):
                nxt = spans[k + 1][0] if k + 1 < len(spans) else math.inf
                notes.append((pitch, start, _sustained_end(end, nxt, times, down, piece_end)))
    return notes


def midi_to_roll(
    path: str | os.PathLike[str],
    *,
    steps_per_beat: int = 2,
    pitch_offset: int = 21,
    num_pitches: int = 88,
    sustain: bool = False,
) -> np.ndarray:
    """Read a MIDI file into a piano roll (rules in the module docstring).

    Args:
        path: a ``.mid`` file.
        steps_per_beat: grid steps per quarter note.
        pitch_offset: MIDI pitch of column 0.
        num_pitches: number of columns.
        sustain: extend notes while the sustain pedal (CC64 >= 64) is down.

    Returns:
        ``(T, num_pitches)`` uint8 roll in {0, 1}.
    """
    path = Path(path)
    if steps_per_beat < 1:
        raise LnfError(f"steps per beat must be at least 1, got {steps_per_beat}", path)
    pm = _read(path)
    if not any(inst.notes for inst in pm.instruments):
        raise LnfError("MIDI file has no notes", path)
    notes = _note_events(pm, sustain)
    if not notes:
        raise LnfError("MIDI file has only drum tracks (drums are dropped)", path)

    def to_step(seconds: float) -> int:
        # seconds -> the file's own ticks -> beats -> steps, rounding halves up
        beats = pm.time_to_tick(seconds) / pm.resolution
        return math.floor(beats * steps_per_beat + 0.5)

    spans = []
    for pitch, start, end in notes:
        if not pitch_offset <= pitch < pitch_offset + num_pitches:
            raise LnfError(
                f"pitch {pitch} outside the piano range "
                f"{pitch_offset}..{pitch_offset + num_pitches - 1}",
                path,
            )
        s = to_step(start)
        spans.append((pitch - pitch_offset, s, max(to_step(end), s + 1)))
    T = max(e for _, _, e in spans)
    T = max([T] + [to_step(m.time) for m in pm.text_events if m.text == END_MARKER])
    roll = np.zeros((T, num_pitches), dtype=np.uint8)
    for j, s, e in spans:
        roll[s:e, j] = 1
    return roll


def load_midi_folder(
    path: str | os.PathLike[str], *, steps_per_beat: int = 2
) -> list[tuple[str, np.ndarray]]:
    """Every ``.mid``/``.midi`` file in the folder ``path`` as ``(file name, (T, 88) roll)``.

    Files are sorted by name; subfolders are not searched.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise LnfError("no such folder of MIDI files", folder)
    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in MIDI_SUFFIXES and p.is_file()),
        key=lambda p: p.name,
    )
    if not files:
        raise LnfError("folder holds no .mid or .midi files", folder)
    return [(p.name, midi_to_roll(p, steps_per_beat=steps_per_beat)) for p in files]
