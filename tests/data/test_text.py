"""Character-level text: PTB as LNF used it, plain text files, the vocabulary."""

from __future__ import annotations

import functools
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lnfmusic.data.dataset import SequenceDataset, load_dataset
from lnfmusic.data.text import (
    MAX_PTB_LENGTH,
    UNK,
    Vocabulary,
    load_ptb,
    load_text_file,
    read_ptb,
)
from lnfmusic.errors import LnfError

# data README: 49 symbols besides the newline
PTB_SYMBOLS = set(string.ascii_lowercase) | set(string.digits) | set("_#$&'*-./<>N\\")


@functools.lru_cache(maxsize=1)
def _load_ptb(data_dir: str) -> SequenceDataset:
    return load_dataset("ptb", data_dir)


@pytest.fixture
def ptb(data_dir: Path) -> SequenceDataset:
    """The real PTB, loaded once per test session (the train file is 10 MB)."""
    return _load_ptb(str(data_dir))


def test_ptb_vocabulary(ptb: SequenceDataset) -> None:
    assert len(PTB_SYMBOLS) == 49
    assert set(ptb.meta["vocab"]) == PTB_SYMBOLS
    assert ptb.output_dim == len(ptb.meta["vocab"]) == 49
    assert ptb.meta["word_boundary"] == "_"


def test_ptb_long_sentences_dropped(ptb: SequenceDataset, data_dir: Path) -> None:
    for split in ("train", "valid", "test"):
        lengths = ptb.lengths(split)
        assert min(lengths) >= 1 and max(lengths) <= MAX_PTB_LENGTH
        assert all(s.dtype == np.int64 and s.ndim == 1 for s in ptb.splits[split][:100])
    # count independently from the word-level valid file (3,370 lines)
    lines = (data_dir / "ptb.valid.txt").read_text().splitlines()
    long = sum(len("_".join(line.split())) > MAX_PTB_LENGTH for line in lines)
    assert long > 0
    assert len(ptb.splits["valid"]) == len(lines) - long
    assert any(str(long) in note and "valid" in note for note in ptb.notes)
    assert any("test" in note for note in ptb.notes)


def test_ptb_first_sentence(ptb: SequenceDataset, data_dir: Path) -> None:
    vocab = Vocabulary.from_list(ptb.meta["vocab"])
    first = (data_dir / "ptb.train.txt").read_text().splitlines()[0]
    expected = "_".join(first.split())
    assert "".join(vocab.decode(ptb.splits["train"][0])) == expected
    assert vocab.decode_text(ptb.splits["train"][0], "_") == " ".join(first.split())


def test_char_and_word_files_agree(data_dir: Path) -> None:
    assert read_ptb(data_dir / "ptb.char.valid.txt") == read_ptb(data_dir / "ptb.valid.txt")


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_ptb_encode_decode_roundtrip(data: st.DataObject, data_dir: Path) -> None:
    chars = _load_ptb(str(data_dir)).meta["vocab"]
    vocab = Vocabulary.from_list(chars)
    text = data.draw(st.text(alphabet=st.sampled_from(chars), max_size=300))
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert "".join(vocab.decode(ids)) == text
    np.testing.assert_array_equal(vocab.encode("".join(vocab.decode(ids))), ids)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=5))
def test_any_text_roundtrip(texts: list[str]) -> None:
    vocab = Vocabulary.build(texts)
    for t in texts:
        assert "".join(vocab.decode(vocab.encode(t))) == t
    assert [len(x) for x in vocab.encode_many(texts)] == [len(t) for t in texts]


def test_vocabulary_list_roundtrip() -> None:
    vocab = Vocabulary.build(["hello", "world"], with_unk=True)
    assert vocab.chars[-1] == UNK and vocab.unk == len(vocab) - 1
    again = Vocabulary.from_list(vocab.to_list())
    assert again.chars == vocab.chars and again.unk == vocab.unk
    assert Vocabulary.from_dict(vocab.to_dict()).unk == vocab.unk


def test_unknown_character_error(tmp_path: Path) -> None:
    paths = []
    for split, text in (("train", "a b _ c\nb a\n"), ("valid", "a b\n"), ("test", "a z b\n")):
        paths.append(tmp_path / f"ptb.char.{split}.txt")
        paths[-1].write_text(text)
    with pytest.raises(LnfError) as e:
        load_ptb(paths)
    assert e.value.path == str(paths[2])
    assert "'z'" in e.value.message and "unknown character" in e.value.message
    assert "\n" not in str(e.value)


def test_vocabulary_without_unk_names_source() -> None:
    with pytest.raises(LnfError, match="unknown character 'q'") as e:
        Vocabulary.build(["abc"]).encode("abq", source="some.txt")
    assert e.value.path == "some.txt"


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_text_file_dataset(tmp_path: Path) -> None:
    lines = [f"line {i}: valid and has abc" for i in range(40)]
    lines[18] = "valid has ü"  # unseen in train -> <unk>
    path = _write_lines(tmp_path / "corpus.txt", lines)
    ds = load_dataset(f"text:{path}")
    assert ds.kind == "text" and ds.source == str(path)
    assert [len(ds.splits[s]) for s in ("train", "valid", "test")] == [36, 2, 2]  # 90/5/5
    vocab = Vocabulary.from_list(ds.meta["vocab"])
    assert vocab.unk is not None and ds.output_dim == len(vocab)
    valid0 = vocab.decode(ds.splits["valid"][0])
    assert valid0 == list("valid has ") + [UNK]
    assert any(UNK in note and "valid" in note for note in ds.notes)
    assert "".join(vocab.decode(ds.splits["train"][0])) == lines[0]


def test_text_file_small(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "three.txt", ["abc", "", "   ", "bca", "cab"])
    splits, vocab, _ = load_text_file(path)
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [1, 1, 1]
    with pytest.raises(LnfError, match="at least 3") as e:
        load_text_file(_write_lines(tmp_path / "two.txt", ["abc", "def"]))
    assert e.value.path == str(tmp_path / "two.txt")


@pytest.mark.parametrize("content", [b"", b"\n\n", b"   \n\t\n"])
def test_empty_text_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(LnfError, match="empty text file") as e:
        load_dataset(f"text:{path}")
    assert e.value.path == str(path)


def test_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\u00e9\nna\u00efve\nabc\n".encode("latin-1"))
    with pytest.raises(LnfError, match="not UTF-8") as e:
        load_dataset(f"text:{path}")
    assert e.value.path == str(path)


def test_missing_text_file(tmp_path: Path) -> None:
    with pytest.raises(LnfError, match="cannot read") as e:
        load_dataset(f"text:{tmp_path / 'nope.txt'}")
    assert e.value.path == str(tmp_path / "nope.txt")
