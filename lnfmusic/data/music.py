"""Polyphonic music piano rolls (Boulanger-Lewandowski et al. 2012).

Two file forms hold the same splits:

- the original pickles: a dict ``{"train", "valid", "test"}`` of pieces; a piece is a list of
  time steps; a step is a collection of active MIDI pitches in 21..108 (Python-2 pickles of
  numpy scalars, read with ``encoding="latin1"``);
- MATLAB ``.mat`` files with ``traindata``, ``validdata``, ``testdata``: ``1 x N`` cells of
  ``(T, 88)`` 0/1 matrices.

Both load to lists of ``(T, 88)`` uint8 rolls; column ``j`` is MIDI pitch ``j + 21``.

Pickles are read with a restricted unpickler that only admits the numpy scalar/dtype and
builtin container classes such files hold, so a malicious file cannot run code.

References:
    Boulanger-Lewandowski, Bengio, Vincent (2012), "Modeling Temporal Dependencies in
    High-Dimensional Sequences: Application to Polyphonic Music Generation and Transcription".
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from lnfmusic.errors import LnfError

PITCH_OFFSET = 21
NUM_PITCHES = 88
SPLITS = ("train", "valid", "test")

# (module, name) pairs a piano-roll pickle may refer to (numpy moved `core` to `_core` in 2.0).
_ALLOWED_GLOBALS = {
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "list"),
    ("builtins", "tuple"),
    ("builtins", "dict"),
}


class _RollUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refers to {module}.{name}, which a piano-roll pickle never holds (refused)"
            )
        return super().find_class(module, name)


def pitches_to_roll(piece: Any, path: str | os.PathLike[str], where: str) -> np.ndarray:
    """A list of steps (collections of MIDI pitches) -> ``(T, 88)`` uint8 roll.

    ``where`` names the piece in error messages (e.g. ``"train piece 3"``).
    """
    if not isinstance(piece, list | tuple) or len(piece) == 0:
        raise LnfError(f"{where} is not a non-empty list of time steps", path)
    steps, pitches = [], []
    for t, step in enumerate(piece):
        if isinstance(step, str | bytes) or not hasattr(step, "__iter__"):
            raise LnfError(
                f"{where} step {t}: expected a collection of MIDI pitches, "
                f"got {type(step).__name__}",
                path,
            )
        for p in step:
            steps.append(t)
            pitches.append(p)
    try:
        values = np.asarray(pitches, dtype=np.float64)
    except (TypeError, ValueError):
        raise LnfError(f"{where}: time steps hold values that are not MIDI pitches", path) from None
    bad = (values != np.round(values)) | (values < PITCH_OFFSET)
    bad |= values > PITCH_OFFSET + NUM_PITCHES - 1
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise LnfError(
            f"{where} step {steps[k]}: pitch {pitches[k]!r} is not an integer in the piano "
            f"range {PITCH_OFFSET}..{PITCH_OFFSET + NUM_PITCHES - 1}",
            path,
        )
    roll = np.zeros((len(piece), NUM_PITCHES), dtype=np.uint8)
    roll[np.asarray(steps, dtype=np.int64), values.astype(np.int64) - PITCH_OFFSET] = 1
    return roll


def load_pickle(path: str | os.PathLike[str]) -> dict[str, list[np.ndarray]]:
    """Read a Boulanger-Lewandowski pickle into ``{split: [(T, 88) uint8, ...]}``.

    Raises:
        LnfError: unreadable/truncated pickle, wrong structure, or pitches outside 21..108.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = _RollUnpickler(f, encoding="latin1").load()
    except OSError as e:
        raise LnfError(f"cannot read: {e.strerror}", path) from None
    except EOFError:
        raise LnfError("not a readable pickle (truncated: unexpected end of file)", path) from None
    except Exception as e:  # pickle raises many types for corrupt bytes
        msg = str(e).splitlines()[0][:120] if str(e) else ""
        raise LnfError(f"not a readable pickle ({type(e).__name__}: {msg})", path) from None
    if not isinstance(data, dict) or not all(s in data for s in SPLITS):
        found = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise LnfError(
            f"expected a dict with keys 'train', 'valid', 'test' (a piano-roll pickle), "
            f"found {found}",
            path,
        )
    splits = {}
    for split in SPLITS:
        pieces = data[split]
        if not isinstance(pieces, list | tuple):
            raise LnfError(f"split {split!r} is a {type(pieces).__name__}, expected a list", path)
        splits[split] = [
            pitches_to_roll(piece, path, f"{split} piece {i}") for i, piece in enumerate(pieces)
        ]
    return splits


def load_mat(path: str | os.PathLike[str]) -> dict[str, list[np.ndarray]]:
    """Read a ``.mat`` file with ``traindata/validdata/testdata`` cells of ``(T, 88)`` rolls.

    Raises:
        LnfError: unreadable file, missing keys, or elements that are not ``(T, 88)`` 0/1.
    """
    import scipy.io

    path = Path(path)
    try:
        mat = scipy.io.loadmat(str(path))
    except OSError as e:
        raise LnfError(f"cannot read: {e.strerror or e}", path) from None
    except Exception as e:  # scipy raises many types for a bad file
        msg = str(e).splitlines()[0][:120] if str(e) else ""
        raise LnfError(f"not a readable MATLAB file ({type(e).__name__}: {msg})", path) from None
    splits = {}
    for split in SPLITS:
        key = f"{split}data"
        if key not in mat:
            keys = sorted(k for k in mat if not k.startswith("__"))
            raise LnfError(
                f"missing key {key!r} (expected traindata, validdata, testdata; found "
                f"{', '.join(keys) or 'none'})",
                path,
            )
        cells = np.asarray(mat[key])
        if cells.dtype != object:
            raise LnfError(f"{key} is a {cells.dtype} array, expected a cell array of rolls", path)
        rolls = []
        for i, cell in enumerate(cells.ravel()):
            roll = np.asarray(cell)
            if roll.ndim != 2 or roll.shape[1] != NUM_PITCHES or roll.shape[0] == 0:
                raise LnfError(f"{key} element {i} has shape {roll.shape}, expected (T, 88)", path)
            if roll.dtype == object or not ((roll == 0) | (roll == 1)).all():
                raise LnfError(f"{key} element {i} is not a 0/1 piano roll", path)
            rolls.append(np.ascontiguousarray(roll, dtype=np.uint8))
        splits[split] = rolls
    return splits


def load_music_file(path: str | os.PathLike[str]) -> dict[str, list[np.ndarray]]:
    """Dispatch on the suffix: ``.pickle``/``.pkl`` or ``.mat``."""
    path = Path(path)
    if path.suffix in (".pickle", ".pkl"):
        return load_pickle(path)
    if path.suffix == ".mat":
        return load_mat(path)
    raise LnfError("unknown music file type (expected .pickle or .mat)", path)
