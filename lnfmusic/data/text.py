"""Character-level text: Penn Treebank as LNF used it, and any plain UTF-8 text file.

PTB: one sentence per line; the sequence is its characters with ``_`` at word boundaries and
no end-of-sentence token (the length is modelled by p(T)). Character files
(``ptb.char.*.txt``) give the characters by ``line.split()``; word files (``ptb.*.txt``)
are turned into the same form by joining the words with ``_``. Sentences longer than 288
characters are dropped from every split, as LNF did (the test set is then filtered; the
counts are reported as dataset notes). The vocabulary (~50 symbols) is built on train, and a
character of valid/test missing from it is an error.

Plain text files: one sequence per line, blank lines skipped, split 90/5/5 by line number
(see :func:`split_of_lines`); characters unseen in train map to an explicit ``<unk>``.

References:
    Ziegler, Rush (2019), "Latent Normalizing Flows for Discrete Sequences", section 5.2.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lnfmusic.errors import LnfError

MAX_PTB_LENGTH = 288
UNK = "<unk>"  # never a single character, so it cannot collide with a real symbol
WORD_BOUNDARY = "_"
SPLITS = ("train", "valid", "test")


@dataclass
class Vocabulary:
    """Symbols (single characters, plus optionally :data:`UNK`) <-> ids ``0..V-1``.

    ``unk`` is the id unknown characters map to; ``None`` makes them an error. Stored in
    checkpoints as a plain list (:meth:`to_list`); :data:`UNK` in that list marks ``unk``.
    """

    chars: list[str]
    unk: int | None = None
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("vocabulary symbols must be distinct")
        self.index = {c: i for i, c in enumerate(self.chars)}
        if self.unk is None and UNK in self.index:
            self.unk = self.index[UNK]
        # sorted code points -> ids, for vectorised encoding of single characters
        single = [(ord(c), i) for i, c in enumerate(self.chars) if len(c) == 1]
        single.sort()
        self._codes = np.array([c for c, _ in single], dtype=np.int64)
        self._ids = np.array([i for _, i in single], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.chars)

    @classmethod
    def build(cls, sequences: Sequence[str], with_unk: bool = False) -> Vocabulary:
        """Sorted distinct characters of ``sequences`` (+ :data:`UNK` last if asked)."""
        chars = sorted(set("".join(sequences)))
        if with_unk:
            chars.append(UNK)
        return cls(chars)

    def encode(self, text: str, source: str | os.PathLike[str] | None = None) -> np.ndarray:
        """Characters -> ``(T,)`` int64 ids; an unknown character raises :class:`LnfError`
        naming it and ``source`` (unless the vocabulary has ``<unk>``)."""
        return self.encode_many([text], source)[0]

    def encode_many(
        self, texts: Sequence[str], source: str | os.PathLike[str] | None = None
    ) -> list[np.ndarray]:
        """Encode many sequences at once (vectorised over all their characters)."""
        joined = "".join(texts)
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        top = max(int(codes.max(initial=0)), int(self._codes.max(initial=0))) + 1
        lut = np.full(top, -1, dtype=np.int64)  # code point -> id (-1: unknown)
        lut[self._codes] = self._ids
        ids = lut[codes]
        unknown = ids < 0
        if unknown.any():
            if self.unk is None:
                k = int(np.flatnonzero(unknown)[0])
                ends = np.cumsum([len(t) for t in texts])
                seq = int(np.searchsorted(ends, k, side="right"))
                raise LnfError(
                    f"unknown character {joined[k]!r} in sequence {seq + 1} (not in the "
                    f"training vocabulary of {len(self)} symbols)",
                    source,
                )
            ids[unknown] = self.unk
        if not texts:
            return []
        # views into one array: no per-sequence copies (5M PTB characters in well under 1 s)
        return np.split(ids, np.cumsum([len(t) for t in texts])[:-1])

    def decode(self, ids: np.ndarray | Sequence[int]) -> list[str]:
        """Ids -> symbols (one string per id; ``<unk>`` stays ``"<unk>"``)."""
        return [self.chars[int(i)] for i in ids]

    def decode_text(self, ids: np.ndarray | Sequence[int], word_boundary: str | None = None) -> str:
        """Ids -> readable text; ``word_boundary`` (PTB: ``_``) becomes a space."""
        return to_text(self.decode(ids), word_boundary)

    def to_list(self) -> list[str]:
        return list(self.chars)

    @classmethod
    def from_list(cls, chars: Sequence[str]) -> Vocabulary:
        return cls(list(chars))

    def to_dict(self) -> dict:
        return {"chars": list(self.chars), "unk": self.unk}

    @classmethod
    def from_dict(cls, d: dict | Sequence[str]) -> Vocabulary:
        """From :meth:`to_dict` output or a plain list (as stored in dataset meta)."""
        if isinstance(d, dict):
            return cls(list(d["chars"]), d.get("unk"))
        return cls(list(d))


def to_text(chars: Sequence[str], word_boundary: str | None = WORD_BOUNDARY) -> str:
    """Symbols to readable text (PTB's ``_`` word boundaries become spaces)."""
    s = "".join(chars)
    return s.replace(word_boundary, " ") if word_boundary else s


def read_text(path: str | os.PathLike[str]) -> str:
    """A whole UTF-8 file; one-line :class:`LnfError` when unreadable or not UTF-8, or not a
    regular file (a device such as ``/dev/zero`` or a pipe would be read forever)."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise LnfError("not a regular file (a device or a pipe)", path)
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise LnfError(f"not UTF-8 text (invalid byte at offset {e.start})", path) from None
    except OSError as e:
        raise LnfError(f"cannot read: {e.strerror or e}", path) from None


def _nonblank_lines(path: Path) -> list[str]:
    lines = [line for line in read_text(path).splitlines() if line.strip()]
    if not lines:
        raise LnfError("empty text file (no non-blank lines)", path)
    return lines


def read_ptb(path: str | os.PathLike[str]) -> list[str]:
    """Sentences (as strings of symbols) from a char file (``a _ b``) or a word file (``a b``)."""
    path = Path(path)
    lines = _nonblank_lines(path)
    if ".char." in path.name:
        seqs = ["".join(line.split()) for line in lines]
        head = [line.split() for line in lines[:100]]  # spot check: single characters
        if any(len(token) != 1 for tokens in head for token in tokens):
            raise LnfError("a character file must hold single characters separated by spaces", path)
        return seqs
    return [WORD_BOUNDARY.join(line.split()) for line in lines]


def load_ptb(
    paths: Sequence[str | os.PathLike[str]],
) -> tuple[dict[str, list[np.ndarray]], Vocabulary, list[str]]:
    """PTB train/valid/test files -> encoded splits, the vocabulary, notes on dropped
    sentences."""
    paths = [Path(p) for p in paths]
    raw = {split: read_ptb(p) for split, p in zip(SPLITS, paths, strict=True)}
    notes = []
    for split, seqs in raw.items():
        kept = [s for s in seqs if len(s) <= MAX_PTB_LENGTH]
        if len(kept) < len(seqs):
            notes.append(
                f"dropped {len(seqs) - len(kept)} of {len(seqs)} {split} sentences longer than "
                f"{MAX_PTB_LENGTH} characters"
            )
        raw[split] = kept
    vocab = Vocabulary.build(raw["train"])
    splits = {
        split: vocab.encode_many(seqs, path)
        for (split, seqs), path in zip(raw.items(), paths, strict=True)
    }
    return splits, vocab, notes


def split_of_lines(n: int) -> list[str]:
    """The split of each of ``n`` lines: line ``i`` goes to valid when ``i % 20 == 18``, to
    test when ``i % 20 == 19``, else to train (90/5/5). With fewer than 20 lines the last two
    go to valid and test. Needs ``n >= 3``."""
    if n < 20:
        return ["train"] * (n - 2) + ["valid", "test"]
    return ["valid" if i % 20 == 18 else "test" if i % 20 == 19 else "train" for i in range(n)]


def load_text_file(
    path: str | os.PathLike[str],
) -> tuple[dict[str, list[np.ndarray]], Vocabulary, list[str]]:
    """Any UTF-8 text file, one sequence per line (blank lines skipped); see
    :func:`split_of_lines`. Characters unseen in train map to ``<unk>`` (counted in a note)."""
    path = Path(path)
    lines = _nonblank_lines(path)
    if len(lines) < 3:
        raise LnfError(
            f"needs at least 3 non-blank lines (one each for train/valid/test), has {len(lines)}",
            path,
        )
    raw: dict[str, list[str]] = {s: [] for s in SPLITS}
    for line, split in zip(lines, split_of_lines(len(lines)), strict=True):
        raw[split].append(line)
    vocab = Vocabulary.build(raw["train"], with_unk=True)
    splits = {split: vocab.encode_many(ss, path) for split, ss in raw.items()}
    notes = []
    for split in ("valid", "test"):
        n_unk = sum(int((s == vocab.unk).sum()) for s in splits[split])
        if n_unk:
            notes.append(f"{n_unk} {split} characters not seen in train map to {UNK}")
    return splits, vocab, notes
