"""Rich tables and JSON of evaluation results: one table per checkpoint, and the layout of
the paper's Table 3 (rows = models, columns = datasets) with the paper's rows beside ours."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence

from rich.table import Table

from lnfmusic.errors import LnfError
from lnfmusic.evaluate.reference import DATASET_COLUMNS, reference_table
from lnfmusic.evaluate.results import EvalResult


def _fmt(x: float) -> str:
    return f"{x:.3f}" if math.isfinite(x) else str(x)


def result_table(result: EvalResult) -> Table:
    """One checkpoint: a row per split with both normalisations of NLL and ELBO (and, for
    music, the IS-NLL per sounding note, last and labelled as such)."""
    music = result.kind == "music"
    unit = "nats/step, a step = the 88 keys at one instant" if music else "bpc"
    table = Table(title=f"{result.label} on {result.dataset} — {result.checkpoint} ({unit})")
    columns = [
        "split",
        "S",
        "seqs",
        "steps",
        "IS-NLL paper",
        "IS-NLL per-frame",
        "-ELBO paper",
        "-ELBO per-frame",
        "recon/frame",
        "KL/frame",
    ]
    keys = ["nll_paper", "nll_frame", "neg_elbo_paper", "neg_elbo_frame", "recon_frame", "kl_frame"]
    if music:
        columns.append("IS-NLL per note")
        keys.append("nll_note")
    for col in columns:
        table.add_column(col, justify="left" if col == "split" else "right")
    for r in result.splits.values():
        m = r.metrics()
        table.add_row(
            r.split,
            "exact" if r.samples is None else str(r.samples),
            str(r.num_sequences),
            str(r.num_steps),
            *(_fmt(m[k]) for k in keys),
        )
    table.caption = (
        "paper = sum[-log p(x|T) - log p(T)] / sum(T+1); per-frame = sum -log p(x|T) / sum T"
        + (f"; {result.length_model}" if result.length_model else "")
    )
    if music:
        table.caption += (
            "; per note = sum -log p(x|T) / number of sounding notes (nats per sounding "
            "note, not comparable with the papers)"
        )
    return table


def _in_paper_order(columns: set[str]) -> list[str]:
    """Grid columns in the paper's order, any others after them in name order."""
    known = [c for c in DATASET_COLUMNS.values() if c in columns]
    return known + sorted(columns - set(known))


def grid_rows(
    results: Sequence[EvalResult], split: str = "test", metric: str = "nll_paper"
) -> dict[str, dict[str, float]]:
    """Our rows of the grid: ``label -> column -> metric`` on ``split`` (default the
    paper-comparable IS-NLL; a key of :meth:`SplitResult.metrics`)."""
    rows: dict[str, dict[str, float]] = {}
    for r in results:
        if split not in r.splits:
            continue
        column = DATASET_COLUMNS.get(r.dataset, r.dataset)
        label = r.label
        if column in rows.get(label, {}):  # two checkpoints of one model on one dataset
            label = f"{label} [{r.checkpoint}]"
        rows.setdefault(label, {})[column] = r.splits[split].metrics()[metric]
    return rows


def grid_table(
    results: Sequence[EvalResult], split: str = "test", with_reference: bool = True
) -> Table:
    """The layout of the paper's Table 3: rows = models, columns = datasets; the paper's
    rows first (dim), ours below; paper-comparable IS-NLL on ``split``."""
    ours = grid_rows(results, split)
    columns = _in_paper_order({c for row in ours.values() for c in row})
    caption = "paper-comparable normalisation; music nats/step, text bits/char"
    if with_reference:
        caption += "; the paper's rows are test-set numbers"
    table = Table(title=f"IS-NLL on {split}", caption=caption, min_width=72)
    table.add_column("model")
    for c in columns:
        table.add_column(c, justify="right")
    if with_reference:
        for name, row in reference_table().items():
            if any(c in row for c in columns):
                table.add_row(
                    f"{name} (paper)",
                    *(f"{row[c]:.2f}" if c in row else "-" for c in columns),
                    style="dim",
                )
        table.add_section()
    for name, row in ours.items():
        table.add_row(name, *(_fmt(row[c]) if c in row else "-" for c in columns))
    return table


FLOOR_ROW = "independent Bernoulli floor"


def floor_table(
    results: Sequence[EvalResult], floors: dict[str, float], split: str = "test"
) -> Table:
    """Music only, per-frame IS-NLL (nats per step): the independent-Bernoulli floor of each
    dataset column (``floors``, :func:`~lnfmusic.evaluate.floor.bernoulli_floor` on
    ``split``) first, then our rows, each with the share of the floor's NLL it removes."""
    ours = {
        label: row
        for label, row in grid_rows(results, split, "nll_frame").items()
        if any(c in floors for c in row)
    }
    columns = _in_paper_order(set(floors))
    table = Table(
        title=f"Per-frame IS-NLL on {split} against the independent-Bernoulli floor",
        caption=(
            "nats per step (a step = the 88 keys at one instant), sum -log p(x|T) / sum T; "
            "floor: each key on with its own training-set frequency, independently of the "
            "others and of time; (x%) = share of the floor's NLL the model removes"
        ),
        min_width=72,
    )
    table.add_column("model")
    for c in columns:
        table.add_column(c, justify="right")
    table.add_row(FLOOR_ROW, *(_fmt(floors[c]) for c in columns), style="dim")
    table.add_section()
    for name, row in ours.items():
        cells = [
            f"{_fmt(row[c])} ({1 - row[c] / floors[c]:.0%})" if c in row else "-" for c in columns
        ]
        table.add_row(name, *cells)
    return table


def results_json(
    results: Sequence[EvalResult],
    splits: str | Sequence[str] = "test",
    floors: dict[str, dict[str, float]] | None = None,
) -> str:
    """The same numbers as the tables, as JSON text: every result, our grid rows per split
    (``grid.splits[split][row][column]``, paper-comparable IS-NLL), the paper's rows and,
    given ``floors`` (``split -> column -> nats``), the independent-Bernoulli floors with
    our per-frame rows (``floor.splits[split]``)."""
    splits = [splits] if isinstance(splits, str) else list(splits)
    doc: dict = {
        "results": [r.to_dict() for r in results],
        "grid": {"normalisation": "paper", "splits": {s: grid_rows(results, s) for s in splits}},
        "reference": reference_table(),
    }
    floors = floors or {}
    with_floor = [s for s in splits if floors.get(s)]  # none for text-only results
    if with_floor:
        doc["floor"] = {
            "normalisation": "per-frame",
            "splits": {
                s: {FLOOR_ROW: floors[s], **grid_rows(results, s, "nll_frame")} for s in with_floor
            },
        }
    return json.dumps(doc, indent=2, allow_nan=True) + "\n"


def read_results_json(
    path: str | os.PathLike[str],
) -> tuple[list[EvalResult], dict[str, dict[str, float]]]:
    """The results of a file that :func:`results_json` wrote (``lnf evaluate --json``) and
    its independent-Bernoulli floors (``split -> column -> nats``; empty if it has none).
    Anything else is an :class:`LnfError` naming the file."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise LnfError(f"cannot read {path}: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LnfError(f"{path} is not JSON: {e}") from None
    try:
        results = [EvalResult.from_dict(r) for r in doc["results"]]
        floors = {
            split: {c: float(v) for c, v in rows.get(FLOOR_ROW, {}).items()}
            for split, rows in doc.get("floor", {}).get("splits", {}).items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise LnfError(
            f"{path} is not the JSON of lnf evaluate --json (bad or missing {e})"
        ) from None
    return results, floors
