"""``lnf synthetic`` end to end in its quick mode."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from lnfmusic.cli.main import cli


def test_quick_ring_writes_table_json_and_figure(tmp_path: Path) -> None:
    out = tmp_path / "res"
    result = CliRunner().invoke(
        cli, ["synthetic", "--quick", "--tasks", "ring", "--out-dir", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads((out / "discrete_flows_synthetic.json").read_text())
    models = [r["model"] for r in doc["rows"]]
    assert models == ["factorised base", "factorised base + 1 flow", "AR base"]
    assert all(abs(r["mass"] - 1) < 1e-4 for r in doc["rows"])
    assert doc["runs"]["ring"]["command"].startswith("lnf synthetic --quick")
    assert (out / "discrete_flows_synthetic.png").stat().st_size > 1000
    assert "## ring" in (out / "discrete_flows_synthetic.md").read_text()
    assert "factorised base + 1 flow" in result.stderr  # one progress line per model


def test_unknown_task_is_a_one_line_error(tmp_path: Path) -> None:
    out = tmp_path / "res"
    result = CliRunner().invoke(cli, ["synthetic", "--tasks", "rings", "--out-dir", str(out)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "unknown task 'rings'" in result.stderr
    assert not out.exists()
