"""The paper's reference numbers and the names our rows and columns map to."""

from __future__ import annotations

from lnfmusic.evaluate.reference import DATASET_COLUMNS, MODEL_LABELS, reference_table
from lnfmusic.model.registry import model_names


def test_reference_table_has_the_papers_rows() -> None:
    ref = reference_table()
    assert ref["LNF IAF/SCF"] == {
        "Nottingham": 2.54,
        "Piano": 8.25,
        "MuseData": 7.06,
        "JSB": 6.59,
        "PTB (bpc)": 1.63,
    }
    assert ref["LSTM (sentence-wise)"] == {"PTB (bpc)": 1.41}
    assert ref["DMM"]["Piano"] == 7.83


def test_every_model_and_dataset_has_a_place_in_the_grid() -> None:
    assert set(MODEL_LABELS) == set(model_names())
    columns = {c for row in reference_table().values() for c in row}
    assert set(DATASET_COLUMNS.values()) == columns
