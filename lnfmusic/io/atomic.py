"""Atomic file writes: a reader never sees a half-written file.

The data goes to a hidden temporary file beside the target, ``.NAME.PID.XXXXXXXX.tmp``, that
is moved into place when complete. A process killed mid-write (SIGKILL, power loss) leaves
that file behind; the first write of a later process into the same folder removes the
temporaries of writers that no longer run (the process id in the name), so leftovers never
pile up or get mistaken for a target. Each process sweeps a folder once, so writing many
files into one folder stays linear in their number."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from lnfmusic.errors import LnfError

# .NAME.PID.RANDOM.tmp: NAME may hold dots, mkstemp's RANDOM holds none, so the process id
# is the second dotted field from the end
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<random>\w+)\.tmp")
_SWEPT: set[str] = set()  # the folders this process has swept


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place only on success.

    On an exception the temporary file is removed and ``path`` is left untouched; an
    operating-system failure (no permission, disk full, a folder in the way) becomes a
    one-line :class:`LnfError` naming ``path``.
    """
    path = Path(path)
    if path.is_dir():
        raise LnfError("is a folder; give a file name to write", path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        folder = os.path.realpath(path.parent)
        if folder not in _SWEPT:
            remove_stale_temporaries(folder)
            _SWEPT.add(folder)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
        )
    except OSError as e:
        raise LnfError(f"cannot write here ({e.strerror or e})", path) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except OSError as e:
        tmp_path.unlink(missing_ok=True)
        raise LnfError(f"could not write the file ({e.strerror or e})", path) from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that :func:`atomic_path` left in ``folder`` in processes
    that have ended (killed during a write); those of live processes, and files not named
    like a temporary, stay. Returns what was deleted."""
    gone = []
    for tmp in Path(folder).glob(".*.tmp"):
        match = _TEMPORARY.fullmatch(tmp.name)
        if match and not _running(int(match["pid"])) and tmp.is_file():
            with contextlib.suppress(OSError):
                tmp.unlink()
                gone.append(tmp)
    return gone


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):  # another user's, or not a pid
        return True
    return True


def make_folder(path: str | os.PathLike[str]) -> Path:
    """Create the folder ``path`` (and its parents) or fail with a one-line :class:`LnfError`."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise LnfError("is a file, not a folder", path) from None
    except OSError as e:
        raise LnfError(f"cannot create this folder ({e.strerror or e})", path) from None
    return path


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail early, before long work, if ``path`` obviously cannot be written: it is a folder,
    or its nearest existing ancestor is not a writable folder."""
    path = Path(path)
    if path.is_dir():
        raise LnfError("is a folder; give a file name to write", path)
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise LnfError(f"cannot write here ({parent} is not a writable folder)", path)


def check_file_name(path: str | os.PathLike[str], what: str = "") -> None:
    """Refuse an output path that cannot name a file: empty, ``.``, ``..``, ending in ``/``,
    or an existing folder (``what`` names the option in the message)."""
    text = os.fspath(path)
    name = Path(text).name
    if not text or not name or name in (".", "..") or text.endswith(os.sep) or Path(text).is_dir():
        where = f"{what} " if what else ""
        raise LnfError(f"{where}needs a file name, not a folder", text or "''")


def check_not_inputs(
    outputs: Iterable[str | os.PathLike[str]], inputs: Iterable[str | os.PathLike[str] | None]
) -> None:
    """Refuse to write over a file the same call reads (``lnf export a.pt a.pt``, ``--out``
    naming the checkpoint): its content would be lost. ``None`` inputs are skipped."""
    existing = [Path(p) for p in inputs if p is not None and Path(p).is_file()]
    for out in map(Path, outputs):
        if out.is_file() and any(os.path.samefile(out, p) for p in existing):
            raise LnfError("is also an input of this command; writing it would destroy it", out)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
