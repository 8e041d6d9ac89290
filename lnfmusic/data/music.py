"""Polyphonic music piano rolls (Boulanger-Lewandowski et al. 2012).

Two file forms hold the same splits:

- the original pickles: a dict ``{"train", "valid", "test"}`` of pieces; a piece is a list of
  time steps; a step is a collection of active MIDI pitches in 21..108 (Python-2 pickles of
  numpy scalars, read with ``encoding="latin1"``);
- MATLAB ``.mat`` files with ``traindata``, ``validdata``, ``testdata``: cells of ``(T, 88)``
  0/1 matrices.

Both load to lists of ``(T, 88)`` uint8 rolls; column ``j`` is MIDI pitch ``j + 21``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from lnfmusic.errors import LnfError

PITCH_OFFSET = 21
NUM_PITCHES = 88
SPLITS = ("train", "valid", "test")


def pitches_to_roll(piece: list, path: Path, split: str, index: int) -> np.ndarray:
    """A list of steps (collections of MIDI pitches) -> ``(T, 88)`` uint8 roll."""
    roll = np.zeros((len(piece), NUM_PITCHES), dtype=np.uint8)
    for t, step in enumerate(piece):
        try:
            pitches = [int(p) for p in step]
        except (TypeError, ValueError):
            raise LnfError(
                f"{split} piece {index} step {t}: expected a collection of MIDI pitches, "
                f"got {type(step).__name__}",
                path,
            ) from None
        for p in pitches:
            if not PITCH_OFFSET <= p < PITCH_OFFSET + NUM_PITCHES:
                raise LnfError(
                    f"{split} piece {index} step {t}: pitch {p} outside the piano range 21..108",
                    path,
                )
            roll[t, p - PITCH_OFFSET] = 1
    return roll


def load_pickle(path: Path) -> dict[str, list[np.ndarray]]:
    """Read a Boulanger-Lewandowski pickle into ``{split: [(T, 88) uint8, ...]}``."""
    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, MemoryError) as e:
        raise LnfError(f"not a readable pickle ({type(e).__name__}: {e})", path) from None
    if not isinstance(data, dict) or not all(s in data for s in SPLITS):
        raise LnfError(
            "expected a dict with keys 'train', 'valid', 'test' (a piano-roll pickle)", path
        )
    splits = {}
    for split in SPLITS:
        pieces = data[split]
        if not isinstance(pieces, list | tuple):
            raise LnfError(f"split {split!r} is a {type(pieces).__name__}, expected a list", path)
        rolls = []
        for i, piece in enumerate(pieces):
            if not isinstance(piece, list | tuple) or len(piece) == 0:
                raise LnfError(f"{split} piece {i} is not a non-empty list of time steps", path)
            rolls.append(pitches_to_roll(piece, path, split, i))
        splits[split] = rolls
    return splits


def load_mat(path: Path) -> dict[str, list[np.ndarray]]:
    """Read a ``.mat`` file with ``traindata/validdata/testdata`` cells of ``(T, 88)`` rolls."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as e:  # scipy raises many types for a bad file
        raise LnfError(f"not a readable MATLAB file ({type(e).__name__}: {e})", path) from None
    splits = {}
    for split in SPLITS:
        key = f"{split}data"
        if key not in mat:
            raise LnfError(f"missing key {key!r} (expected traindata, validdata, testdata)", path)
        cells = np.asarray(mat[key], dtype=object).ravel()
        rolls = []
        for i, cell in enumerate(cells):
            roll = np.asarray(cell)
            if roll.ndim != 2 or roll.shape[1] != NUM_PITCHES or roll.shape[0] == 0:
                raise LnfError(
                    f"{key} element {i} has shape {roll.shape}, expected (T, 88)", path
                )
            if not np.isin(roll, (0, 1)).all():
                raise LnfError(f"{key} element {i} is not a 0/1 piano roll", path)
            rolls.append(roll.astype(np.uint8))
        splits[split] = rolls
    return splits


def load_music_file(path: Path) -> dict[str, list[np.ndarray]]:
    """Dispatch on the suffix: ``.pickle``/``.pkl`` or ``.mat``."""
    if path.suffix in (".pickle", ".pkl"):
        return load_pickle(path)
    if path.suffix == ".mat":
        return load_mat(path)
    raise LnfError("unknown music file type (expected .pickle or .mat)", path)
