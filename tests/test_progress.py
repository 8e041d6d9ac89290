"""``lnfmusic.progress.progress_bar``: disabled draws nothing; the ``info`` field, the ETA
and the download (``transfer``) columns; the default console is stderr."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from lnfmusic.progress import progress_bar


def terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, record=True, width=120), buf


def last_frame(console: Console, description: str) -> str:
    """The last drawing of the bar (a live display redraws it in place)."""
    text = console.export_text()
    return description + text.rsplit(description, 1)[-1]


def test_disabled_draws_nothing() -> None:
    console, buf = terminal()
    with progress_bar(console, enabled=False, info=True, eta=True) as progress:
        task = progress.add_task("epoch 1", total=10, info="loss 2.5")
        progress.advance(task, 5)
        progress.console.print("a message")  # the console itself still works
    assert buf.getvalue() == "a message\n"


def test_enabled_draws_on_the_given_console() -> None:
    console, buf = terminal()
    with progress_bar(console, enabled=True) as progress:
        task = progress.add_task("valid", total=8)
        progress.advance(task, 8)
    assert progress.console is console
    frame = last_frame(console, "valid")
    assert "8/8" in frame
    assert not buf.getvalue().endswith("\x1b[2K")  # not transient: the final bar stays


def test_info_field_is_drawn_after_the_count() -> None:
    console, _ = terminal()
    with progress_bar(console, info=True, transient=False) as progress:
        task = progress.add_task("epoch 3", total=10, info="loss 1.23")
        progress.advance(task, 4)
        progress.update(task, info="loss 0.98 kl 0.5")
    frame = last_frame(console, "epoch 3")
    assert "4/10" in frame
    assert "loss 0.98 kl 0.5" in frame
    assert frame.index("4/10") < frame.index("loss 0.98")
    assert "loss 1.23" not in frame


def test_count_columns_without_info_or_eta() -> None:
    progress = progress_bar(Console(file=io.StringIO()))
    kinds = [type(c) for c in progress.columns]
    assert kinds == [TextColumn, BarColumn, MofNCompleteColumn, TimeElapsedColumn]


def test_info_and_eta_columns() -> None:
    progress = progress_bar(Console(file=io.StringIO()), info=True, eta=True)
    kinds = [type(c) for c in progress.columns]
    assert kinds == [
        TextColumn,
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TextColumn,
        TimeRemainingColumn,
    ]
    assert progress.columns[3].text_format == "{task.fields[info]}"
    assert progress.columns[5].text_format == "ETA"


def test_transfer_has_download_columns_and_no_count() -> None:
    progress = progress_bar(Console(file=io.StringIO()), transfer=True, info=True)
    kinds = [type(c) for c in progress.columns]
    assert kinds == [
        TextColumn,
        BarColumn,
        DownloadColumn,
        TransferSpeedColumn,
        TimeRemainingColumn,
    ]
    assert MofNCompleteColumn not in kinds


def test_transfer_draws_bytes() -> None:
    console, _ = terminal()
    with progress_bar(console, transfer=True) as progress:
        task = progress.add_task("jsb_chorales.pickle", total=2_000_000)
        progress.advance(task, 1_000_000)
    frame = last_frame(console, "jsb_chorales.pickle")
    assert "1.0/2.0 MB" in frame


def test_transient_erases_the_bar_at_the_end() -> None:
    console, buf = terminal()
    with progress_bar(console, transient=True) as progress:
        progress.advance(progress.add_task("valid", total=2), 2)
    assert progress.live.transient
    assert buf.getvalue().endswith("\x1b[1A\x1b[2K")  # cursor up, erase the line


def test_default_console_is_stderr_without_highlighting() -> None:
    progress = progress_bar()
    assert progress.console.stderr
    assert not progress.console._highlight  # noqa: SLF001 - no public accessor
