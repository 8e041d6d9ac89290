"""The files of a run directory: ``config.json``, ``metrics.jsonl`` (one line per epoch),
``last.pt`` (every epoch) and ``best.pt`` (each new best), all written atomically except the
metrics append."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console

from lnfmusic.checkpoint import save_checkpoint, write_checkpoint
from lnfmusic.config import RunConfig
from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import atomic_path, check_writable, make_folder, write_text_atomic

METRICS = "metrics.jsonl"
# what a run leaves in its folder (a fresh run refuses to replace them unless told to)
RUN_FILES = ("best.pt", "last.pt", METRICS, "config.json")


def previous_run(run_dir: str | Path) -> list[str]:
    """The files of an earlier run in ``run_dir``; none unless it has a checkpoint or a
    metrics line (``config.json`` and an empty ``metrics.jsonl`` alone are what a run that
    never finished an epoch leaves: nothing to resume, nothing to lose)."""
    folder = Path(run_dir)
    found = []
    for name in RUN_FILES:
        path = folder / name
        if path.is_file() and not (name == METRICS and path.stat().st_size == 0):
            found.append(name)
    return found if set(found) - {"config.json"} else []


def check_run_dir(run_dir: str | Path, *, resume: bool, overwrite: bool = False) -> None:
    """Before anything is written: a resumed run needs ``last.pt``; a fresh run refuses a
    folder that holds an earlier run's checkpoints or metrics unless ``overwrite``."""
    folder = Path(run_dir)
    if folder.exists() and not folder.is_dir():
        raise LnfError("is a file, not a folder", folder)
    if resume:
        if not (folder / "last.pt").is_file():
            raise LnfError("resume: no last.pt to resume from", folder)
        return
    check_writable(folder / "last.pt")  # a file in the way, no permission
    found = previous_run(folder)
    if found and not overwrite:
        raise LnfError(
            f"holds an earlier run ({', '.join(found)}); resume it (lnf train --resume) or "
            "replace it (--overwrite), or choose another run directory",
            folder,
        )


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN: non-finite values are written as null."""
    return value if math.isfinite(value) else None


class RunFiles:
    """Paths and writers of one run directory (created by :meth:`start_fresh` if missing).
    With ``write=False`` (the other processes of a data-parallel run) every writer does
    nothing."""

    def __init__(self, run_dir: str | Path, write: bool = True):
        self.write = write
        # a fresh run over an earlier one (allowed by check_run_dir's overwrite): the earlier
        # files stay until this run saves its first epoch, then all of them are replaced
        self.replacing = False
        self._config: RunConfig | None = None
        self._metrics = ""  # the first epoch's line, while replacing
        self.dir = Path(run_dir)
        self.last = self.dir / "last.pt"
        self.best = self.dir / "best.pt"
        self.metrics = self.dir / METRICS
        self.config = self.dir / "config.json"

    def start_fresh(self, console: Console) -> None:
        """A new run here (allowed by :func:`check_run_dir`). An earlier run's files are
        replaced only once this run has its first epoch saved (:meth:`save`): until then a
        failure or an interruption leaves them as they were."""
        if not self.write:
            return
        make_folder(self.dir)
        if previous_run(self.dir):
            console.print(
                f"[yellow]note: overwriting the earlier run in {self.dir} (its files are "
                "replaced when this run's first epoch is saved)",
                soft_wrap=True,
            )
            self.replacing = True
            return
        write_text_atomic(self.metrics, "")

    def keep_metrics_upto(self, epoch: int) -> None:
        """Drop the metrics lines of epochs after ``epoch`` (written after the last
        checkpoint of an interrupted run)."""
        if not self.write:
            return
        if not self.metrics.exists():
            write_text_atomic(self.metrics, "")
            return
        keep = []
        for line in self.metrics.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line)["epoch"] <= epoch:
                    keep.append(line + "\n")
            except (ValueError, KeyError, TypeError):
                continue
        write_text_atomic(self.metrics, "".join(keep))

    def write_config(self, config: RunConfig) -> None:
        """``config.json`` now, or with the first save when replacing an earlier run."""
        if not self.write:
            return
        if self.replacing:
            self._config = config
            return
        write_text_atomic(self.config, json.dumps(config.to_dict(), indent=2) + "\n")

    def append_metrics(self, record: dict[str, Any]) -> None:
        if not self.write:
            return
        if self.replacing:  # the first epoch's line replaces the earlier run's metrics
            self._metrics = json.dumps(record) + "\n"
            return
        try:
            with open(self.metrics, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as e:  # a full disk, a file made read-only under the run
            raise LnfError(
                f"could not append the epoch's metrics ({e.strerror or e})", self.metrics
            ) from None

    @property
    def checkpointed(self) -> bool:
        """Whether ``last.pt`` holds an epoch of this run (not of an earlier run that this
        one has yet to replace)."""
        return self.last.exists() and not self.replacing

    def save(self, state: dict[str, Any], best: bool) -> None:
        """``last.pt`` always, ``best.pt`` too when ``best``."""
        if not self.write:
            return
        if self.replacing:
            self._replace_earlier_run(state, best)
            return
        if best:
            save_checkpoint(self.best, state)
        save_checkpoint(self.last, state)

    def _replace_earlier_run(self, state: dict[str, Any], best: bool) -> None:
        """This run's first save over an earlier run: every new file is written in full before
        any of the earlier run's is replaced, so that a full disk or a kill while writing leaves
        the earlier run as it was. Then ``last.pt``, the config, the metrics and ``best.pt``
        move into place (the earlier ``best.pt`` goes when this epoch is not a best)."""
        texts = {self.metrics: self._metrics}
        if self._config is not None:
            texts[self.config] = json.dumps(self._config.to_dict(), indent=2) + "\n"
        with contextlib.ExitStack() as moves:  # on leaving, each moves its file: last first
            if best:
                write_checkpoint(moves.enter_context(atomic_path(self.best)), state)
            for path, text in texts.items():
                moves.enter_context(atomic_path(path)).write_text(text, encoding="utf-8")
            write_checkpoint(moves.enter_context(atomic_path(self.last)), state)
        if not best:
            self.best.unlink(missing_ok=True)
        self.replacing = False
