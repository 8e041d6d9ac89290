"""Shared CLI plumbing: one-line errors, device resolution, consoles."""

from __future__ import annotations

import functools
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


def data_dir_option(func: F) -> F:
    """The ``--data-dir`` option shared by every command that reads datasets."""
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Folder searched first for dataset files (then $LNF_DATA_DIR, then ./datasets).",
    )(func)


def fail(message: str) -> None:
    """Print ``error: message`` as one line on stderr and exit with status 1."""
    click.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(1)


def handle_errors(func: F) -> F:
    """Turn an :class:`LnfError` (or Ctrl-C) into a one-line message and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LnfError as e:
            fail(str(e))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def resolve_device(name: str) -> str:
    """``auto`` -> cuda if available else cpu; validate ``cuda[:N]``."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise LnfError(f"--device {name}: CUDA is not available on this machine")
        if ":" in name:
            idx = name.split(":", 1)[1]
            if not idx.isdigit() or int(idx) >= torch.cuda.device_count():
                raise LnfError(f"--device {name}: no such CUDA device")
        return name
    raise LnfError(f"--device {name}: expected auto, cpu or cuda[:N]")
