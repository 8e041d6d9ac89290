"""Held-out likelihoods: estimators (importance-sampled NLL, ELBO), result types with both
normalisations, the paper's reference numbers, tables and JSON.

``estimators`` (per batch and per split) -> ``results`` (sums and normalisations) ->
``runner`` (a checkpoint on its dataset) -> ``tables`` (rich tables, JSON) beside
``reference`` (the paper's numbers) and ``floor`` (the independent-Bernoulli floor of a
music set).
"""

from lnfmusic.evaluate.floor import bernoulli_floor, floors_by_column
from lnfmusic.evaluate.reference import reference_table
from lnfmusic.evaluate.results import EvalResult, SplitResult
from lnfmusic.evaluate.runner import evaluate_checkpoint
from lnfmusic.evaluate.tables import (
    floor_table,
    grid_rows,
    grid_table,
    read_results_json,
    result_table,
    results_json,
)

__all__ = [
    "EvalResult",
    "SplitResult",
    "bernoulli_floor",
    "evaluate_checkpoint",
    "floor_table",
    "floors_by_column",
    "grid_rows",
    "grid_table",
    "read_results_json",
    "reference_table",
    "result_table",
    "results_json",
]
