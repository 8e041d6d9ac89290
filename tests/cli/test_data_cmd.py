"""``lnf data``: list, verify, download, info; every bad input gives one line and exit != 0."""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import scipy.io
from click.testing import CliRunner, Result

from lnfmusic.cli.main import cli
from tests.helpers import start_server

NAMES = ("jsb", "nottingham", "piano-midi", "musedata", "ptb")


@pytest.fixture
def serve(request: pytest.FixtureRequest) -> Callable[[Path], str]:
    """A local HTTP server for a folder (127.0.0.1), shut down when the test ends."""
    return functools.partial(start_server, request=request)


def run(args: list[str], data_dir: Path | str = "") -> Result:
    """``lnf ARGS`` with ``$LNF_DATA_DIR`` set to ``data_dir`` ("" = unset)."""
    return CliRunner().invoke(cli, args, env={"LNF_DATA_DIR": str(data_dir), "LNF_DATA_URL": ""})


def assert_one_line_error(result: Result, names: Path | str) -> str:
    """Exit != 0, exactly one line of output, no traceback, naming ``names``."""
    out = result.output
    assert result.exit_code != 0, out
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in out
    assert out.endswith("\n") and out.count("\n") == 1, out
    assert str(names) in out, out
    return out


# ---- the real data ---------------------------------------------------------------------


def test_list_real_data(data_dir: Path) -> None:
    result = run(["data", "list"], data_dir)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in NAMES:
        [row] = [line for line in lines if line.startswith(f"│ {name} ")]
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[0] == name and cells[-1] == "ok", row
    assert "missing" not in result.output and "mismatch" not in result.output
    assert str(data_dir.absolute()) in " ".join(result.output.split())


def test_list_nothing_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(["data", "list", "--data-dir", str(tmp_path / "empty")])
    assert result.exit_code == 0, result.output
    for name in NAMES:
        [row] = [line for line in result.output.splitlines() if line.startswith(f"│ {name} ")]
        assert "missing" in row
    flat = " ".join(result.output.split())
    assert str(tmp_path / "empty") in flat and str(tmp_path / "datasets") in flat


@pytest.mark.parametrize("name", ["jsb", "ptb"])
def test_verify_ok(data_dir: Path, name: str) -> None:
    result = run(["data", "verify", name], data_dir)
    assert result.exit_code == 0, result.output
    assert result.output.count("ok") == (1 if name == "jsb" else 3)


def test_info_jsb(data_dir: Path) -> None:
    result = run(["data", "info", "jsb"], data_dir)
    assert result.exit_code == 0, result.output
    rows = {
        line.split("│")[1].strip(): line
        for line in result.output.splitlines()
        if line.startswith("│")
    }
    for split, count in (("train", 229), ("valid", 76), ("test", 77)):
        assert f" {count} " in rows[split]
    assert "1 step(s) per beat" in result.output


def test_info_midi_folder(data_dir: Path) -> None:
    result = run(["data", "info", f"midi:{data_dir / 'midi_samples'}"])
    assert result.exit_code == 0, result.output
    assert "2 step(s) per beat" in result.output


def test_info_text_file(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"sequence number {i}\n" for i in range(30)))
    result = run(["data", "info", f"text:{path}"])
    assert result.exit_code == 0, result.output
    assert "vocabulary:" in result.output


def test_download_from_local_server(
    data_dir: Path, serve: Callable[[Path], str], tmp_path: Path
) -> None:
    dest = tmp_path / "datasets"
    result = run(["data", "download", "jsb", "--dest", str(dest), "--base-url", serve(data_dir)])
    assert result.exit_code == 0, result.output
    assert (dest / "jsb_chorales.pickle").read_bytes() == (
        data_dir / "jsb_chorales.pickle"
    ).read_bytes()
    assert run(["data", "verify", "jsb", "--data-dir", str(dest)]).exit_code == 0


def test_download_404(serve: Callable[[Path], str], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    dest = tmp_path / "dest"
    result = run(["data", "download", "jsb", "--dest", str(dest), "--base-url", serve(empty)])
    out = result.output
    assert result.exit_code != 0 and "Traceback" not in out
    assert out.strip().splitlines()[-1].startswith("error: ")
    assert "HTTP 404" in out.splitlines()[-1] and "jsb_chorales.pickle" in out.splitlines()[-1]
    assert not dest.exists()


# ---- every bad input through the CLI -----------------------------------------------------


def _pickle(folder: Path, obj: object) -> Path:
    path = folder / "jsb_chorales.pickle"
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return path


def _mat(folder: Path, **arrays: np.ndarray) -> Path:
    (folder / "tcn_mat").mkdir()
    path = folder / "tcn_mat" / "Nottingham.mat"
    scipy.io.savemat(str(path), arrays)
    return path


def _cells(*rolls: np.ndarray) -> np.ndarray:
    cells = np.empty((1, len(rolls)), dtype=object)
    for i, r in enumerate(rolls):
        cells[0, i] = r
    return cells


def _midi(path: Path, pitches: list[int], drum: bool = False) -> Path:
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=0, is_drum=drum)
    for k, p in enumerate(pitches):
        inst.notes.append(pretty_midi.Note(velocity=80, pitch=p, start=k * 0.5, end=k * 0.5 + 0.5))
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def test_truncated_pickle(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "jsb_chorales.pickle"
    path.write_bytes((data_dir / "jsb_chorales.pickle").read_bytes()[:20000])
    out = assert_one_line_error(run(["data", "info", "jsb", "--data-dir", str(tmp_path)]), path)
    assert "pickle" in out


@pytest.mark.parametrize(
    "obj", [["a", "list"], {"train": []}, {"train": [[(60,)]], "valid": "x", "test": []}]
)
def test_wrong_structure_pickle(tmp_path: Path, obj: object) -> None:
    path = _pickle(tmp_path, obj)
    assert_one_line_error(run(["data", "info", "jsb", "--data-dir", str(tmp_path)]), path)


def test_out_of_range_pitch_pickle(tmp_path: Path) -> None:
    piece = [(60, 64), (10,)]
    path = _pickle(tmp_path, {"train": [piece], "valid": [piece], "test": [piece]})
    out = assert_one_line_error(run(["data", "info", "jsb", "--data-dir", str(tmp_path)]), path)
    assert "pitch 10" in out


def test_wrong_split_counts(tmp_path: Path) -> None:
    piece = [(60, 64)]
    path = _pickle(tmp_path, {"train": [piece], "valid": [piece], "test": [piece]})
    out = assert_one_line_error(run(["data", "info", "jsb", "--data-dir", str(tmp_path)]), path)
    assert "229" in out


def test_mat_wrong_keys(tmp_path: Path) -> None:
    roll = np.zeros((3, 88), dtype=np.uint8)
    path = _mat(tmp_path, train=_cells(roll), valid=_cells(roll), test=_cells(roll))
    out = assert_one_line_error(
        run(["data", "info", "nottingham", "--data-dir", str(tmp_path)]), path
    )
    assert "traindata" in out


def test_mat_wrong_shape(tmp_path: Path) -> None:
    roll = np.zeros((3, 88), dtype=np.uint8)
    path = _mat(
        tmp_path,
        traindata=_cells(roll),
        validdata=_cells(np.zeros((3, 12), np.uint8)),
        testdata=_cells(roll),
    )
    out = assert_one_line_error(
        run(["data", "info", "nottingham", "--data-dir", str(tmp_path)]), path
    )
    assert "(3, 12)" in out


def test_mat_not_matlab(tmp_path: Path) -> None:
    (tmp_path / "tcn_mat").mkdir()
    path = tmp_path / "tcn_mat" / "Nottingham.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file, but not really" * 5)
    assert_one_line_error(run(["data", "info", "nottingham", "--data-dir", str(tmp_path)]), path)


def test_non_midi_in_midi_folder(data_dir: Path, tmp_path: Path) -> None:
    for name in ("jsb_chorales_train_2.mid", "jsb_chorales_train_10.mid"):
        (tmp_path / name).write_bytes((data_dir / "midi_samples" / name).read_bytes())
    bad = tmp_path / "notes.mid"
    bad.write_text("these are notes in words, not a MIDI file")
    out = assert_one_line_error(run(["data", "info", f"midi:{tmp_path}"]), bad)
    assert "MIDI" in out


def test_truncated_midi_in_folder(data_dir: Path, tmp_path: Path) -> None:
    name = "nottingham_train_jigs_simple_chords_21.mid"
    bad = tmp_path / name
    bad.write_bytes((data_dir / "midi_samples" / name).read_bytes()[:1000])
    assert_one_line_error(run(["data", "info", f"midi:{tmp_path}"]), bad)


@pytest.mark.parametrize(
    ("pitches", "drum", "match"),
    [
        ([], False, "no notes"),
        ([36, 38], True, "drum"),
        ([110, 10], False, "no notes in the piano"),
    ],
)
def test_bad_midi_content(tmp_path: Path, pitches: list[int], drum: bool, match: str) -> None:
    bad = _midi(tmp_path / "a.mid", pitches, drum)
    _midi(tmp_path / "b.mid", [60, 62])
    _midi(tmp_path / "c.mid", [64, 65])
    out = assert_one_line_error(run(["data", "info", f"midi:{tmp_path}"]), bad)
    assert match in out


def test_notes_outside_the_piano_are_dropped_with_a_count_not_fatal(tmp_path: Path) -> None:
    _midi(tmp_path / "a.mid", [60, 110])
    (tmp_path / "sub").mkdir()
    _midi(tmp_path / "sub" / "b.mid", [60, 62])  # sub-folders are searched
    _midi(tmp_path / "c.mid", [64, 65])
    result = run(["data", "info", f"midi:{tmp_path}"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "dropped 1 note(s) outside the piano range 21..108 in 1 of 3 files" in out, out


def test_missing_midi_folder(tmp_path: Path) -> None:
    folder = tmp_path / "no_such_folder"
    assert_one_line_error(run(["data", "info", f"midi:{folder}"]), folder)


def test_folder_without_midi(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no music here")
    assert_one_line_error(run(["data", "info", f"midi:{tmp_path}"]), tmp_path)


def test_empty_text_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("")
    out = assert_one_line_error(run(["data", "info", f"text:{path}"]), path)
    assert "empty" in out


def test_non_utf8_text_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9\nabc\ndef\n")
    out = assert_one_line_error(run(["data", "info", f"text:{path}"]), path)
    assert "UTF-8" in out


@pytest.mark.parametrize("command", ["info", "verify"])
def test_missing_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    monkeypatch.chdir(tmp_path)  # so ./datasets is tmp_path/datasets, which does not exist
    empty = tmp_path / "empty"
    out = assert_one_line_error(run(["data", command, "jsb", "--data-dir", str(empty)]), empty)
    assert str(tmp_path / "datasets") in out  # every folder it looked in
    assert "jsb_chorales.pickle" in out and "JSB_Chorales.mat" in out
    assert "lnf data download jsb" in out  # how to get it


def test_checksum_mismatch(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "jsb_chorales.pickle"
    data = bytearray((data_dir / "jsb_chorales.pickle").read_bytes())
    data[1000] ^= 1  # one flipped bit
    path.write_bytes(bytes(data))
    out = assert_one_line_error(run(["data", "verify", "jsb", "--data-dir", str(tmp_path)]), path)
    assert "sha256" in out


def test_unknown_dataset() -> None:
    out = assert_one_line_error(run(["data", "info", "bach"]), "bach")
    assert "midi:FOLDER" in out


def test_list_shows_an_unreadable_entry_and_still_lists_the_others(tmp_path: Path) -> None:
    (tmp_path / "jsb_chorales.pickle").mkdir()
    result = CliRunner().invoke(cli, ["data", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "not a file" in result.stdout and "nottingham" in result.stdout
