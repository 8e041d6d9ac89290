"""``SequenceDataset`` and ``load_dataset(spec)``: the one entry point to every data source.

Specs: ``jsb``, ``nottingham``, ``piano-midi``, ``musedata``, ``ptb``, ``midi:FOLDER`` (a
folder of MIDI files, eighth-note grid) and ``text:FILE`` (one sequence per line).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lnfmusic.data import registry
from lnfmusic.data.music import NUM_PITCHES, PITCH_OFFSET, load_music_file
from lnfmusic.data.text import load_ptb, load_text_file
from lnfmusic.errors import LnfError


@dataclass
class SequenceDataset:
    """Splits of sequences (music: ``(T, 88)`` uint8 rolls; text: ``(T,)`` int64 ids)."""

    name: str
    kind: str
    splits: dict[str, list[np.ndarray]]
    meta: dict
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def output_dim(self) -> int:
        return NUM_PITCHES if self.kind == "music" else len(self.meta["vocab"]["chars"])

    def lengths(self, split: str) -> list[int]:
        return [len(s) for s in self.splits[split]]


def music_meta(steps_per_beat: int) -> dict:
    return {"pitch_offset": PITCH_OFFSET, "num_pitches": NUM_PITCHES,
            "steps_per_beat": steps_per_beat}


def _split_files(items: list[tuple[str, np.ndarray]]) -> dict[str, list[np.ndarray]]:
    """Deterministic split of a MIDI folder (sorted by name): every 10th file (index 8) to
    valid, every 10th (index 9) to test; with fewer than 10 files the last two go to valid and
    test (needs at least 3 files)."""
    n = len(items)
    if n < 3:
        raise LnfError(f"a MIDI folder dataset needs at least 3 files, found {n}")
    if n < 10:
        split_of = ["train"] * (n - 2) + ["valid", "test"]
    else:
        split_of = ["valid" if i % 10 == 8 else "test" if i % 10 == 9 else "train"
                    for i in range(n)]
    out: dict[str, list[np.ndarray]] = {"train": [], "valid": [], "test": []}
    for (_, roll), split in zip(items, split_of, strict=True):
        out[split].append(roll)
    return out


def load_dataset(spec: str, data_dir: str | os.PathLike[str] | None = None) -> SequenceDataset:
    """Load the dataset named by ``spec`` (see the module docstring)."""
    if spec.startswith("midi:"):
        from lnfmusic.io.midi import load_midi_folder

        folder = Path(spec[5:])
        items = load_midi_folder(folder, steps_per_beat=2)
        try:
            splits = _split_files(items)
        except LnfError as e:
            raise LnfError(e.message, folder) from None
        return SequenceDataset(spec, "music", splits, music_meta(2), str(folder))
    if spec.startswith("text:"):
        path = Path(spec[5:])
        splits, vocab, notes = load_text_file(path)
        return SequenceDataset(spec, "text", splits, {"vocab": vocab.to_dict()}, str(path), notes)
    info = registry.get_info(spec)
    paths = registry.find_files(spec, data_dir)
    if info.kind == "text":
        splits, vocab, notes = load_ptb(paths)
        meta = {"vocab": vocab.to_dict(), "word_boundary": "_"}
        return SequenceDataset(spec, "text", splits, meta, str(paths[0].parent), notes)
    splits = load_music_file(paths[0])
    for split, expected in info.splits.items():
        if len(splits[split]) != expected:
            raise LnfError(
                f"{split} has {len(splits[split])} pieces, expected {expected} for {spec}",
                paths[0],
            )
    return SequenceDataset(spec, "music", splits, music_meta(info.steps_per_beat), str(paths[0]))
