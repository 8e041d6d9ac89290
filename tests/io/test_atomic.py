"""Atomic writes: all or nothing, with the permissions of an ordinary file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lnfmusic.io.atomic import atomic_path, write_bytes_atomic, write_text_atomic


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
