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

Reading (:func:`read_roll`, mido's messages; :func:`midi_to_roll` for one piece):
  - Note boundaries are taken in beats through the file's own tick grid
    (``tick / ticks_per_beat``), so tempo changes do not move them, and *rounded* to the
    nearest step (halves round up); ``get_piano_roll`` is not used.
  - Note-ons and note-offs are counted per track, channel and pitch: overlapping notes of
    one pitch sound until the note-off of the last one (not cut at the first note-off).
  - A note that rounds to zero length (shorter than about half a step) keeps one step,
    starting at its rounded onset.
  - The roll ends at the last note end, or at the ``lnfmusic:end`` marker if that is later.
  - The drum channel (10) is dropped. The sustain pedal is ignored unless ``sustain=True``.
  - Type 0 and 1 files are read (all tracks on one timeline); type 2 (independent
    sequences, one per track) is refused rather than overlaid.
  - Pitches outside ``pitch_offset .. pitch_offset + P - 1`` are dropped and returned by
    :func:`read_roll` (a MIDI folder dataset counts them in a note); :func:`midi_to_roll`
    refuses them, naming the pitch. A file that is not MIDI, one without (non-drum) notes
    and one longer than ``MAX_STEPS`` steps raise :class:`~lnfmusic.errors.LnfError` naming
    the file.
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

from lnfmusic.errors import LnfError, first_line
from lnfmusic.io.atomic import atomic_path

if TYPE_CHECKING:
    import mido
    import pretty_midi

RESOLUTION = 480
END_MARKER = "lnfmusic:end"
ARTICULATIONS = ("hold", "restrike")
MIDI_SUFFIXES = (".mid", ".midi")
DRUM_CHANNEL = 9  # General MIDI channel 10
MAX_STEPS = 1_000_000  # longest roll read (88 MB); a damaged file can claim any length


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
    # int(60e6 / bpm) in 1..MAX without the int() of an infinite quotient (bpm = 5e-324)
    if not (math.isfinite(bpm) and bpm > 0 and 1 <= 60e6 / bpm < MAX_TEMPO_US + 1):
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
# the tempi a MIDI file can store: int(60e6 / bpm) in 1..MAX_TEMPO_US
MIN_BPM, MAX_BPM = 60e6 / (MAX_TEMPO_US + 1), 60e6  # the minimum itself excluded


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


def _read(path: Path) -> mido.MidiFile:
    import mido

    if not path.is_file():
        raise LnfError("no such MIDI file", path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mid = mido.MidiFile(str(path), clip=True)
    except EOFError:
        raise LnfError(
            "not a readable MIDI file (it ends early: empty or truncated)", path
        ) from None
    except Exception as e:  # mido raises many types for a broken file
        text = str(e).strip()
        detail = f"{type(e).__name__}: {first_line(e, 100)}" if text else type(e).__name__
        raise LnfError(f"not a readable MIDI file ({detail})", path) from None
    if mid.type == 2:
        raise LnfError(
            "type-2 MIDI file (independent sequences, one per track) is not supported; "
            "save it as type 0 or 1",
            path,
        )
    if not isinstance(mid.ticks_per_beat, int) or mid.ticks_per_beat <= 0:
        raise LnfError(
            f"not a readable MIDI file (time division {mid.ticks_per_beat!r}: only ticks per "
            "beat are supported)",
            path,
        )
    return mid


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


def _note_events(mid: mido.MidiFile, sustain: bool) -> tuple[list[tuple[int, int, int]], int]:
    """``(pitch, start tick, end tick)`` of every note off the drum channel (10), and the
    tick of the ``lnfmusic:end`` marker (0 if none).

    Notes are counted per track, channel and pitch, not paired: a pitch sounds from the
    note-on that finds it silent until the note-off that closes its last open note-on, so
    overlapping notes of one pitch (real files repeat notes before releasing them) make one
    span, never cut at the first note-off. A note left open ends with its track.
    """
    notes, marker = [], 0
    for track in mid.tracks:
        tick = 0
        open_count: dict[tuple[int, int], int] = {}
        began: dict[tuple[int, int], int] = {}
        spans: dict[tuple[int, int], list[tuple[int, int]]] = {}  # (channel, pitch)
        pedal: dict[int, list[tuple[int, bool]]] = {}
        for msg in track:
            tick += msg.time
            if msg.type == "text" and msg.text == END_MARKER:
                marker = max(marker, tick)
            if not hasattr(msg, "channel") or msg.channel == DRUM_CHANNEL:
                continue
            if msg.type == "control_change" and msg.control == 64:
                pedal.setdefault(msg.channel, []).append((tick, msg.value >= 64))
            elif msg.type in ("note_on", "note_off"):
                key = (msg.channel, msg.note)
                count = open_count.get(key, 0)
                if msg.type == "note_on" and msg.velocity > 0:
                    if count == 0:
                        began[key] = tick
                    open_count[key] = count + 1
                elif count > 0:
                    open_count[key] = count - 1
                    if count == 1:
                        spans.setdefault(key, []).append((began[key], tick))
        for key, count in open_count.items():
            if count > 0:
                spans.setdefault(key, []).append((began[key], tick))
        for (channel, pitch), found in spans.items():
            found.sort()
            events = sorted(pedal.get(channel, [])) if sustain else []
            times, down = [t for t, _ in events], [d for _, d in events]
            for k, (start, end) in enumerate(found):
                nxt = found[k + 1][0] if k + 1 < len(found) else math.inf
                if events:
                    end = int(_sustained_end(end, nxt, times, down, tick))
                notes.append((pitch, start, end))
    return notes, marker


def read_roll(
    path: str | os.PathLike[str],
    *,
    steps_per_beat: int = 2,
    pitch_offset: int = 21,
    num_pitches: int = 88,
    sustain: bool = False,
) -> tuple[np.ndarray, list[int]]:
    """Read a MIDI file into a piano roll (rules in the module docstring), dropping the
    notes outside ``pitch_offset .. pitch_offset + num_pitches - 1``.

    Args:
        path: a ``.mid`` file.
        steps_per_beat: grid steps per quarter note.
        pitch_offset: MIDI pitch of column 0.
        num_pitches: number of columns.
        sustain: extend notes while the sustain pedal (CC64 >= 64) is down.

    Returns:
        ``(T, num_pitches)`` uint8 roll in {0, 1}, and the pitch of every note dropped.
    """
    path = Path(path)
    if steps_per_beat < 1:
        raise LnfError(f"steps per beat must be at least 1, got {steps_per_beat}", path)
    mid = _read(path)
    notes, marker = _note_events(mid, sustain)
    if not notes:
        has_notes = any(m.type == "note_on" and m.velocity > 0 for t in mid.tracks for m in t)
        why = "only drum tracks (drums are dropped)" if has_notes else "no notes"
        raise LnfError(f"MIDI file has {why}", path)

    def to_step(tick: int) -> int:
        # ticks -> beats -> steps, rounding halves up (exact in integers)
        return (2 * tick * steps_per_beat + mid.ticks_per_beat) // (2 * mid.ticks_per_beat)

    spans, dropped = [], []
    for pitch, start, end in notes:
        if not pitch_offset <= pitch < pitch_offset + num_pitches:
            dropped.append(pitch)
            continue
        s = to_step(start)
        spans.append((pitch - pitch_offset, s, max(to_step(end), s + 1)))
    if not spans:
        raise LnfError(
            f"MIDI file has no notes in the piano range {pitch_offset}.."
            f"{pitch_offset + num_pitches - 1} ({len(dropped)} outside it)",
            path,
        )
    T = max(max(e for _, _, e in spans), to_step(marker))
    if T > MAX_STEPS:
        raise LnfError(
            f"piece is {T} steps long at {steps_per_beat} per beat; at most {MAX_STEPS} are read "
            "(a damaged file?)",
            path,
        )
    roll = np.zeros((T, num_pitches), dtype=np.uint8)
    for j, s, e in spans:
        roll[s:e, j] = 1
    return roll, dropped


def midi_to_roll(path: str | os.PathLike[str], **options: Any) -> np.ndarray:
    """:func:`read_roll` (same ``options``) for one piece the user gives (a primer, a piece
    to vary): a note outside the piano range is an error naming it, not silently dropped."""
    roll, dropped = read_roll(path, **options)
    if dropped:
        low = options.get("pitch_offset", 21)
        high = low + options.get("num_pitches", 88) - 1
        more = f" and {len(dropped) - 1} more note(s)" if len(dropped) > 1 else ""
        raise LnfError(f"pitch {dropped[0]} outside the piano range {low}..{high}{more}", path)
    return roll


def load_midi_folder(
    path: str | os.PathLike[str], *, steps_per_beat: int = 2
) -> list[tuple[str, np.ndarray, list[int]]]:
    """Every ``.mid``/``.midi`` file under the folder ``path``, sub-folders included, as
    ``(name, (T, 88) roll, pitches dropped)``: the name is the path relative to ``path``
    (``/``-separated), and files are sorted by it; notes outside the piano are dropped
    (:func:`read_roll`) and returned so that the caller can count them. Hidden files and
    folders (``.name``) and macOS's ``__MACOSX`` resource folders are not MIDI and are
    passed over.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise LnfError("no such folder of MIDI files", folder)

    def wanted(p: Path) -> bool:
        parts = p.relative_to(folder).parts
        hidden = any(part.startswith(".") or part == "__MACOSX" for part in parts)
        return not hidden and p.suffix.lower() in MIDI_SUFFIXES and p.is_file()

    files = sorted(
        (p for p in folder.rglob("*") if wanted(p)),
        key=lambda p: p.relative_to(folder).as_posix(),
    )
    if not files:
        raise LnfError("folder holds no .mid or .midi files (sub-folders included)", folder)
    return [
        (p.relative_to(folder).as_posix(), *read_roll(p, steps_per_beat=steps_per_beat))
        for p in files
    ]
