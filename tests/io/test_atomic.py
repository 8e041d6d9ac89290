"""Atomic writes: all or nothing, with the permissions of an ordinary file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lnfmusic.io.atomic import (
    atomic_path,
    remove_stale_temporaries,
    write_bytes_atomic,
    write_text_atomic,
)


def test_written_file_gets_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "hello")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_failure_leaves_old_file_and_no_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "b.bin"
    write_bytes_atomic(target, b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin"]


WRITER = """
import sys, time
from lnfmusic.io.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half")
    print(tmp, flush=True)
    time.sleep(60)
"""


def _killed_writer(target: Path) -> Path:
    """A process killed (SIGKILL) in the middle of an atomic write of ``target``: the
    temporary file it leaves."""
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        tmp = Path(proc.stdout.readline().strip())
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert tmp.is_file() and tmp.parent == target.parent
    return tmp


def test_a_temporary_left_by_a_killed_writer_goes_at_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "last.pt"
    write_bytes_atomic(target, b"old")
    left = _killed_writer(target)
    assert target.read_bytes() == b"old"  # the kill never touched the target
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"], left


def test_only_temporaries_of_ended_processes_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    mine = tmp_path / f".x.json.{os.getpid()}.abc.tmp"
    mine.write_text("a live writer's")
    other = tmp_path / ".y.json.1.abc.tmp"  # another target's
    other.write_text("y")
    assert remove_stale_temporaries(target) == []
    assert mine.exists() and other.exists()


def test_a_live_writer_of_a_longer_name_keeps_its_temporary(tmp_path: Path) -> None:
    """``x.json.99999999`` starts like ``x.json``: its live writer's temporary (this
    process's) must not be read as one of ``x.json`` left by a process 99999999 that ended."""
    other = tmp_path / f".x.json.99999999.{os.getpid()}.abcdefgh.tmp"
    other.write_text("a live writer's")
    assert remove_stale_temporaries(tmp_path / "x.json") == []
    assert other.exists()
    ended = tmp_path / ".x.json.99999999.abcdefgh.tmp"  # x.json's, of an ended process
    ended.write_text("left")
    assert remove_stale_temporaries(tmp_path / "x.json") == [ended]


def test_an_output_that_is_an_input_of_the_same_call_is_refused(tmp_path: Path) -> None:
    from lnfmusic.errors import LnfError
    from lnfmusic.io.atomic import check_not_inputs

    src = tmp_path / "a.pt"
    src.write_bytes(b"weights")
    (tmp_path / "link.pt").symlink_to(src)
    for out in (src, tmp_path / "link.pt", tmp_path / "sub" / ".." / "a.pt"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(LnfError, match="also an input"):
            check_not_inputs([out], [None, src])
    check_not_inputs([tmp_path / "b.pt", tmp_path / "new.pt"], [src, None, "not-a-file"])
    assert src.read_bytes() == b"weights"


@pytest.mark.parametrize("name", ["", ".", "..", "/", "sub/", "a/.."])
def test_an_output_name_that_is_no_file_name_is_refused(tmp_path: Path, name: str) -> None:
    from lnfmusic.errors import LnfError
    from lnfmusic.io.atomic import check_file_name

    with pytest.raises(LnfError, match="--out needs a file name"):
        check_file_name(name, "--out")
    with pytest.raises(LnfError, match="needs a file name"):
        check_file_name(tmp_path)  # an existing folder
    check_file_name(tmp_path / "song.mid")
