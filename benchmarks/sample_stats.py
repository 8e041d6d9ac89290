"""Texture of generated music against the data: how many notes sound together, how often
exactly four, how dissonant, how long notes last.

For each checkpoint: ``--num`` samples drawn as ``lnf sample`` draws them (lengths from the
training lengths, sample ``i`` under seed ``--seed + i``), timed; and, for a model with
latents, reconstructions of the first ``--num`` pieces of ``--split`` (z drawn from q(z|x),
x from the emission), which separate what the emission can express from what the prior
gives it. The same statistics for the split itself come first.

Statistics, over every step of every piece:

- ``notes_per_step``: mean number of sounding keys;
- ``four_note_share``: share of steps with exactly four sounding keys (JSB is written for
  four voices);
- ``dissonant_share``: among all pairs of keys sounding in the same step, the share whose
  interval modulo 12 is a minor second, a major seventh or a tritone (1, 11 or 6
  semitones; the independent check quoted in issue 14 used this set: 2.8% on the JSB test
  set);
- ``mean_note_length``: mean length in steps of a note, a maximal run of one key sounding.

    python benchmarks/sample_stats.py models/default.pt runs/x/best.pt --dataset jsb
    python benchmarks/sample_stats.py CKPT --num 20      # a smoke run in seconds

Writes a Markdown table to stdout and, with ``--json``, every number to a file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lnfmusic.checkpoint import load_model
from lnfmusic.config import SampleConfig
from lnfmusic.data.dataset import load_dataset
from lnfmusic.errors import LnfError
from lnfmusic.evaluate.texture import texture
from lnfmusic.io.atomic import write_text_atomic
from lnfmusic.model.base import LatentSequenceModel
from lnfmusic.sample import sample_music, variations


def reconstructions(bundle, pieces: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """Piece ``i`` decoded from z drawn from q(z | x) (seed ``seed + i``): a variation at
    temperature 1 (:func:`lnfmusic.sample.variations`)."""
    return [
        variations(bundle, roll, SampleConfig(num=1, temperature=1.0, seed=seed + i))[0]
        for i, roll in enumerate(pieces)
    ]


def measure(path: str, pieces: list[np.ndarray], num: int, seed: int) -> dict[str, Any]:
    bundle = load_model(path)
    emission = getattr(bundle.config.model, "emission", "-")
    start = time.perf_counter()
    samples = sample_music(bundle, SampleConfig(num=num, seed=seed))
    seconds = time.perf_counter() - start
    row: dict[str, Any] = {
        "checkpoint": path,
        "model": bundle.name,
        "emission": emission,
        "samples": texture(samples),
        "generate_seconds": seconds,
        "generate_ms_per_step": 1000 * seconds / max(sum(len(s) for s in samples), 1),
    }
    if isinstance(bundle.model, LatentSequenceModel):
        row["reconstructions"] = texture(reconstructions(bundle, pieces[:num], seed))
    return row


def table(data: dict[str, float], rows: list[dict[str, Any]]) -> str:
    head = "| what | emission | notes/step | four-note steps | clashing pairs | note length |"
    lines = [head, "|---|---|---|---|---|---|"]

    def line(name: str, emission: str, s: dict[str, float]) -> str:
        return (
            f"| {name} | {emission} | {s['notes_per_step']:.2f} | {s['four_note_share']:.1%} "
            f"| {s['dissonant_share']:.1%} | {s['mean_note_length']:.2f} |"
        )

    lines.append(line("data", "-", data))
    for r in rows:
        lines.append(line(f"{r['model']} samples", r["emission"], r["samples"]))
        if "reconstructions" in r:
            lines.append(line(f"{r['model']} reconstructions", r["emission"], r["reconstructions"]))
    lines.append("")
    lines.append("| model | emission | generation (s) | ms per step |")
    lines.append("|---|---|---|---|")
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['emission']} | {r['generate_seconds']:.2f} "
            f"| {r['generate_ms_per_step']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--dataset", default="jsb")
    p.add_argument("--split", default="test")
    p.add_argument("--num", type=int, default=200, help="samples (and reconstructions)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="write every number here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        pieces = load_dataset(args.dataset).splits[args.split]
        data = texture(pieces)
        rows = [measure(c, pieces, args.num, args.seed) for c in args.checkpoints]
    except LnfError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(table(data, rows))
    if args.json:
        record = {
            "dataset": args.dataset,
            "split": args.split,
            "num": args.num,
            "seed": args.seed,
            "data": data,
            "models": rows,
            "torch": torch.__version__,
        }
        write_text_atomic(Path(args.json), json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
