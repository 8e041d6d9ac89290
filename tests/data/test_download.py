"""Atomic, checksum-verified downloads against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import io
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from lnfmusic.data import registry
from lnfmusic.data.download import ChecksumError, download, download_dataset
from lnfmusic.errors import LnfError

JSB_SHA = registry.DATASETS["jsb"].forms[0][0].sha256


@pytest.fixture
def console() -> Iterator[Console]:
    yield Console(file=io.StringIO(), width=200)


def _all_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*"))


def test_download_verified(data_dir: Path, serve, tmp_path: Path, console: Console) -> None:
    url = serve(data_dir) + "/jsb_chorales.pickle"
    dest = tmp_path / "out" / "jsb_chorales.pickle"
    assert download(url, dest, JSB_SHA, console) == dest
    assert dest.read_bytes() == (data_dir / "jsb_chorales.pickle").read_bytes()
    assert _all_files(tmp_path) == [tmp_path / "out", dest]  # no temporary file left


def test_checksum_mismatch_leaves_nothing(
    data_dir: Path, serve, tmp_path: Path, console: Console
) -> None:
    url = serve(data_dir) + "/jsb_chorales.pickle"
    dest = tmp_path / "new" / "deeper" / "jsb_chorales.pickle"
    with pytest.raises(ChecksumError, match="sha256 mismatch") as e:
        download(url, dest, "0" * 64, console)
    assert e.value.path == str(dest)
    assert "\n" not in str(e.value)
    assert _all_files(tmp_path) == []  # neither the file nor the folders made for it


def test_mismatch_keeps_existing_file(
    data_dir: Path, serve, tmp_path: Path, console: Console
) -> None:
    dest = tmp_path / "jsb_chorales.pickle"
    dest.write_bytes(b"old")
    with pytest.raises(LnfError):
        download(serve(data_dir) + "/jsb_chorales.pickle", dest, "0" * 64, console)
    assert dest.read_bytes() == b"old"
    assert _all_files(tmp_path) == [dest]


def test_404_leaves_nothing(data_dir: Path, serve, tmp_path: Path, console: Console) -> None:
    url = serve(data_dir) + "/no_such.pickle"
    with pytest.raises(LnfError, match="HTTP 404") as e:
        download(url, tmp_path / "sub" / "no_such.pickle", None, console)
    assert e.value.path == url
    assert _all_files(tmp_path) == []


def test_connection_refused_names_url(tmp_path: Path, console: Console) -> None:
    with socket.socket() as s:  # a port that nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/jsb_chorales.pickle"
    with pytest.raises(LnfError, match="download failed") as e:
        download(url, tmp_path / "x.pickle", None, console)
    assert url in str(e.value) and "\n" not in str(e.value)
    assert _all_files(tmp_path) == []


def test_dataset_download_then_skip(
    data_dir: Path, serve, tmp_path: Path, console: Console
) -> None:
    base = serve(data_dir)
    paths = download_dataset("nottingham", tmp_path, base_url=base, console=console)
    # the pickle has no known checksum, so the verifiable .mat form is downloaded
    assert paths == [tmp_path / "tcn_mat" / "Nottingham.mat"]
    assert registry.check("nottingham", tmp_path)[0].status == registry.STATUS_OK
    mtime = paths[0].stat().st_mtime_ns
    assert download_dataset("nottingham", tmp_path, base_url=base, console=console) == paths
    assert paths[0].stat().st_mtime_ns == mtime
    assert "already present" in console.file.getvalue()


def test_dataset_base_url_from_env(
    data_dir: Path, serve, tmp_path: Path, console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LNF_DATA_URL", serve(data_dir) + "/")
    paths = download_dataset("jsb", tmp_path, console=console)
    assert paths == [tmp_path / "jsb_chorales.pickle"]
    assert registry.sha256_of(paths[0]) == JSB_SHA


def test_dataset_replaces_corrupt_file(
    data_dir: Path, serve, tmp_path: Path, console: Console
) -> None:
    (tmp_path / "jsb_chorales.pickle").write_bytes(b"corrupt")
    download_dataset("jsb", tmp_path, base_url=serve(data_dir), console=console)
    assert registry.sha256_of(tmp_path / "jsb_chorales.pickle") == JSB_SHA


def test_dataset_falls_back_to_next_form(
    data_dir: Path, serve, tmp_path: Path, console: Console
) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "tcn_mat").mkdir(parents=True)
    shutil.copy(data_dir / "tcn_mat" / "JSB_Chorales.mat", mirror / "tcn_mat")
    dest = tmp_path / "dest"
    paths = download_dataset("jsb", dest, base_url=serve(mirror), console=console)
    assert paths == [dest / "tcn_mat" / "JSB_Chorales.mat"]
    assert _all_files(dest) == [dest / "tcn_mat", paths[0]]
    assert "HTTP 404" in console.file.getvalue()


def test_dataset_all_forms_fail(tmp_path: Path, serve, console: Console) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    dest = tmp_path / "dest"
    with pytest.raises(LnfError, match="could not download 'jsb'") as e:
        download_dataset("jsb", dest, base_url=serve(empty), console=console)
    assert "jsb_chorales.pickle" in str(e.value) and "JSB_Chorales.mat" in str(e.value)
    assert not dest.exists()


def test_dataset_mismatch_is_not_retried(tmp_path: Path, serve, console: Console) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "jsb_chorales.pickle").write_bytes(b"tampered")
    dest = tmp_path / "dest"
    with pytest.raises(ChecksumError):
        download_dataset("jsb", dest, base_url=serve(mirror), console=console)
    assert not dest.exists()


def test_dataset_bad_form_index(tmp_path: Path) -> None:
    with pytest.raises(LnfError, match="forms 0..1"):
        download_dataset("jsb", tmp_path, form=5)
