"""A piano-roll picture (PNG) of a roll; needs the optional ``plot`` extra (matplotlib)."""

from __future__ import annotations

import os

import numpy as np

from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import atomic_path

MISSING_MATPLOTLIB = "drawing piano rolls needs matplotlib: pip install 'lnfmusic[plot]'"


def save_roll_png(
    roll: np.ndarray,
    path: str | os.PathLike[str],
    *,
    pitch_offset: int = 21,
    steps_per_beat: int = 2,
    title: str | None = None,
) -> None:
    """Draw a ``(T, P)`` roll into a PNG at ``path``, atomically.

    Time runs left to right in beats, pitch upwards with the C's labelled (C4 = 60).
    Uses matplotlib's Agg canvas directly, so the caller's pyplot backend is left alone.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise LnfError(MISSING_MATPLOTLIB) from None
    roll = np.asarray(roll)
    if roll.ndim != 2 or roll.shape[0] == 0:
        raise LnfError(f"expected a non-empty (T, 88) piano roll, got shape {roll.shape}", path)
    T, P = roll.shape
    fig = Figure(figsize=(float(np.clip(T / 8, 4, 20)), 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(
        (roll != 0).T,
        origin="lower",
        aspect="auto",
        cmap="Greys",
        vmin=0,
        vmax=1,
        interpolation="nearest",
        extent=(0, T / steps_per_beat, pitch_offset - 0.5, pitch_offset + P - 0.5),
    )
    cs = [p for p in range(pitch_offset, pitch_offset + P) if p % 12 == 0]
    ax.set_yticks(cs, [f"C{p // 12 - 1}" for p in cs])
    ax.set_xlabel("beats")
    ax.set_ylabel("pitch")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
