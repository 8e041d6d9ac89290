"""The dataset registry: lookup order, found forms, checksum status."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from lnfmusic.data import registry
from lnfmusic.errors import LnfError


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ``$LNF_DATA_DIR`` and a working directory without ``datasets/``."""
    monkeypatch.delenv("LNF_DATA_DIR", raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_search_dirs_order(no_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert registry.search_dirs() == [Path("datasets")]
    monkeypatch.setenv("LNF_DATA_DIR", "/env/dir")
    assert registry.search_dirs("/cli/dir") == [
        Path("/cli/dir"),
        Path("/env/dir"),
        Path("datasets"),
    ]
    monkeypatch.setenv("LNF_DATA_DIR", "")  # empty means unset
    assert registry.search_dirs() == [Path("datasets")]


def test_every_dataset_has_a_verifiable_download_form() -> None:
    for info in registry.DATASETS.values():
        form = info.download_form()
        assert form is not None, info.name
        for f in form:
            assert f.sha256 is not None and len(f.sha256) == 64
            assert all(u.startswith(("http://", "https://")) for u in f.urls)


def test_unknown_name_lists_known() -> None:
    with pytest.raises(LnfError, match="known: jsb"):
        registry.get_info("bach")


def test_real_data_found_and_ok(data_dir: Path) -> None:
    for name in registry.DATASETS:
        paths = registry.find_files(name, data_dir)
        assert all(p.is_file() and p.is_relative_to(data_dir) for p in paths)
        statuses = [r.status for r in registry.check(name, data_dir)]
        assert statuses == [registry.STATUS_OK] * len(paths), name


def test_pickle_form_preferred_over_mat(data_dir: Path) -> None:
    assert registry.find_files("jsb", data_dir) == [data_dir / "jsb_chorales.pickle"]
    assert registry.find_files("nottingham", data_dir) == [data_dir / "tcn_mat/Nottingham.mat"]


def test_first_folder_wins(data_dir: Path, tmp_path: Path, no_env: Path) -> None:
    (no_env / "datasets" / "tcn_mat").mkdir(parents=True)
    shutil.copy(data_dir / "tcn_mat/JSB_Chorales.mat", no_env / "datasets/tcn_mat")
    # ./datasets is searched last but is the only folder here
    assert registry.find_files("jsb") == [Path("datasets/tcn_mat/JSB_Chorales.mat")]
    assert registry.find_files("jsb", data_dir) == [data_dir / "jsb_chorales.pickle"]


def test_missing_says_where_and_how(no_env: Path, tmp_path: Path) -> None:
    with pytest.raises(LnfError) as e:
        registry.find_files("jsb", tmp_path / "nothing")
    msg = str(e.value)
    assert "\n" not in msg
    assert str(tmp_path / "nothing") in msg and str(no_env / "datasets") in msg
    assert "jsb_chorales.pickle" in msg and "tcn_mat/JSB_Chorales.mat" in msg
    assert "lnf data download jsb" in msg
    statuses = registry.verify("jsb", tmp_path / "nothing")
    assert [s.status for s in statuses] == [registry.STATUS_MISSING]


def test_mismatch_detected(tmp_path: Path, no_env: Path) -> None:
    bad = tmp_path / "jsb_chorales.pickle"
    bad.write_bytes(b"not the real file")
    assert registry.sha256_of(bad) == hashlib.sha256(b"not the real file").hexdigest()
    assert [r.status for r in registry.verify("jsb", tmp_path)] == [registry.STATUS_MISMATCH]
    with pytest.raises(LnfError, match="sha256 mismatch") as e:
        registry.check("jsb", tmp_path)
    assert e.value.path == str(bad)


def test_unknown_checksum(tmp_path: Path, no_env: Path) -> None:
    (tmp_path / "nottingham.pickle").write_bytes(b"x")
    [r] = registry.verify("nottingham", tmp_path)
    assert r.status == registry.STATUS_UNKNOWN


def test_datasets_readme_lists_the_registry_checksums() -> None:
    readme = Path(__file__).resolve().parents[2] / "datasets" / "README.md"
    listed = dict(re.findall(r"\| `([^`]+)` \| `([0-9a-f]{64})` \|", readme.read_text()))
    known = {
        f.name: f.sha256 for i in registry.DATASETS.values() for f in i.all_files() if f.sha256
    }
    assert listed == known


def test_a_folder_named_like_the_dataset_file_is_an_error_not_skipped(
    no_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first, later = tmp_path / "first", tmp_path / "later"
    (first / "jsb_chorales.pickle").mkdir(parents=True)
    later.mkdir()
    (later / "jsb_chorales.pickle").write_bytes(b"x")  # a file further down the search order
    monkeypatch.setenv("LNF_DATA_DIR", str(later))
    with pytest.raises(LnfError, match="not a file") as e:
        registry.find_files("jsb", first)
    assert str(first / "jsb_chorales.pickle") in str(e.value)
    assert registry.find_files("jsb") == [later / "jsb_chorales.pickle"]  # without the folder


def test_a_file_that_cannot_be_read_is_one_line_in_the_checksum_step(tmp_path: Path) -> None:
    from lnfmusic.data.registry import sha256_of

    with pytest.raises(LnfError, match="cannot read") as e:
        sha256_of(tmp_path)  # a folder: open() fails as it does without read permission
    assert e.value.path == str(tmp_path)
