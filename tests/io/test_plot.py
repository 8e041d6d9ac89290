"""Piano-roll PNG pictures."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lnfmusic.errors import LnfError
from lnfmusic.io.plot import save_roll_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def matplotlib() -> None:
    pytest.importorskip("matplotlib", reason="the `plot` extra (matplotlib) is not installed")


@pytest.mark.usefixtures("matplotlib")
def test_png_written(tmp_path: Path) -> None:
    roll = np.zeros((40, 88), dtype=np.uint8)
    roll[np.arange(40), np.arange(40) + 20] = 1
    path = tmp_path / "out" / "roll.png"
    save_roll_png(roll, path, steps_per_beat=2, title="diagonal")
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000
    assert sorted(p.name for p in path.parent.iterdir()) == ["roll.png"]  # no temporary file


@pytest.mark.usefixtures("matplotlib")
def test_png_depends_on_content(tmp_path: Path) -> None:
    empty = np.zeros((16, 88), dtype=np.uint8)
    full = np.ones((16, 88), dtype=np.uint8)
    save_roll_png(empty, tmp_path / "a.png")
    save_roll_png(full, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "b.png").read_bytes()


@pytest.mark.usefixtures("matplotlib")
def test_pyplot_backend_left_alone(tmp_path: Path) -> None:
    import matplotlib as mpl

    before = mpl.get_backend()
    mpl.use("svg")  # a caller's own (non-Agg) backend must survive
    try:
        save_roll_png(np.eye(8, 88, dtype=np.uint8), tmp_path / "r.png")
        assert mpl.get_backend() == "svg"
    finally:
        mpl.use(before)


@pytest.mark.usefixtures("matplotlib")
@pytest.mark.parametrize("shape", [(0, 88), (88,)])
def test_bad_roll(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "bad.png"
    with pytest.raises(LnfError, match="piano roll") as e:
        save_roll_png(np.zeros(shape), path)
    assert e.value.path == str(path)
    assert not path.exists()


def test_missing_matplotlib_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a None entry in sys.modules makes the import fail as if the package were absent
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    path = tmp_path / "roll.png"
    with pytest.raises(LnfError, match=r"pip install 'lnfmusic\[plot\]'") as e:
        save_roll_png(np.eye(8, 88, dtype=np.uint8), path)
    assert "\n" not in str(e.value) and "needs matplotlib" in str(e.value)
    assert not path.exists()
