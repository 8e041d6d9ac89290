"""The ``lnf`` command: a click group whose commands live one per module."""

from __future__ import annotations

import click

from lnfmusic import __version__
from lnfmusic.cli.common import LnfGroup
from lnfmusic.cli.data_cmd import data
from lnfmusic.cli.evaluate_cmd import evaluate
from lnfmusic.cli.export_cmd import export
from lnfmusic.cli.sample_cmd import interpolate, sample, text_sample, variations
from lnfmusic.cli.synthetic_cmd import synthetic
from lnfmusic.cli.train_cmd import train

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}


@click.group(cls=LnfGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="lnf")
def cli() -> None:
    """Latent normalizing flows for polyphonic music and text (Ziegler & Rush 2019).

    Train with `lnf train`, measure with `lnf evaluate`, generate with `lnf sample`
    (MIDI) and `lnf text-sample`; manage datasets with `lnf data`; reproduce the Discrete
    Flows paper's synthetic experiments with `lnf synthetic`.
    """


cli.add_command(data)
cli.add_command(train)
cli.add_command(evaluate)
cli.add_command(sample)
cli.add_command(text_sample)
cli.add_command(variations)
cli.add_command(interpolate)
cli.add_command(export)
cli.add_command(synthetic)


def main() -> None:
    cli(prog_name="lnf")
