"""``SequenceDataset`` and ``load_dataset(spec)``: the one entry point to every data source.

Specs:

- ``jsb``, ``nottingham``, ``piano-midi``, ``musedata``: Boulanger-Lewandowski piano rolls
  (the pickle when present, else the ``.mat`` copy under ``tcn_mat/``); found through the
  lookup order of :mod:`lnfmusic.data.registry`.
- ``ptb``: Penn Treebank characters (see :mod:`lnfmusic.data.text`).
- ``midi:FOLDER``: every ``.mid``/``.midi`` file under a folder (sub-folders included), on
  an eighth-note grid (2 steps per beat), split by :func:`split_midi_files` in the order of
  their relative paths; notes outside the piano's 88 keys are dropped and counted in a note
  (type-2 files are refused: see :mod:`lnfmusic.io.midi`).
- ``text:FILE``: a UTF-8 text file, one sequence per line, split 90/5/5
  (:func:`lnfmusic.data.text.split_of_lines`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lnfmusic.data import registry
from lnfmusic.data.music import NUM_PITCHES, PITCH_OFFSET, load_music_file
from lnfmusic.data.text import WORD_BOUNDARY, load_ptb, load_text_file
from lnfmusic.errors import LnfError

MIDI_STEPS_PER_BEAT = 2
# The longest sequence trained on or evaluated (steps or characters). A model's position
# tables get ceil(1.25 x the longest training sequence) rows and its work grows with T: the
# longest real piece (MuseData) has 4273 steps, the longest PTB sentence 288 characters.
MAX_LENGTH = 10_000


@dataclass
class SequenceDataset:
    """Splits ``train``/``valid``/``test`` of sequences.

    Music: ``(T, 88)`` uint8 rolls, column ``j`` = MIDI pitch ``j + 21``; ``meta`` =
    ``{"pitch_offset": 21, "num_pitches": 88, "steps_per_beat": 1|2, "notes": [...]}``.
    Text: ``(T,)`` int64 ids; ``meta`` = ``{"vocab": [symbols...], "word_boundary": "_"|None,
    "notes": [...]}`` (``"<unk>"`` in the vocabulary marks the unknown-character id).
    ``notes`` (also ``meta["notes"]``) are remarks for the user, e.g. dropped sentences.
    ``names`` (optional) names each sequence of a split, e.g. the MIDI file of a piece.
    """

    name: str
    kind: str  # music | text
    splits: dict[str, list[np.ndarray]]
    meta: dict[str, Any]
    source: str
    notes: list[str] = field(default_factory=list)
    names: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.meta.setdefault("notes", list(self.notes))

    @property
    def output_dim(self) -> int:
        """88 for music, the vocabulary size for text."""
        return NUM_PITCHES if self.kind == "music" else len(self.meta["vocab"])

    def lengths(self, split: str) -> list[int]:
        return [len(s) for s in self.splits[split]]

    def check_lengths(self, splits: tuple[str, ...] = ("train", "valid")) -> None:
        """Refuse (:class:`LnfError` naming the source) a sequence of ``splits`` longer
        than :data:`MAX_LENGTH`, e.g. a text file that is one huge line."""
        for split in splits:
            for i, seq in enumerate(self.splits.get(split, [])):
                if len(seq) > MAX_LENGTH:
                    what = "line" if self.kind == "text" else "piece"
                    names = self.names.get(split)
                    source = Path(self.source) / names[i] if names else self.source
                    which = "" if names else f"{split} {what} {i + 1} "
                    raise LnfError(
                        f"{which}is {len(seq)} "
                        f"{'characters' if self.kind == 'text' else 'steps'} long; the models "
                        f"take at most {MAX_LENGTH} (split it into shorter {what}s)",
                        source,
                    )


def music_meta(steps_per_beat: int) -> dict[str, Any]:
    return {
        "pitch_offset": PITCH_OFFSET,
        "num_pitches": NUM_PITCHES,
        "steps_per_beat": steps_per_beat,
    }


def split_midi_files(names: list[str]) -> list[str]:
    """The split of each file of a MIDI folder, by position ``i`` in name order.

    At least 10 files: ``i % 10 == 8`` -> valid, ``i % 10 == 9`` -> test, else train
    (80/10/10). From 3 to 9 files: the last two go to valid and test, the rest to train.
    Fewer than 3 files cannot fill three splits (:class:`LnfError`).
    """
    n = len(names)
    if n < 3:
        raise LnfError(
            f"a MIDI folder dataset needs at least 3 files (train/valid/test), found {n}"
        )
    if n < 10:
        return ["train"] * (n - 2) + ["valid", "test"]
    return ["valid" if i % 10 == 8 else "test" if i % 10 == 9 else "train" for i in range(n)]


def _checksum_notes(name: str, data_dir: str | os.PathLike[str] | None) -> list[str]:
    return [
        f"{r.path} does not match the known sha256 (run `lnf data verify {name}`)"
        for r in registry.verify(name, data_dir)
        if r.status == registry.STATUS_MISMATCH
    ]


def _load_midi(spec: str) -> SequenceDataset:
    from lnfmusic.io.midi import load_midi_folder

    folder = Path(spec[len("midi:") :]).expanduser()
    items = load_midi_folder(folder, steps_per_beat=MIDI_STEPS_PER_BEAT)
    try:
        split_of = split_midi_files([name for name, _, _ in items])
    except LnfError as e:
        raise LnfError(e.message, folder) from None
    splits: dict[str, list[np.ndarray]] = {"train": [], "valid": [], "test": []}
    names: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for (name, roll, _), split in zip(items, split_of, strict=True):
        splits[split].append(np.asarray(roll, dtype=np.uint8))
        names[split].append(name)
    notes = []
    dropped = {name: len(pitches) for name, _, pitches in items if pitches}
    if dropped:
        worst = max(dropped, key=dropped.__getitem__)
        notes.append(
            f"dropped {sum(dropped.values())} note(s) outside the piano range "
            f"{PITCH_OFFSET}..{PITCH_OFFSET + NUM_PITCHES - 1} in {len(dropped)} of "
            f"{len(items)} files (most in {worst}: {dropped[worst]})"
        )
    meta = music_meta(MIDI_STEPS_PER_BEAT)
    return SequenceDataset(spec, "music", splits, meta, str(folder), notes, names)


def load_dataset(spec: str, data_dir: str | os.PathLike[str] | None = None) -> SequenceDataset:
    """Load the dataset named by ``spec`` (see the module docstring).

    ``data_dir`` is searched first for the named datasets, then ``$LNF_DATA_DIR``, then
    ``./datasets``. Every failure is a one-line :class:`LnfError` naming the file.
    """
    if spec.startswith("midi:"):
        return _load_midi(spec)
    if spec.startswith("text:"):
        path = Path(spec[len("text:") :]).expanduser()
        splits, vocab, notes = load_text_file(path)
        meta = {"vocab": vocab.to_list(), "word_boundary": None}
        return SequenceDataset(spec, "text", splits, meta, str(path), notes)
    info = registry.get_info(spec)
    paths = registry.find_files(spec, data_dir)
    notes = _checksum_notes(spec, data_dir)
    if info.kind == "text":
        splits, vocab, ptb_notes = load_ptb(paths)
        meta = {"vocab": vocab.to_list(), "word_boundary": WORD_BOUNDARY}
        source = ", ".join(map(str, paths))
        return SequenceDataset(spec, "text", splits, meta, source, notes + ptb_notes)
    splits = load_music_file(paths[0])
    for split, expected in info.splits.items():
        if len(splits[split]) != expected:
            raise LnfError(
                f"{split} has {len(splits[split])} pieces, expected {expected} for {spec} "
                f"(a different version of the data?)",
                paths[0],
            )
    meta = music_meta(info.steps_per_beat)
    return SequenceDataset(spec, "music", splits, meta, str(paths[0]), notes)
