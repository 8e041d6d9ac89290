"""Shared CLI plumbing: the command group that turns library errors into one line, the
options several commands share, consoles."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from lnfmusic.errors import LnfError

F = TypeVar("F", bound=Callable[..., Any])

# Results go to stdout, progress and messages to stderr.
stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


def fail(message: str) -> None:
    """Print ``error: message`` as one line on stderr and exit with status 1 (under a
    data-parallel launcher, processes other than rank 0 say which they are)."""
    rank = os.environ.get("RANK", "0")
    where = "" if rank == "0" else f"[rank {rank}] "
    click.echo(f"error: {where}{' '.join(message.split())}", err=True)
    sys.exit(1)


class LnfGroup(click.Group):
    """A click group whose commands (and nested groups) never show a traceback for an
    :class:`LnfError` (nor for an ``OSError`` the library did not turn into one): it becomes
    one line on stderr and exit status 1; Ctrl-C exits 130.
    A usage error (an unknown option or command, a value out of range) is one line too,
    naming the command's ``--help``, with click's exit status 2."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as e:
            where = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
            click.echo(f"error: {' '.join(e.format_message().split())}{where}", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            click.echo(f"error: {' '.join(e.format_message().split())}", err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LnfError as e:
            fail(str(e))
        except OSError as e:
            # what the library did not foresee of the file system (a name too long for it,
            # an I/O error) is still about a file the user gave: one line naming it
            where = f"{e.filename}: " if e.filename else ""
            fail(f"{where}{e.strerror or e}")
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


def data_dir_option(func: F) -> F:
    """The ``--data-dir`` option shared by every command that reads datasets."""
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Folder searched first for dataset files (then $LNF_DATA_DIR, then ./datasets).",
    )(func)


def _resolve_device(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from lnfmusic.device import resolve_device

    return resolve_device(value)


def device_option(func: F) -> F:
    """``--device auto|cpu|cuda[:N]``, resolved (and checked) to a torch device string."""
    return click.option(
        "--device",
        default="auto",
        show_default=True,
        callback=_resolve_device,
        help="auto (cuda if available, else cpu), cpu or cuda[:N].",
    )(func)
