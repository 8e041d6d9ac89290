"""Character-level text: Penn Treebank as LNF used it, and any plain UTF-8 text file.

PTB: one sentence per line; the sequence is its characters with ``_`` at word boundaries and
no end-of-sentence token (the length is modelled by p(T)); sentences longer than 288
characters are dropped from every split (as LNF did — the test set is then filtered, and the
count is reported in the dataset notes). The vocabulary is built on the training split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lnfmusic.errors import LnfError

MAX_PTB_LENGTH = 288
UNK = "<unk>"


@dataclass
class Vocabulary:
    """Characters <-> ids. ``unk`` (optional) is the id unknown characters map to."""

    chars: list[str]
    unk: int | None = None

    def __post_init__(self) -> None:
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    @classmethod
    def build(cls, sequences: list[list[str]], with_unk: bool = False) -> Vocabulary:
        chars = sorted({c for seq in sequences for c in seq})
        if with_unk:
            chars.append(UNK)
            return cls(chars, unk=len(chars) - 1)
        return cls(chars)

    def encode(self, chars: list[str] | str, source: str | Path | None = None) -> np.ndarray:
        try:
            return np.array([self.index[c] for c in chars], dtype=np.int64)
        except KeyError as e:
            if self.unk is None:
                raise LnfError(
                    f"unknown character {e.args[0]!r} (not in the training vocabulary of "
                    f"{len(self)} symbols)",
                    source,
                ) from None
            return np.array([self.index.get(c, self.unk) for c in chars], dtype=np.int64)

    def decode(self, ids: np.ndarray | list[int]) -> list[str]:
        return [self.chars[int(i)] for i in ids]

    def to_dict(self) -> dict:
        return {"chars": list(self.chars), "unk": self.unk}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        return cls(list(d["chars"]), d.get("unk"))


def to_text(chars: list[str], word_boundary: str | None = "_") -> str:
    """Characters to readable text (PTB's ``_`` word boundaries become spaces)."""
    s = "".join(chars)
    return s.replace(word_boundary, " ") if word_boundary else s


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise LnfError(f"not UTF-8 text (byte {e.start})", path) from None
    except OSError as e:
        raise LnfError(f"cannot read: {e.strerror}", path) from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise LnfError("empty text file (no non-blank lines)", path)
    return lines


def read_ptb(path: Path) -> list[list[str]]:
    """Sentences as character lists from a char file (``a _ b``) or a word file (``a b``)."""
    lines = _read_lines(path)
    if ".char." in path.name:
        return [line.split() for line in lines]
    return [list("_".join(line.split())) for line in lines]


def load_ptb(paths: list[Path]) -> tuple[dict[str, list[np.ndarray]], Vocabulary, list[str]]:
    """PTB train/valid/test -> encoded splits, the vocabulary and notes on dropped sentences."""
    raw = dict(zip(("train", "valid", "test"), (read_ptb(p) for p in paths), strict=True))
    notes = []
    for split, seqs in raw.items():
        kept = [s for s in seqs if 0 < len(s) <= MAX_PTB_LENGTH]
        if len(kept) < len(seqs):
            notes.append(
                f"{split}: dropped {len(seqs) - len(kept)} of {len(seqs)} sentences longer than "
                f"{MAX_PTB_LENGTH} characters"
            )
        raw[split] = kept
    vocab = Vocabulary.build(raw["train"])
    splits = {
        split: [vocab.encode(s, path) for s in seqs]
        for (split, seqs), path in zip(raw.items(), paths, strict=True)
    }
    return splits, vocab, notes


def load_text_file(path: Path) -> tuple[dict[str, list[np.ndarray]], Vocabulary, list[str]]:
    """Any UTF-8 text file, one sequence per line (blank lines skipped).

    Split rule: line ``i`` (counting non-blank lines from 0) goes to valid when ``i % 20 == 18``,
    to test when ``i % 20 == 19``, else to train (90/5/5). With fewer than 20 lines the last
    two go to valid and test. Characters unseen in train map to an explicit ``<unk>``.
    """
    lines = _read_lines(path)
    seqs = [list(line) for line in lines]
    if len(seqs) < 3:
        raise LnfError(f"needs at least 3 non-blank lines (train/valid/test), has {len(seqs)}", path)
    if len(seqs) < 20:
        split_of = ["train"] * (len(seqs) - 2) + ["valid", "test"]
    else:
        split_of = ["valid" if i % 20 == 18 else "test" if i % 20 == 19 else "train"
                    for i in range(len(seqs))]
    raw: dict[str, list[list[str]]] = {"train": [], "valid": [], "test": []}
    for s, split in zip(seqs, split_of, strict=True):
        raw[split].append(s)
    vocab = Vocabulary.build(raw["train"], with_unk=True)
    splits = {split: [vocab.encode(s, path) for s in ss] for split, ss in raw.items()}
    return splits, vocab, []
