"""The paper's test numbers (paper-comparable normalisation) and how our names map onto its
table: datasets to columns, model names to rows.

References:
    Ziegler & Rush (2019), Tables 1-3.
    Tran et al. (2019), Table 3 (the bipartite discrete flow on PTB).
"""

from __future__ import annotations

# Columns of the grid, in the paper's order, and how our dataset names map onto them.
DATASET_COLUMNS = {
    "nottingham": "Nottingham",
    "piano-midi": "Piano",
    "musedata": "MuseData",
    "jsb": "JSB",
    "ptb": "PTB (bpc)",
}
# Our --model names as the paper's rows name them.
MODEL_LABELS = {
    "af-af": "LNF AF/AF",
    "af-scf": "LNF AF/SCF",
    "iaf-scf": "LNF IAF/SCF",
    "af-only": "LNF AF-only",
    "lstm": "LSTM",
    "df-bipartite": "DF bipartite",
    "df-ar": "DF AR",
}


def reference_table() -> dict[str, dict[str, float]]:
    """The paper's test NLLs (paper-comparable normalisation), ``row -> column -> value``.

    Music columns in nats per time step (Table 3); ``PTB (bpc)`` in bits per character
    (Tables 1 and 2). Music LSTM numbers are LNF's own LSTM; the PTB ``LSTM`` is the
    standard (not sentence-wise) baseline.
    """
    music = ("Nottingham", "Piano", "MuseData", "JSB")
    rows: dict[str, tuple[float, float, float, float]] = {
        "RNN-NADE": (2.31, 7.05, 5.60, 5.19),
        "DMM": (2.77, 7.83, 6.83, 6.39),
        "LSTM": (3.43, 7.77, 7.23, 8.17),
        "LNF AF/AF": (2.39, 8.19, 6.92, 6.53),
        "LNF AF/SCF": (2.56, 8.26, 6.95, 6.64),
        "LNF IAF/SCF": (2.54, 8.25, 7.06, 6.59),
    }
    table = {name: dict(zip(music, values, strict=True)) for name, values in rows.items()}
    ptb = {
        "LSTM": 1.38,
        "LSTM (sentence-wise)": 1.41,
        "LNF AF-only": 2.90,
        "LNF AF/AF": 1.42,
        "LNF AF/SCF": 1.46,
        "LNF IAF/SCF": 1.63,
        "LNF AF/AF -NLSq": 1.50,
        "LNF AF/AF -AF hidden": 1.57,
    }
    ptb["DF bipartite"] = 1.38  # Tran et al. (2019): never reproduced publicly
    for name, value in ptb.items():
        table.setdefault(name, {})["PTB (bpc)"] = value
    return table
