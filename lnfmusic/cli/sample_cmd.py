"""``lnf sample`` (MIDI) and ``lnf text-sample``."""

from __future__ import annotations

import click

from lnfmusic.cli.common import handle_errors, not_implemented


@click.command()
@handle_errors
def sample() -> None:
    """Generate music from a checkpoint and write MIDI."""
    not_implemented("sample")


@click.command("text-sample")
@handle_errors
def text_sample() -> None:
    """Generate text from a checkpoint."""
    not_implemented("text-sample")
