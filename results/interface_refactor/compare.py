"""Compare two output folders of make_outputs.sh: training metrics (timings left out), MIDI
and text samples byte for byte, evaluation numbers to relative precision."""

import json
import sys
from pathlib import Path

TIMINGS = {"steps_per_s", "epoch_seconds", "wall_seconds"}


def metrics(path: Path) -> list[dict]:
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in rows]


def main(before: Path, after: Path) -> None:
    for run in sorted(before.glob("*run-*")):
        same = metrics(run / "metrics.jsonl") == metrics(after / run.name / "metrics.jsonl")
        print(f"{run.name:16} metrics.jsonl {'identical' if same else 'DIFFERENT'}")
    for f in sorted([*before.glob("*.mid"), *before.glob("t-*.txt")]):
        same = f.read_bytes() == (after / f.name).read_bytes()
        print(f"{f.name:16} {'identical' if same else 'DIFFERENT'}")
    for f in sorted(before.glob("*eval-*.json")):
        a, b = json.loads(f.read_text()), json.loads((after / f.name).read_text())
        worst = 0.0
        for ra, rb in zip(a["results"], b["results"], strict=True):
            for split, ma in ra["splits"].items():
                mb = rb["splits"][split]
                for k, va in ma.items():
                    if isinstance(va, float):
                        worst = max(worst, abs(va - mb[k]) / max(abs(va), 1e-300))
        print(f"{f.name:18} largest relative difference {worst:.1e}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
