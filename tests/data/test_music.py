"""Boulanger-Lewandowski music datasets: pickles, .mat files, metadata and bad input."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from lnfmusic.data.dataset import load_dataset
from lnfmusic.data.music import SPLITS, load_mat, load_music_file, load_pickle
from lnfmusic.errors import LnfError

# SPEC 2.1: train/valid/test pieces
SPLIT_SIZES = {
    "JSB_Chorales.mat": (229, 76, 77),
    "Nottingham.mat": (694, 173, 170),
    "Piano_midi.mat": (87, 12, 25),
    "MuseData.mat": (524, 135, 124),
}


def test_jsb_pickle_equals_mat(data_dir: Path) -> None:
    from_pickle = load_pickle(data_dir / "jsb_chorales.pickle")
    from_mat = load_mat(data_dir / "tcn_mat" / "JSB_Chorales.mat")
    for split in SPLITS:
        assert len(from_pickle[split]) == len(from_mat[split])
        for a, b in zip(from_pickle[split], from_mat[split], strict=True):
            assert a.dtype == b.dtype == np.uint8
            assert a.shape == b.shape and a.shape[1] == 88
            np.testing.assert_array_equal(a, b)


def test_jsb_pickle_content(data_dir: Path) -> None:
    splits = load_pickle(data_dir / "jsb_chorales.pickle")
    rolls = [r for split in SPLITS for r in splits[split]]
    assert all(set(np.unique(r)) <= {0, 1} for r in rolls)
    cols = np.flatnonzero(np.concatenate(rolls).any(axis=0))
    assert (cols.min() + 21, cols.max() + 21) == (43, 96)  # data README: pitches 43..96
    assert max(int(r.sum(axis=1).max()) for r in rolls) == 4  # four voices
    assert sum(len(r) for r in splits["train"]) == 13807


@pytest.mark.parametrize("file", sorted(SPLIT_SIZES))
def test_mat_split_sizes(data_dir: Path, file: str) -> None:
    splits = load_mat(data_dir / "tcn_mat" / file)
    assert tuple(len(splits[s]) for s in SPLITS) == SPLIT_SIZES[file]
    assert all(r.ndim == 2 and r.shape[1] == 88 and len(r) > 0 for r in splits["test"])


@pytest.mark.parametrize(
    ("name", "steps_per_beat"),
    [("jsb", 1), ("nottingham", 2), ("piano-midi", 2), ("musedata", 2)],
)
def test_dataset_meta(data_dir: Path, name: str, steps_per_beat: int) -> None:
    ds = load_dataset(name, data_dir)
    assert ds.kind == "music" and ds.name == name
    assert ds.meta["pitch_offset"] == 21 and ds.meta["num_pitches"] == 88
    assert ds.meta["steps_per_beat"] == steps_per_beat
    assert ds.output_dim == 88
    assert ds.lengths("valid") == [len(r) for r in ds.splits["valid"]]


# ---- bad input ------------------------------------------------------------------------


def _write_pickle(path: Path, obj: object) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return path


def _tiny(piece: list) -> dict:
    return {"train": [piece], "valid": [piece], "test": [piece]}


def _assert_names(e: pytest.ExceptionInfo[LnfError], path: Path, match: str) -> None:
    assert e.value.path == str(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)
    assert match in e.value.message


def test_truncated_pickle(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "jsb_chorales.pickle"
    path.write_bytes((data_dir / "jsb_chorales.pickle").read_bytes()[:5000])
    with pytest.raises(LnfError) as e:
        load_pickle(path)
    _assert_names(e, path, "not a readable pickle")


def test_garbage_pickle(tmp_path: Path) -> None:
    path = tmp_path / "x.pickle"
    path.write_bytes(b"\x00\x01 this is not a pickle")
    with pytest.raises(LnfError) as e:
        load_music_file(path)
    _assert_names(e, path, "not a readable pickle")


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ([1, 2, 3], "expected a dict"),
        ({"train": [], "valid": []}, "expected a dict"),
        ({"train": 5, "valid": [], "test": []}, "expected a list"),
        (_tiny("abc"), "not a non-empty list"),
        (_tiny([]), "not a non-empty list"),
        (_tiny([(60,), 7]), "expected a collection of MIDI pitches"),
        (_tiny([("C4",)]), "not MIDI pitches"),
    ],
)
def test_wrong_structure_pickle(tmp_path: Path, obj: object, match: str) -> None:
    path = _write_pickle(tmp_path / "bad.pickle", obj)
    with pytest.raises(LnfError) as e:
        load_pickle(path)
    _assert_names(e, path, match)


@pytest.mark.parametrize("pitch", [20, 109, -1])
def test_out_of_range_pitch(tmp_path: Path, pitch: int) -> None:
    path = _write_pickle(tmp_path / "bad.pickle", _tiny([(60, 64), (pitch,)]))
    with pytest.raises(LnfError) as e:
        load_pickle(path)
    _assert_names(e, path, f"pitch {pitch}")
    assert "21..108" in e.value.message
    assert "step 1" in e.value.message


def test_valid_tiny_pickle_roundtrip(tmp_path: Path) -> None:
    path = _write_pickle(tmp_path / "ok.pickle", _tiny([(21, 108), (), (60,)]))
    roll = load_pickle(path)["train"][0]
    expected = np.zeros((3, 88), dtype=np.uint8)
    expected[0, [0, 87]] = 1
    expected[2, 39] = 1
    np.testing.assert_array_equal(roll, expected)


def _cells(*rolls: np.ndarray) -> np.ndarray:
    cells = np.empty((1, len(rolls)), dtype=object)
    for i, r in enumerate(rolls):
        cells[0, i] = r
    return cells


def _write_mat(path: Path, **arrays: np.ndarray) -> Path:
    scipy.io.savemat(str(path), arrays)
    return path


def test_mat_wrong_keys(tmp_path: Path) -> None:
    roll = np.zeros((4, 88), dtype=np.uint8)
    path = _write_mat(tmp_path / "bad.mat", traindata=_cells(roll), valid=_cells(roll))
    with pytest.raises(LnfError) as e:
        load_mat(path)
    _assert_names(e, path, "missing key 'validdata'")


@pytest.mark.parametrize("shape", [(4, 87), (4, 89), (0, 88)])
def test_mat_wrong_shape(tmp_path: Path, shape: tuple[int, int]) -> None:
    good = np.zeros((4, 88), dtype=np.uint8)
    bad = np.zeros(shape, dtype=np.uint8)
    path = _write_mat(
        tmp_path / "bad.mat",
        traindata=_cells(good),
        validdata=_cells(good, bad),
        testdata=_cells(good),
    )
    with pytest.raises(LnfError) as e:
        load_mat(path)
    _assert_names(e, path, "validdata element 1 has shape")


def test_mat_not_binary(tmp_path: Path) -> None:
    roll = np.full((3, 88), 2, dtype=np.uint8)
    path = _write_mat(
        tmp_path / "bad.mat", traindata=_cells(roll), validdata=_cells(roll), testdata=_cells(roll)
    )
    with pytest.raises(LnfError) as e:
        load_mat(path)
    _assert_names(e, path, "not a 0/1 piano roll")


def test_mat_not_matlab(tmp_path: Path) -> None:
    path = tmp_path / "bad.mat"
    path.write_bytes(b"definitely not MATLAB" * 10)
    with pytest.raises(LnfError) as e:
        load_music_file(path)
    _assert_names(e, path, "not a readable MATLAB file")


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "rolls.npz"
    path.write_bytes(b"")
    with pytest.raises(LnfError) as e:
        load_music_file(path)
    _assert_names(e, path, "unknown music file type")


def test_dataset_wrong_split_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LNF_DATA_DIR", raising=False)
    path = _write_pickle(tmp_path / "jsb_chorales.pickle", _tiny([(60,)]))
    with pytest.raises(LnfError) as e:
        load_dataset("jsb", tmp_path)
    _assert_names(e, path, "expected 229")
