"""``lnf synthetic``: the Discrete Flows paper's synthetic experiments beside its numbers."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from lnfmusic.cli.common import stderr, stdout
from lnfmusic.cli.options import MAX_THREADS, Int64Range
from lnfmusic.config import SEED_MAX


@click.command()
@click.option(
    "--tasks",
    "task_list",
    default="full-rank,ring,addition,potts",
    help="Comma-separated tasks: full-rank, ring, addition, potts.",
)
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default="results",
    help="Where discrete_flows_synthetic.{json,md,png} are written.",
)
@click.option(
    "--quick",
    is_flag=True,
    help="Tiny sizes and a few steps: checks that everything runs (numbers mean nothing).",
)
@click.option(
    "--seed", type=Int64Range(0, SEED_MAX), default=0, help="Seed of the data draws and the models."
)
@click.option(
    "--threads",
    type=Int64Range(min=1, max=MAX_THREADS),
    default=1,
    help="Torch threads (the recorded run used 1).",
)
@click.option("--no-png", is_flag=True, help="Skip the ring figure (needs matplotlib).")
@click.option(
    "--train-size",
    type=Int64Range(min=1, max=10_000_000),
    default=None,
    help="Training sample of the vector tasks  [default: 50000; quick: 2000].",
)
def synthetic(
    task_list: str,
    out_dir: Path,
    quick: bool,
    seed: int,
    threads: int,
    no_png: bool,
    train_size: int | None,
) -> None:
    """Rerun the Discrete Flows paper's synthetic experiments beside its numbers.

    Trains the models Tran et al. (2019) compare on full-rank Dirichlet distributions, the
    discretised ring of Gaussians, addition and Potts models, and writes a table with the
    paper's number, ours (train and held-out NLL, exact cross-entropy) and the true
    entropy. The full run takes about an hour on one CPU core."""
    import torch

    from lnfmusic.experiments.synthetic import Settings, run

    torch.set_num_threads(threads)
    names = tuple(t.strip() for t in task_list.split(",") if t.strip())
    overrides = {} if train_size is None else {"train_size": train_size}
    args = ["--quick"] if quick else []
    args += [] if train_size is None else ["--train-size", str(train_size)]
    args += ["--tasks", ",".join(names), "--out-dir", str(out_dir), "--seed", str(seed)]
    command = "lnf synthetic " + " ".join(shlex.quote(a) for a in args)
    rows = run(
        names,
        Settings.make(quick=quick, seed=seed, **overrides),
        out_dir,
        command,
        log=lambda line: stderr.print(line, soft_wrap=True),
        png=not no_png,
    )
    stdout.print(
        f"{len(rows)} rows -> {out_dir / 'discrete_flows_synthetic'}.{{json,md}}", soft_wrap=True
    )
