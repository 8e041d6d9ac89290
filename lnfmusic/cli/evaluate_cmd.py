"""``lnf evaluate``."""

from __future__ import annotations

import click

from lnfmusic.cli.common import handle_errors, not_implemented


@click.command()
@handle_errors
def evaluate() -> None:
    """Importance-sampled likelihood tables for checkpoints."""
    not_implemented("evaluate")
