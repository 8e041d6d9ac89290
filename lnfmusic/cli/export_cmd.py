"""``lnf export``: a small sampling-only copy of a checkpoint."""

from __future__ import annotations

from pathlib import Path

import click

from lnfmusic.cli.common import stdout


@click.command()
@click.argument("checkpoint", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--half", is_flag=True, help="Store the weights as float16 (half the size).")
def export(checkpoint: Path, out: Path, half: bool) -> None:
    """Copy CHECKPOINT to OUT without optimizer/RNG state (for sampling and evaluation)."""
    from lnfmusic.checkpoint import export_checkpoint

    export_checkpoint(checkpoint, out, half=half)
    stdout.print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)", soft_wrap=True)
