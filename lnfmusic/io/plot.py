"""A piano-roll picture (PNG) of a roll; needs the optional ``plot`` extra (matplotlib)."""

from __future__ import annotations

import os

import numpy as np

from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import atomic_path


def save_roll_png(
    roll: np.ndarray, path: str | os.PathLike[str], *, pitch_offset: int = 21,
    steps_per_beat: int = 2, title: str | None = None,
) -> None:
    """Draw ``roll`` ``(T, 88)`` (time left to right, pitch upwards) into a PNG, atomically."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise LnfError("--roll-png needs matplotlib: pip install 'lnfmusic[plot]'") from None
    roll = np.asarray(roll)
    fig, ax = plt.subplots(figsize=(max(4.0, min(20.0, roll.shape[0] / 8)), 4), dpi=100)
    ax.imshow(roll.T, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest",
              extent=(0, roll.shape[0] / steps_per_beat, pitch_offset - 0.5,
                      pitch_offset + roll.shape[1] - 0.5))
    ax.set_xlabel("beats")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
