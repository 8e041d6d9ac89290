"""Progress bars for long work, on stderr (results go to stdout)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


def progress_bar(
    console: Console | None = None,
    enabled: bool = True,
    *,
    info: bool = False,
    eta: bool = False,
    transfer: bool = False,
    transient: bool = False,
) -> Progress:
    """A rich progress display: description, bar and ``done/total``; ``info`` adds a
    free-text field (``task.fields["info"]``), ``eta`` the time remaining, ``transfer``
    bytes and speed instead of counts (downloads). Disabled: nothing is drawn."""
    columns: list[str | ProgressColumn] = [TextColumn("[bold]{task.description}"), BarColumn()]
    if transfer:
        columns += [DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()]
    else:
        columns.append(MofNCompleteColumn())
        if info:
            columns.append(TextColumn("{task.fields[info]}"))
        columns.append(TimeElapsedColumn())
        if eta:
            columns += [TextColumn("ETA"), TimeRemainingColumn()]
    return Progress(
        *columns,
        console=console or Console(stderr=True, highlight=False),
        disable=not enabled,
        transient=transient,
    )
