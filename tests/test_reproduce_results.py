"""Re-running a recorded command reproduces the recorded numbers (``results/``).

Slow (a real training run of a few minutes), and exact only on a CPU and torch build like the
one that recorded them (AMD EPYC, torch 2.13.0+cpu, one thread): floating-point kernels differ
between CPUs. Run with ``python -m pytest -m slow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lnfmusic.config import upgrade_config_dict

RESULTS = Path(__file__).resolve().parents[1] / "results" / "jsb_small_cpu"
TIMINGS = {"steps_per_s", "epoch_seconds", "wall_seconds"}


def _metrics(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [{k: v for k, v in row.items() if k not in TIMINGS} for row in rows]


@pytest.mark.slow
def test_lstm_small_on_jsb_reproduces_the_recorded_run(data_dir: Path, tmp_path: Path) -> None:
    recorded = RESULTS / "jsb-lstm-small"
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "lnfmusic", "train", "--dataset", "jsb", "--model", "lstm",
        "--preset", "small", "--threads", "1", "--device", "cpu", "--no-progress",
        "--data-dir", str(data_dir), "--run-dir", str(run_dir),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    config = json.loads((run_dir / "config.json").read_text())
    # recorded before model families existed: upgraded as checkpoints of that format are
    recorded_config = upgrade_config_dict(json.loads((recorded / "config.json").read_text()))
    for section in ("model", "train"):  # options added since the recording must be off
        added = set(config[section]) - set(recorded_config[section])
        assert all(config[section].pop(key) is None for key in added), added
    assert config == recorded_config
    assert _metrics(run_dir / "metrics.jsonl") == _metrics(recorded / "metrics.jsonl")
