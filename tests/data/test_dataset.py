"""``SequenceDataset`` and the ``load_dataset`` dispatcher: sizes, lengths, MIDI-folder splits,
text files, and one-line errors for unknown specs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lnfmusic.data.dataset import SequenceDataset, load_dataset, music_meta, split_midi_files
from lnfmusic.errors import LnfError


def test_output_dim_and_lengths() -> None:
    rolls = [np.zeros((n, 88), np.uint8) for n in (3, 5)]
    music = SequenceDataset("m", "music", {"train": rolls}, music_meta(2), "memory")
    assert music.output_dim == 88 and music.lengths("train") == [3, 5]
    assert music.meta["steps_per_beat"] == 2 and music.meta["pitch_offset"] == 21
    text = SequenceDataset("t", "text", {"train": [np.arange(4)]}, {"vocab": list("abc")}, "m")
    assert text.output_dim == 3 and text.lengths("train") == [4]
    assert text.meta["notes"] == []  # notes mirrored into the metadata


@pytest.mark.parametrize(
    "n, expected",
    [
        (3, ["train", "valid", "test"]),
        (5, ["train"] * 3 + ["valid", "test"]),
        (10, ["train"] * 8 + ["valid", "test"]),
        (12, ["train"] * 8 + ["valid", "test", "train", "train"]),
    ],
)
def test_midi_folder_splits(n: int, expected: list[str]) -> None:
    assert split_midi_files([f"{i:02d}.mid" for i in range(n)]) == expected


def test_too_few_midi_files() -> None:
    with pytest.raises(LnfError, match="at least 3"):
        split_midi_files(["a.mid", "b.mid"])


def test_text_file_spec(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"line {i} abc\n" for i in range(40)), encoding="utf-8")
    ds = load_dataset(f"text:{path}")
    assert ds.kind == "text" and ds.name == f"text:{path}" and ds.source == str(path)
    assert sum(len(v) for v in ds.splits.values()) == 40
    assert ds.meta["word_boundary"] is None and " " in ds.meta["vocab"]


def test_unknown_spec_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(LnfError) as e:
        load_dataset("no-such-dataset", tmp_path)
    assert "\n" not in str(e.value) and "no-such-dataset" in str(e.value)


def test_too_long_a_sequence_names_its_file_where_the_dataset_knows_it() -> None:
    from lnfmusic.data.dataset import MAX_LENGTH, SequenceDataset

    long, short = np.zeros((MAX_LENGTH + 1, 88), np.uint8), np.zeros((4, 88), np.uint8)
    named = SequenceDataset(
        "midi:x",
        "music",
        {"train": [short, long]},
        {},
        "/songs",
        names={"train": ["a.mid", "b/c.mid"]},
    )
    with pytest.raises(LnfError) as e:
        named.check_lengths()
    assert e.value.message.startswith(f"is {MAX_LENGTH + 1} steps long")
    assert str(e.value.path) == "/songs/b/c.mid"
    text = SequenceDataset("t", "text", {"train": [np.zeros(MAX_LENGTH + 5, np.int64)]}, {}, "f")
    with pytest.raises(LnfError, match="train line 1 is 10005 characters long"):
        text.check_lengths()
