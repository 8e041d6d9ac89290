"""``lnf data``: list, verify, download and inspect datasets."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
from rich.table import Table

from lnfmusic.cli.common import LnfGroup, data_dir_option, stderr, stdout
from lnfmusic.errors import LnfError


@click.group(cls=LnfGroup)
def data() -> None:
    """Find, verify, download and inspect datasets.

    Known datasets: jsb, nottingham, piano-midi, musedata (piano rolls) and ptb (characters);
    any folder of MIDI files (midi:FOLDER) or UTF-8 text file (text:FILE) also works.
    """


@data.command("list")
@data_dir_option
def list_(data_dir: Path | None) -> None:
    """Each known dataset: files found (or missing), where, and checksum status."""
    from lnfmusic.data import registry

    dirs = registry.search_dirs(data_dir)
    table = Table(title="datasets", title_justify="left")
    for column in ("name", "kind", "files", "folder", "checksum"):
        table.add_column(column)
    for name, info in registry.DATASETS.items():
        try:
            found = registry.find_form(name, data_dir)
        except LnfError as e:  # one unreadable entry does not hide the others
            table.add_row(name, info.kind, f"[red]{e}[/]", "-", "error")
            continue
        if found is None:
            wanted = " or ".join(" + ".join(f.name for f in form) for form in info.forms)
            table.add_row(name, info.kind, f"[red]missing[/] ({wanted})", "-", "missing")
            continue
        results = registry.verify(name, data_dir)
        statuses = sorted({r.status for r in results})
        colour = {"ok": "green", "mismatch": "red"}.get(statuses[0], "yellow")
        folder, form, _ = found
        files = " + ".join(f.name for f in form)
        table.add_row(
            name,
            info.kind,
            files,
            str(folder.absolute()),
            f"[{colour}]{', '.join(statuses)}[/]",
        )
    stdout.print(table)
    stdout.print(f"looked in: {', '.join(str(d.absolute()) for d in dirs)}")


@data.command()
@click.argument("name")
@data_dir_option
def verify(name: str, data_dir: Path | None) -> None:
    """Check the sha256 of the files of dataset NAME (non-zero exit on mismatch/missing)."""
    from lnfmusic.data import registry

    for r in registry.check(name, data_dir):
        stdout.print(f"{r.status:>16}  {r.path}")


@data.command()
@click.argument("name")
@click.option(
    "--dest",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("datasets"),
    help="Folder to download into.",
)
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="Fetch URL/<file name> instead of the canonical URLs  [default: $LNF_DATA_URL]",
)
@click.option("--force", is_flag=True, help="Download even files already present and verified.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def download(name: str, dest: Path, base_url: str | None, force: bool, no_progress: bool) -> None:
    """Download dataset NAME into --dest (sha256-verified; nothing half-written on failure)."""
    from lnfmusic.data.download import download_dataset

    paths = download_dataset(
        name, dest, base_url=base_url, force=force, progress=not no_progress, console=stderr
    )
    stdout.print(f"{name}: {len(paths)} file(s) in {dest}, sha256 ok")


@data.command()
@click.argument("spec")
@data_dir_option
def info(spec: str, data_dir: Path | None) -> None:
    """Load dataset SPEC (a name, midi:FOLDER or text:FILE) and print its splits."""
    from lnfmusic.data.dataset import load_dataset

    ds = load_dataset(spec, data_dir)
    table = Table(title=f"{ds.name} ({ds.kind}) from {ds.source}", title_justify="left")
    for column in ("split", "sequences", "steps", "min T", "mean T", "max T"):
        table.add_column(column, justify="right" if column != "split" else "left")
    for split, seqs in ds.splits.items():
        lengths = np.array([len(s) for s in seqs])
        if len(lengths) == 0:
            raise LnfError(f"split {split!r} is empty", ds.source)
        table.add_row(
            split,
            str(len(seqs)),
            str(int(lengths.sum())),
            str(int(lengths.min())),
            f"{lengths.mean():.1f}",
            str(int(lengths.max())),
        )
    stdout.print(table)
    if ds.kind == "music":
        stdout.print(
            f"{ds.meta['num_pitches']} pitches from MIDI {ds.meta['pitch_offset']}, "
            f"{ds.meta['steps_per_beat']} step(s) per beat"
        )
    else:
        stdout.print(f"vocabulary: {len(ds.meta['vocab'])} symbols")
    for note in ds.notes:
        stdout.print(f"note: {note}")
