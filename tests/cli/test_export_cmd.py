"""``lnf export`` on a real (tiny, one-epoch) checkpoint: a smaller sampling-only copy, in
float32 or float16 (``--half``), that loads back as float32; and one-line errors that
write nothing for a missing or foreign source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result

from lnfmusic.checkpoint import load_model
from lnfmusic.cli.main import cli
from tests.helpers import train_tiny, write_text_lines


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``last.pt`` of the tiny preset trained for one epoch on a small text file."""
    folder = tmp_path_factory.mktemp("export")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    try:
        lines = write_text_lines(folder / "lines.txt")
        yield train_tiny(f"text:{lines}", "af-af", folder / "run")
    finally:
        torch.set_num_threads(before)


def export(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["export", *map(str, args)])


def raw(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def test_export_writes_a_smaller_loadable_copy(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pt"
    result = export(trained, out)
    assert result.exit_code == 0, result.output
    assert out.is_file()
    words = " ".join(result.stdout.split())
    assert words == f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)"
    assert out.stat().st_size < trained.stat().st_size

    src, dst = raw(trained), raw(out)
    assert "optimizer" in src and "rng" in src
    for key in ("optimizer", "rng", "scheduler", "seconds"):
        assert key not in dst
    for key in ("format", "format_version", "config", "dataset", "epoch", "step", "best_valid"):
        assert dst[key] == src[key]
    assert dst["weights_dtype"] == "float32"
    assert dst["exported_from"] == str(trained)
    assert dst["model"].keys() == src["model"].keys()
    for name, tensor in src["model"].items():
        assert torch.equal(dst["model"][name], tensor), name


def test_exported_model_loads_like_the_original(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pt"
    assert export(trained, out).exit_code == 0
    original, copy = load_model(trained), load_model(out)
    assert copy.config.to_dict() == original.config.to_dict()
    assert copy.dataset.to_dict() == original.dataset.to_dict()
    assert copy.name == "af-af"
    assert not copy.model.training
    assert "optimizer" not in copy.checkpoint
    for (name, a), (_, b) in zip(
        original.model.state_dict().items(), copy.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_half_stores_float16_and_loads_back_as_float32(trained: Path, tmp_path: Path) -> None:
    full, half = tmp_path / "full.pt", tmp_path / "half.pt"
    assert export(trained, full).exit_code == 0
    result = export("--half", trained, half)
    assert result.exit_code == 0, result.output
    assert half.stat().st_size < full.stat().st_size < trained.stat().st_size
    assert half.stat().st_size < 0.7 * full.stat().st_size

    stored = raw(half)
    assert stored["weights_dtype"] == "float16"
    floats = [t for t in stored["model"].values() if t.is_floating_point()]
    assert floats and all(t.dtype == torch.float16 for t in floats)

    original = load_model(trained).model.state_dict()
    loaded = load_model(half).model
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    changed = 0
    for name, tensor in loaded.state_dict().items():
        ref = original[name]
        assert tensor.dtype == ref.dtype, name
        torch.testing.assert_close(tensor, ref, rtol=2e-3, atol=1e-4, msg=name)
        changed += int(not torch.equal(tensor, ref))
    assert changed > 0  # float16 really rounded something


def test_export_overwrites_an_existing_destination(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pt"
    out.write_text("old")
    assert export(trained, out).exit_code == 0
    assert raw(out)["weights_dtype"] == "float32"
    assert [p.name for p in tmp_path.iterdir()] == ["out.pt"]  # no temporary left behind


def test_re_export_of_a_half_copy_records_its_real_dtype(trained: Path, tmp_path: Path) -> None:
    half, again = tmp_path / "half.pt", tmp_path / "again.pt"
    assert export("--half", trained, half).exit_code == 0
    assert export(half, again).exit_code == 0
    stored = raw(again)
    dtypes = {t.dtype for t in stored["model"].values() if t.is_floating_point()}
    assert (
        stored["weights_dtype"]
        == {torch.float16: "float16", torch.float32: "float32"}[dtypes.pop()]
    )


def test_the_wrote_line_is_one_line_for_a_long_path(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / ("a_rather_long_folder_name_" * 3) / "exported_checkpoint.pt"
    assert len(f"wrote {out} (0.00 MB)") > 80
    result = export(trained, out)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)\n"


def assert_clean_failure(result: Result, out: Path, *, mentions: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert mentions in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert not out.exists()
    assert not any(p.name.startswith(f".{out.name}.") for p in out.parent.iterdir())


@pytest.mark.parametrize("half", [False, True])
def test_missing_source(tmp_path: Path, half: bool) -> None:
    out = tmp_path / "out.pt"
    missing = tmp_path / "nope.pt"
    result = export(*(["--half"] if half else []), missing, out)
    assert_clean_failure(result, out, mentions=f"{missing}: checkpoint not found")


def test_text_file_source(tmp_path: Path) -> None:
    src, out = tmp_path / "notes.pt", tmp_path / "out.pt"
    src.write_text("not a checkpoint\nat all\n")
    result = export(src, out)
    assert_clean_failure(result, out, mentions=f"{src}: not a readable lnfmusic checkpoint")


def test_foreign_torch_file_source(tmp_path: Path) -> None:
    src, out = tmp_path / "weights.pt", tmp_path / "out.pt"
    torch.save({"model": {"w": torch.zeros(2)}}, src)
    result = export(src, out)
    assert_clean_failure(result, out, mentions=f"{src}: not an lnfmusic checkpoint")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x80\x02",
        b"PK\x03\x04garbage",
        b"\x00\x01\x02\x03",
        b"\x80\x02}q\x00.",
        pytest.param(b"\x80\x04junk", id="struct-error"),
        pytest.param(b"abcd", id="index-error"),
    ],
)
def test_corrupt_source(tmp_path: Path, content: bytes) -> None:
    src, out = tmp_path / "corrupt.pt", tmp_path / "out.pt"
    src.write_bytes(content)
    result = export(src, out)
    assert_clean_failure(result, out, mentions=f"{src}: not a readable lnfmusic checkpoint")


def test_failure_leaves_an_existing_destination_alone(tmp_path: Path) -> None:
    src, out = tmp_path / "bad.pt", tmp_path / "keep.pt"
    src.write_bytes(b"\x80\x02")
    out.write_bytes(b"precious")
    result = export(src, out)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert out.read_bytes() == b"precious"
