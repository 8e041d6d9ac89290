"""Piano roll <-> MIDI: round trips, message-level checks, real files, bad input."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pretty_midi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lnfmusic.data.dataset import load_dataset
from lnfmusic.errors import LnfError
from lnfmusic.io.midi import (
    load_midi_folder,
    midi_to_roll,
    read_roll,
    roll_to_midi,
    to_mido,
    write_midi,
)

BPMS = (60.0, 97.5, 120.0, 200.0)
STEPS_PER_BEAT = (1, 2, 4)


@st.composite
def rolls(draw: st.DrawFn) -> np.ndarray:
    """``(T, 88)`` 0/1 rolls with at least one note; rests anywhere, including the ends."""
    T = draw(st.integers(1, 32))
    cells = draw(
        st.lists(st.tuples(st.integers(0, T - 1), st.integers(0, 87)), min_size=1, max_size=60)
    )
    roll = np.zeros((T, 88), dtype=np.uint8)
    for t, j in cells:
        roll[t, j] = 1
    # sometimes long held notes, which hold mode merges into one
    if draw(st.booleans()):
        j = draw(st.integers(0, 87))
        roll[draw(st.integers(0, T - 1)) :, j] = 1
    return roll


def _runs(roll: np.ndarray) -> int:
    """Number of maximal runs of consecutive active steps, over all pitches."""
    padded = np.vstack([np.zeros((1, roll.shape[1]), roll.dtype), roll])
    return int(((padded[1:] == 1) & (padded[:-1] == 0)).sum())


def _check_messages(
    path: Path, roll: np.ndarray, articulation: str, steps_per_beat: int, bpm: float
) -> None:
    """mido-level invariants of a written file; the roll is rebuilt from the messages alone."""
    mid = mido.MidiFile(str(path))
    assert mid.ticks_per_beat == 480
    tempos = [m.tempo for t in mid.tracks for m in t if m.type == "set_tempo"]
    assert len(tempos) == 1 and abs(tempos[0] - 60e6 / bpm) <= 1
    ticks_per_step = 480 // steps_per_beat
    rebuilt = np.zeros_like(roll)
    note_ons = 0
    for track in mid.tracks:
        tick, by_tick, open_notes = 0, {}, {}
        for msg in track:
            tick += msg.time
            if msg.type not in ("note_on", "note_off"):
                continue
            off = msg.type == "note_off" or msg.velocity == 0
            by_tick.setdefault(tick, []).append(off)
            assert 21 <= msg.note <= 108
            if off:
                start = open_notes.pop(msg.note)
                assert tick > start, "zero-length note"
                assert start % ticks_per_step == 0 and tick % ticks_per_step == 0
                rebuilt[start // ticks_per_step : tick // ticks_per_step, msg.note - 21] = 1
            else:
                assert msg.note not in open_notes, "note-on while the pitch is still sounding"
                open_notes[msg.note] = tick
                note_ons += 1
        assert not open_notes
        for kinds in by_tick.values():
            # every note-off precedes every note-on at the same tick
            assert kinds == sorted(kinds, reverse=True)
    assert note_ons == (_runs(roll) if articulation == "hold" else int(roll.sum()))
    np.testing.assert_array_equal(rebuilt, roll)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    roll=rolls(),
    bpm=st.sampled_from(BPMS),
    steps_per_beat=st.sampled_from(STEPS_PER_BEAT),
    articulation=st.sampled_from(["hold", "restrike"]),
)
def test_roll_midi_roll_identity(
    tmp_path: Path, roll: np.ndarray, bpm: float, steps_per_beat: int, articulation: str
) -> None:
    path = tmp_path / "song.mid"
    write_midi(roll, path, steps_per_beat=steps_per_beat, bpm=bpm, articulation=articulation)
    back = midi_to_roll(path, steps_per_beat=steps_per_beat)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, roll)
    _check_messages(path, roll, articulation, steps_per_beat, bpm)


@pytest.mark.parametrize("bpm", BPMS)
@pytest.mark.parametrize("steps_per_beat", STEPS_PER_BEAT)
def test_tempo_and_duration(tmp_path: Path, bpm: float, steps_per_beat: int) -> None:
    roll = np.zeros((12, 88), dtype=np.uint8)
    roll[2:10, 39] = 1
    path = tmp_path / "t.mid"
    write_midi(roll, path, steps_per_beat=steps_per_beat, bpm=bpm)
    tempos = [m.tempo for t in mido.MidiFile(str(path)).tracks for m in t if m.type == "set_tempo"]
    assert len(tempos) == 1 and mido.tempo2bpm(tempos[0]) == pytest.approx(bpm, rel=1e-5)
    [note] = pretty_midi.PrettyMIDI(str(path)).instruments[0].notes
    seconds_per_step = 60.0 / bpm / steps_per_beat
    assert note.pitch == 60
    assert note.start == pytest.approx(2 * seconds_per_step, rel=1e-4)
    assert note.end == pytest.approx(10 * seconds_per_step, rel=1e-4)


def test_program_and_hold_vs_restrike(tmp_path: Path) -> None:
    roll = np.zeros((4, 88), dtype=np.uint8)
    roll[:, 0] = 1  # A0, the lowest key
    roll[1:3, 87] = 1  # C8, the highest key
    for articulation, expected in (("hold", 2), ("restrike", 6)):
        path = tmp_path / f"{articulation}.mid"
        write_midi(roll, path, articulation=articulation, program=40)
        [inst] = pretty_midi.PrettyMIDI(str(path)).instruments
        assert inst.program == 40 and not inst.is_drum
        assert len(inst.notes) == expected
        assert {n.pitch for n in inst.notes} == {21, 108}


def test_write_is_atomic_on_bad_args(tmp_path: Path) -> None:
    path = tmp_path / "x.mid"
    roll = np.ones((2, 88), dtype=np.uint8)
    for kwargs in ({"steps_per_beat": 7}, {"articulation": "legato"}, {"bpm": 0.0}):
        with pytest.raises(LnfError):
            write_midi(roll, path, **kwargs)
    with pytest.raises(LnfError):
        write_midi(np.ones(5), path)
    assert list(tmp_path.iterdir()) == []


def test_rounding_to_the_grid(tmp_path: Path) -> None:
    """Boundaries are rounded, not floored; tiny notes keep one step."""
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120.0)  # 0.5 s per beat
    inst = pretty_midi.Instrument(program=0)
    # at 2 steps per beat a step is 0.25 s
    inst.notes.append(pretty_midi.Note(velocity=80, pitch=60, start=0.24, end=0.74))  # 1..3
    inst.notes.append(pretty_midi.Note(velocity=80, pitch=62, start=0.01, end=0.05))  # tiny
    pm.instruments.append(inst)
    path = tmp_path / "r.mid"
    pm.write(str(path))
    roll = midi_to_roll(path, steps_per_beat=2)
    assert roll.shape == (3, 88)
    assert roll[:, 60 - 21].tolist() == [0, 1, 1]
    assert roll[:, 62 - 21].tolist() == [1, 0, 0]


# ---- the real MIDI samples -------------------------------------------------------------

# data README, section 5: pitch range of each file
SAMPLES = {
    "jsb_chorales_train_2.mid": (1, 48, 80),
    "jsb_chorales_train_10.mid": (1, 48, 84),
    "jsb_chorales_train_100.mid": (1, 55, 93),
    "jsb_chorales_train_154.mid": (1, 48, 89),
    "nottingham_train_hpps_simple_chords_1.mid": (2, 48, 79),
    "nottingham_train_jigs_simple_chords_21.mid": (2, 50, 83),
    "nottingham_train_reels_simple_chords_32.mid": (2, 50, 83),
    "nottingham_train_waltzes_simple_chords_1.mid": (2, 48, 79),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_samples(data_dir: Path, name: str) -> None:
    steps_per_beat, low, high = SAMPLES[name]
    roll = midi_to_roll(data_dir / "midi_samples" / name, steps_per_beat=steps_per_beat)
    assert roll.dtype == np.uint8 and roll.shape[1] == 88 and roll.shape[0] > 16
    assert set(np.unique(roll)) == {0, 1}
    cols = np.flatnonzero(roll.any(axis=0)) + 21
    assert (cols.min(), cols.max()) == (low, high)
    # chorales: at most 4 voices; folk tunes: melody plus chords
    assert roll.sum(axis=1).max() <= (4 if name.startswith("jsb") else 9)


def _pretty_midi_roll(path: Path, steps_per_beat: int) -> np.ndarray:
    """The reading before issue 15 (pretty_midi's notes, rounded to steps as read_roll
    does): a note-off ends every open note of its pitch."""
    pm = pretty_midi.PrettyMIDI(str(path))

    def to_step(seconds: float) -> int:
        return math.floor(pm.time_to_tick(seconds) / pm.resolution * steps_per_beat + 0.5)

    spans = [
        (n.pitch - 21, to_step(n.start), max(to_step(n.end), to_step(n.start) + 1))
        for inst in pm.instruments
        if not inst.is_drum
        for n in inst.notes
    ]
    roll = np.zeros((max(e for _, _, e in spans), 88), np.uint8)
    for j, s, e in spans:
        roll[s:e, j] = 1
    return roll


# the real samples whose chords restrike three pitches before their note-offs: the rows (by
# steps per beat) where those pitches now sound on to the last note-off
RESTRUCK = {
    "nottingham_train_reels_simple_chords_32.mid": {1: [37], 2: [74, 75], 4: [148, 149, 150, 151]},
    "nottingham_train_waltzes_simple_chords_1.mid": {
        1: [99],
        2: [198, 199],
        4: [396, 397, 398, 399],
    },
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("steps_per_beat", [1, 2, 4])
def test_real_samples_read_as_pretty_midi_read_them_but_for_restruck_notes(
    data_dir: Path, name: str, steps_per_beat: int
) -> None:
    path = data_dir / "midi_samples" / name
    roll = midi_to_roll(path, steps_per_beat=steps_per_beat)
    before = _pretty_midi_roll(path, steps_per_beat)
    assert roll.shape == before.shape and (roll >= before).all()
    changed = np.flatnonzero((roll != before).any(axis=1)).tolist()
    assert changed == RESTRUCK.get(name, {}).get(steps_per_beat, [])
    assert all((roll[r] != before[r]).sum() == 3 for r in changed)


def test_real_sample_rewrite_roundtrip(data_dir: Path, tmp_path: Path) -> None:
    roll = midi_to_roll(data_dir / "midi_samples" / "jsb_chorales_train_2.mid", steps_per_beat=1)
    write_midi(roll, tmp_path / "again.mid", steps_per_beat=1, bpm=97.5)
    np.testing.assert_array_equal(midi_to_roll(tmp_path / "again.mid", steps_per_beat=1), roll)


def test_midi_folder_dataset(data_dir: Path) -> None:
    folder = data_dir / "midi_samples"
    items = load_midi_folder(folder, steps_per_beat=2)
    assert [name for name, _, _ in items] == sorted(SAMPLES)
    ds = load_dataset(f"midi:{folder}")
    assert ds.kind == "music" and ds.meta["steps_per_beat"] == 2
    assert [len(ds.splits[s]) for s in ("train", "valid", "test")] == [6, 1, 1]
    np.testing.assert_array_equal(ds.splits["test"][0], items[-1][1])


# ---- bad input -------------------------------------------------------------------------


def _pm_file(path: Path, notes: list[tuple[int, float, float]], drum: bool = False) -> Path:
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=0, is_drum=drum)
    for pitch, start, end in notes:
        inst.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=start, end=end))
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def _fails(path: Path, match: str) -> None:
    with pytest.raises(LnfError) as e:
        midi_to_roll(path)
    assert e.value.path == str(path)
    assert match in e.value.message and "\n" not in str(e.value)


def test_not_midi(tmp_path: Path) -> None:
    path = tmp_path / "fake.mid"
    path.write_bytes(b"RIFF....WAVEfmt this is audio, not MIDI" * 4)
    _fails(path, "not a readable MIDI file")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mid"
    path.write_bytes(b"")
    _fails(path, "not a readable MIDI file")


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.99])
def test_truncated_midi(data_dir: Path, tmp_path: Path, keep: float) -> None:
    data = (data_dir / "midi_samples" / "nottingham_train_reels_simple_chords_32.mid").read_bytes()
    path = tmp_path / "cut.mid"
    path.write_bytes(data[: int(len(data) * keep)])
    _fails(path, "not a readable MIDI file")


def test_no_notes(tmp_path: Path) -> None:
    _fails(_pm_file(tmp_path / "silent.mid", []), "no notes")


def test_drum_only(tmp_path: Path) -> None:
    path = _pm_file(tmp_path / "drums.mid", [(36, 0.0, 0.5), (38, 0.5, 1.0)], drum=True)
    _fails(path, "only drum")


def test_drums_are_dropped(tmp_path: Path) -> None:
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120.0)
    piano = pretty_midi.Instrument(program=0)
    piano.notes.append(pretty_midi.Note(velocity=80, pitch=60, start=0.0, end=0.5))
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes.append(pretty_midi.Note(velocity=80, pitch=10, start=0.0, end=0.5))  # not a key
    pm.instruments += [piano, drums]
    path = tmp_path / "mixed.mid"
    pm.write(str(path))
    roll = midi_to_roll(path)
    assert np.flatnonzero(roll.any(axis=0)).tolist() == [60 - 21]


@pytest.mark.parametrize("pitch", [20, 109, 0, 127])
def test_pitch_out_of_range(tmp_path: Path, pitch: int) -> None:
    path = _pm_file(tmp_path / "low.mid", [(60, 0.0, 0.5), (pitch, 0.5, 1.0)])
    _fails(path, f"pitch {pitch} outside the piano range 21..108")


def test_missing_file(tmp_path: Path) -> None:
    _fails(tmp_path / "nope.mid", "no such MIDI file")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(LnfError, match="no such folder") as e:
        load_midi_folder(tmp_path / "nope")
    assert e.value.path == str(tmp_path / "nope")


def test_folder_without_midi(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not music")
    (tmp_path / "sub.mid").mkdir()  # a folder named like a MIDI file is not one
    with pytest.raises(LnfError, match="no .mid or .midi files") as e:
        load_dataset(f"midi:{tmp_path}")
    assert e.value.path == str(tmp_path)


def test_folder_with_a_bad_file_names_it(data_dir: Path, tmp_path: Path) -> None:
    for name in list(SAMPLES)[:3]:
        (tmp_path / name).write_bytes((data_dir / "midi_samples" / name).read_bytes())
    (tmp_path / "zz_broken.MID").write_bytes(b"garbage")
    with pytest.raises(LnfError, match="not a readable MIDI file") as e:
        load_dataset(f"midi:{tmp_path}")
    assert e.value.path == str(tmp_path / "zz_broken.MID")


def test_folder_too_small(data_dir: Path, tmp_path: Path) -> None:
    name = "jsb_chorales_train_2.mid"
    (tmp_path / name).write_bytes((data_dir / "midi_samples" / name).read_bytes())
    with pytest.raises(LnfError, match="at least 3 files") as e:
        load_dataset(f"midi:{tmp_path}")
    assert e.value.path == str(tmp_path)


# ---- writing: more properties ----------------------------------------------------------


@pytest.mark.parametrize("steps_per_beat", STEPS_PER_BEAT)
def test_silent_roll_reads_back_as_no_notes(tmp_path: Path, steps_per_beat: int) -> None:
    path = tmp_path / "silent.mid"
    write_midi(np.zeros((8, 88), np.uint8), path, steps_per_beat=steps_per_beat)
    _fails(path, "no notes")


def test_roll_to_midi_notes_are_exact_steps() -> None:
    roll = np.zeros((6, 88), np.uint8)
    roll[1:4, 10] = 1
    roll[5, 10] = 1
    pm = roll_to_midi(roll, steps_per_beat=4, bpm=97.5)
    [inst] = pm.instruments
    ticks = sorted((pm.time_to_tick(n.start), pm.time_to_tick(n.end)) for n in inst.notes)
    assert ticks == [(120, 480), (600, 720)]
    assert all(n.pitch == 31 for n in inst.notes)


def test_to_mido_puts_note_offs_first() -> None:
    # pretty_midi orders a tick's note messages by pitch: here 60 starts where 61 ends
    roll = np.zeros((2, 88), np.uint8)
    roll[0, 40] = roll[1, 39] = 1
    mid = to_mido(roll_to_midi(roll))
    notes = [m for t in mid.tracks for m in t if m.type in ("note_on", "note_off")]
    assert [(m.note, m.velocity) for m in notes[1:3]] == [(61, 0), (60, 80)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps_per_beat": 7}, "divide"),
        ({"steps_per_beat": 0}, "divide"),
        ({"bpm": 0.0}, "bpm"),
        ({"bpm": float("nan")}, "bpm"),
        ({"bpm": float("inf")}, "bpm"),
        ({"bpm": 6.1e7}, "microseconds per beat"),  # under 1 us per beat
        ({"bpm": 3.5}, "microseconds per beat"),  # over 2^24 - 1 us per beat
        ({"bpm": 5e-324}, "microseconds per beat"),  # 60e6 / bpm overflows to inf
        ({"program": 128}, "program"),
        ({"articulation": "legato"}, "articulation"),
        ({"velocity": 0}, "velocity"),
        ({"pitch_offset": 100}, "outside"),
    ],
)
def test_roll_to_midi_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(LnfError, match=match):
        roll_to_midi(np.ones((2, 88), np.uint8), **kwargs)


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.mid"
    write_midi(np.eye(4, 88, dtype=np.uint8), path)
    before = path.read_bytes()
    real_save = mido.MidiFile.save

    def broken_save(self: mido.MidiFile, filename: str | None = None, file: Any = None) -> None:
        if filename is None:  # pretty_midi serialising into memory
            return real_save(self, file=file)
        Path(filename).write_bytes(b"MThd partial")
        raise OSError("disk full")

    monkeypatch.setattr(mido.MidiFile, "save", broken_save)
    with pytest.raises(LnfError, match="disk full") as e:
        write_midi(np.ones((3, 88), np.uint8), path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.mid"]


# ---- reading files written by other programs (mido, tick-exact) ------------------------


def _save_ticks(path: Path, tracks: list[list[tuple[int, Any]]], ticks_per_beat: int = 480) -> Path:
    """Write tracks given as ``(absolute tick, message)`` lists."""
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    for timed in tracks:
        track, last = mido.MidiTrack(), 0
        for tick, msg in sorted(timed, key=lambda tm: tm[0]):
            track.append(msg.copy(time=tick - last))
            last = tick
        mid.tracks.append(track)
    mid.save(str(path))
    return path


def _note(pitch: int, start: int, end: int) -> list[tuple[int, Any]]:
    return [
        (start, mido.Message("note_on", note=pitch, velocity=64)),
        (end, mido.Message("note_off", note=pitch, velocity=0)),
    ]


def test_boundaries_round_to_nearest_step_halves_up(tmp_path: Path) -> None:
    # 100 ticks per beat, 2 steps per beat: one step = 50 ticks
    path = _save_ticks(
        tmp_path / "q.mid",
        [
            _note(60, 24, 76)  # 0.48 -> 0, 1.52 -> 2
            + _note(62, 25, 125)  # a half rounds up: 0.5 -> 1, 2.5 -> 3
            + _note(64, 140, 150)  # 2.8 -> 3, 3.0 -> 3: too short, keeps one step at 3
            + _note(65, 176, 199)  # 3.52 -> 4, 3.98 -> 4: keeps one step at 4
        ],
        ticks_per_beat=100,
    )
    expected = np.zeros((5, 88), np.uint8)
    expected[0:2, 60 - 21] = 1
    expected[1:3, 62 - 21] = 1
    expected[3, 64 - 21] = 1
    expected[4, 65 - 21] = 1
    np.testing.assert_array_equal(midi_to_roll(path, steps_per_beat=2), expected)


def test_tempo_changes_do_not_move_the_grid(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    roll = (rng.random((16, 88)) < 0.05).astype(np.uint8)
    roll[0, 0] = 1
    plain = tmp_path / "plain.mid"
    write_midi(roll, plain, steps_per_beat=2)
    tracks = []
    for track in mido.MidiFile(str(plain)).tracks:
        tick, timed = 0, []
        for msg in track:
            tick += msg.time
            timed.append((tick, msg))
        tracks.append(timed)
    tracks[0] += [
        (480 * k + 7, mido.MetaMessage("set_tempo", tempo=300_000 + 90_000 * k))
        for k in range(1, 7)
    ]
    changed = _save_ticks(tmp_path / "tempo.mid", tracks)
    assert len(pretty_midi.PrettyMIDI(str(changed)).get_tempo_changes()[0]) == 7
    np.testing.assert_array_equal(midi_to_roll(changed, steps_per_beat=2), roll)


def test_sustain_pedal_only_when_asked(tmp_path: Path) -> None:
    def cc(tick: int, value: int) -> tuple[int, Any]:
        return tick, mido.Message("control_change", control=64, value=value)

    path = _save_ticks(
        tmp_path / "ped.mid",
        [
            _note(60, 0, 240)
            + _note(64, 0, 240)
            + _note(64, 720, 960)
            + [cc(120, 127), cc(300, 100), cc(1200, 0)]  # down, still down, up
            + _note(67, 1440, 1680)  # after the release: not extended
        ],
    )
    dry = midi_to_roll(path, steps_per_beat=2)
    wet = midi_to_roll(path, steps_per_beat=2, sustain=True)
    assert dry.shape == wet.shape == (7, 88)  # a pedal release alone adds no steps
    assert dry[:, 60 - 21].tolist() == [1, 0, 0, 0, 0, 0, 0]
    assert wet[:, 60 - 21].tolist() == [1, 1, 1, 1, 1, 0, 0]  # held to the release at 1200
    assert dry[:, 64 - 21].tolist() == [1, 0, 0, 1, 0, 0, 0]
    assert wet[:, 64 - 21].tolist() == [1, 1, 1, 1, 1, 0, 0]  # held to its restrike, then on
    assert wet[:, 67 - 21].tolist() == dry[:, 67 - 21].tolist() == [0, 0, 0, 0, 0, 0, 1]


# ---- the real MIDI samples against a mido-only reading ---------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_samples_match_their_messages(data_dir: Path, name: str) -> None:
    steps_per_beat = SAMPLES[name][0]
    path = data_dir / "midi_samples" / name
    roll = midi_to_roll(path, steps_per_beat=steps_per_beat)
    mid = mido.MidiFile(str(path))
    ons, last_off = [], 0
    for track in mid.tracks:  # real files overlap repeated notes: count, do not pair
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                ons.append(msg.note)
            elif msg.type in ("note_on", "note_off"):
                last_off = max(last_off, tick)
    assert set((np.flatnonzero(roll.any(axis=0)) + 21).tolist()) == set(ons)
    assert len(roll) == math.floor(last_off / mid.ticks_per_beat * steps_per_beat + 0.5)
    # rounding may merge repeated notes but never invents onsets
    onsets = _runs(roll)
    assert 0.5 * len(ons) <= onsets <= len(ons)


def test_load_midi_folder_sorted_and_filtered(tmp_path: Path) -> None:
    roll = np.zeros((3, 88), np.uint8)
    for name, j in [("b.MIDI", 5), ("a.mid", 2), ("c.mid", 9)]:
        roll[:] = 0
        roll[1, j] = 1
        write_midi(roll, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not music")
    (tmp_path / "d.mid").mkdir()
    # macOS leaves "._x.mid" resource files (not MIDI) in __MACOSX and beside the pieces
    for junk in ("._a.mid", "__MACOSX/._b.mid", ".git/x.mid"):
        (tmp_path / junk).parent.mkdir(exist_ok=True)
        (tmp_path / junk).write_bytes(b"\x00\x05\x16\x07 not MIDI")
    items = load_midi_folder(tmp_path)
    assert [name for name, _, _ in items] == ["a.mid", "b.MIDI", "c.mid"]
    assert [int(r[1].argmax()) for _, r, _ in items] == [2, 5, 9]


@pytest.mark.parametrize("keep", [4, 14, 30])
def test_cut_inside_the_header(tmp_path: Path, keep: int) -> None:
    full = tmp_path / "full.mid"
    write_midi(np.eye(20, 88, dtype=np.uint8), full)
    path = tmp_path / "cut.mid"
    path.write_bytes(full.read_bytes()[:keep])
    _fails(path, "not a readable MIDI file")


@pytest.mark.parametrize("bpm", [3.5763, 6e7])
def test_the_extreme_tempos_a_midi_file_can_hold_round_trip(tmp_path: Path, bpm: float) -> None:
    path = tmp_path / "t.mid"
    write_midi(np.ones((4, 88), np.uint8), path, bpm=bpm)
    tempo = pretty_midi.PrettyMIDI(str(path)).get_tempo_changes()[1]
    assert tempo[0] == pytest.approx(60e6 / int(60e6 / bpm))


# ---- issue 15, class 9: MIDI edge cases --------------------------------------------------


def test_overlapping_notes_of_one_pitch_sound_until_the_last_note_off(tmp_path: Path) -> None:
    # 240 ticks per step: 60 on at 0 and again at 480, off at 720 and at 1440
    on_on_off_off = [
        (0, mido.Message("note_on", note=60, velocity=64)),
        (480, mido.Message("note_on", note=60, velocity=64)),
        (720, mido.Message("note_off", note=60)),
        (1440, mido.Message("note_on", note=60, velocity=0)),
    ]
    path = _save_ticks(tmp_path / "o.mid", [on_on_off_off + _note(64, 1680, 1920)])
    roll = midi_to_roll(path, steps_per_beat=2)
    assert roll[:, 60 - 21].tolist() == [1, 1, 1, 1, 1, 1, 0, 0]
    # another channel's note-off does not close it; a stray note-off is ignored
    other = [(240, mido.Message("note_off", note=60, channel=1)), (100, mido.Message("note_off"))]
    path = _save_ticks(tmp_path / "c.mid", [on_on_off_off + other + _note(64, 1680, 1920)])
    assert midi_to_roll(path, steps_per_beat=2)[:, 60 - 21].tolist() == [1] * 6 + [0, 0]


def test_a_note_left_open_ends_with_its_track(tmp_path: Path) -> None:
    path = _save_ticks(
        tmp_path / "open.mid",
        [[(0, mido.Message("note_on", note=60, velocity=64))] + _note(62, 0, 960)],
    )
    assert midi_to_roll(path, steps_per_beat=2)[:, 60 - 21].tolist() == [1, 1, 1, 1]


def test_type_2_files_are_refused(tmp_path: Path) -> None:
    mid = mido.MidiFile(type=2, ticks_per_beat=480)
    for pitch in (60, 64):
        mid.tracks.append(
            mido.MidiTrack(mido.Message("note_on", note=pitch, velocity=64, time=t) for t in (0,))
        )
        mid.tracks[-1].append(mido.Message("note_off", note=pitch, time=480))
    mid.save(str(tmp_path / "t2.mid"))
    _fails(tmp_path / "t2.mid", "type-2 MIDI file")


def test_notes_outside_the_piano_are_dropped_and_counted(tmp_path: Path) -> None:
    path = _pm_file(tmp_path / "wide.mid", [(60, 0.0, 0.5), (12, 0.0, 0.5), (120, 0.5, 1.0)])
    roll, dropped = read_roll(path)
    assert sorted(dropped) == [12, 120] and roll[:, 60 - 21].any() and roll.sum() == 2
    _fails(path, "outside the piano range 21..108 and 1 more note(s)")
    only_low = _pm_file(tmp_path / "low.mid", [(10, 0.0, 0.5)])
    with pytest.raises(LnfError, match="no notes in the piano range"):
        read_roll(only_low)


def test_a_midi_folder_is_searched_recursively_and_counts_dropped_notes(tmp_path: Path) -> None:
    for i in range(4):
        sub = tmp_path / ("a" if i < 2 else "b/c")
        sub.mkdir(parents=True, exist_ok=True)
        notes = [(60 + i, 0.0, 0.5)] + ([(110, 0.0, 0.5), (5, 0.5, 1.0)] if i == 3 else [])
        _pm_file(sub / f"p{i}.mid", notes)
    names = [name for name, _, _ in load_midi_folder(tmp_path)]
    assert names == ["a/p0.mid", "a/p1.mid", "b/c/p2.mid", "b/c/p3.mid"]
    data = load_dataset(f"midi:{tmp_path}")
    assert sum(len(s) for s in data.splits.values()) == 4
    assert any(
        "dropped 2 note(s) outside the piano range 21..108 in 1 of 4 files" in n for n in data.notes
    ), data.notes


def test_a_damaged_length_is_refused(tmp_path: Path) -> None:
    path = _save_ticks(tmp_path / "long.mid", [_note(60, 0, 480 * 600_000)])
    _fails(path, "at most 1000000 are read")
