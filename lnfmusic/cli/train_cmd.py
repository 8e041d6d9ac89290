"""``lnf train``."""

from __future__ import annotations

import click

from lnfmusic.cli.common import handle_errors, not_implemented


@click.command()
@handle_errors
def train() -> None:
    """Train a model on a dataset."""
    not_implemented("train")
