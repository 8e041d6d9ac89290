"""``lnf data``: list, verify and download datasets."""

from __future__ import annotations

import click


@click.group()
def data() -> None:
    """Find, verify and download datasets."""
