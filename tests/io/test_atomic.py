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


def _in_a_new_process(code: str, *args: str) -> None:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run([sys.executable, "-c", code, *args], check=True, env=env)


def test_a_temporary_left_by_a_killed_writer_goes_at_the_next_process_write(
    tmp_path: Path,
) -> None:
    target = tmp_path / "last.pt"
    write_bytes_atomic(target, b"old")
    left = _killed_writer(target)
    assert target.read_bytes() == b"old"  # the kill never touched the target
    # the next run (a new process) writing into the folder, whatever the file, sweeps it
    _in_a_new_process(
        "import sys; from lnfmusic.io.atomic import write_text_atomic as w; w(sys.argv[1], 'x')",
        str(tmp_path / "metrics.jsonl"),
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "metrics.jsonl"], left


def test_only_temporaries_of_ended_processes_are_removed(tmp_path: Path) -> None:
    mine = tmp_path / f".x.json.{os.getpid()}.abc.tmp"  # a live writer's (this process)
    init = tmp_path / ".y.json.1.abc.tmp"  # process 1 always runs
    plain = tmp_path / ".notes.tmp"  # not named like a temporary
    ended = tmp_path / ".z.json.99999999.abc_12.tmp"
    for p in (mine, init, plain, ended):
        p.write_text("x")
    assert remove_stale_temporaries(tmp_path) == [ended]
    assert mine.exists() and init.exists() and plain.exists()


def test_a_live_writer_of_a_longer_name_keeps_its_temporary(tmp_path: Path) -> None:
    """``x.json.99999999`` starts like ``x.json``: its live writer's temporary (this
    process's) must not be read as one of ``x.json`` left by a process 99999999 that ended."""
    other = tmp_path / f".x.json.99999999.{os.getpid()}.abcdefgh.tmp"
    other.write_text("a live writer's")
    assert remove_stale_temporaries(tmp_path) == []
    assert other.exists()
    ended = tmp_path / ".x.json.99999999.abcdefgh.tmp"  # x.json's, of an ended process
    ended.write_text("left")
    assert remove_stale_temporaries(tmp_path) == [ended]


def test_a_process_sweeps_a_folder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing many files into one folder stays linear: one sweep per folder and process."""
    import lnfmusic.io.atomic as atomic

    sweeps = []
    monkeypatch.setattr(atomic, "remove_stale_temporaries", sweeps.append)
    for i in range(5):
        write_text_atomic(tmp_path / f"{i}.json", "x")
    write_text_atomic(tmp_path / "sub" / "a.json", "x")
    assert sweeps == [os.path.realpath(tmp_path), os.path.realpath(tmp_path / "sub")]


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
