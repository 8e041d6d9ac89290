"""``lnf evaluate``: load checkpoints, find their datasets, print tables (and JSON)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from lnfmusic.cli.common import data_dir_option, device_option, stderr, stdout
from lnfmusic.cli.options import spec_option
from lnfmusic.config import EvalConfig
from lnfmusic.errors import LnfError


def _eval_option(name: str, flag: str | None = None):
    return spec_option(EvalConfig, name, flag)


@click.command()
@click.argument("checkpoints", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--split",
    "splits",
    type=click.Choice(["test", "valid"]),
    multiple=True,
    help="Split(s) to evaluate (repeat for several)  [default: test]",
)
@_eval_option("num_samples", "--samples")
@_eval_option("elbo_samples")
@_eval_option("batch_size")
@_eval_option("max_elements")
@_eval_option("seed")
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the numbers as JSON to this file.",
)
@click.option(
    "--from-json",
    "from_json",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    help="Evaluate nothing: print the grid of earlier evaluations, from files written by "
    "--json (repeat for several).",
)
@data_dir_option
@device_option
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def evaluate(
    checkpoints: tuple[Path, ...],
    splits: tuple[str, ...],
    num_samples: int,
    elbo_samples: int,
    batch_size: int,
    max_elements: int,
    seed: int,
    json_path: Path | None,
    from_json: tuple[Path, ...],
    data_dir: Path | None,
    device: str,
    no_progress: bool,
) -> None:
    """Importance-sampled NLL, ELBO, reconstruction and KL of CHECKPOINT(s).

    CHECKPOINTS are files or names of shipped models (`lnf evaluate jsb-af-af-small`); with
    none, every shipped model is evaluated whose dataset is present (the others are named
    and skipped).

    Music in nats per time step (a step is all 88 keys at one instant, not one note), text
    in bits per character, each in two normalisations: paper-comparable,
    sum[-log p(x|T) - log p(T)] / sum(T+1), and per-frame, sum -log p(x|T) / sum T. For
    music a third column, "IS-NLL per note", divides by the number of sounding notes
    instead (nats per sounding note; not comparable with the papers). Exact models (the
    LSTM) need no samples. Several checkpoints also give one grid (rows = models, columns =
    datasets) beside the paper's numbers. Music models are also set against the
    independent-Bernoulli floor of their dataset (per-frame: every key on with its own
    training-set frequency, independently). --from-json prints the grid of earlier
    evaluations (their --json files) without evaluating again.
    """
    from lnfmusic.checkpoint import load_model
    from lnfmusic.data.dataset import load_dataset
    from lnfmusic.evaluate import evaluate_checkpoint, floors_by_column, result_table
    from lnfmusic.io.atomic import check_not_inputs, check_writable
    from lnfmusic.sample import resolve_checkpoint, shipped_models

    out = stdout if stdout.is_terminal else Console(highlight=False, width=200)
    config = EvalConfig(
        splits=tuple(dict.fromkeys(splits)) or ("test",),
        num_samples=num_samples,
        elbo_samples=elbo_samples,
        batch_size=batch_size,
        max_elements=max_elements,
        seed=seed,
    )
    config.validate()
    if from_json:
        if checkpoints:
            raise LnfError("give CHECKPOINTS or --from-json, not both")
        _print_grids(from_json, config.splits, json_path, data_dir, out)
        return
    shipped = not checkpoints
    paths = (
        shipped_models()
        if shipped
        else [resolve_checkpoint(c, "music", "checkpoint") for c in checkpoints]
    )
    if json_path is not None:
        check_writable(json_path)  # before minutes of evaluation, not after
        check_not_inputs([json_path], paths)
    results = []
    datasets = {}
    skipped = []
    for path in paths:
        bundle = load_model(path, device)
        name = bundle.dataset.name
        if name not in datasets:
            try:
                datasets[name] = load_dataset(name, data_dir)
            except LnfError as e:
                if not shipped:
                    raise LnfError(f"cannot evaluate {path}: {e}") from None
                skipped.append(f"{path.name} ({name})")
                continue
        # no "evaluating ..." line (the progress bar says it): evaluate_checkpoint checks the
        # data before any work or output, so that a failure is the only line on stderr
        result = evaluate_checkpoint(
            bundle, datasets[name], config, progress=not no_progress, console=stderr
        )
        results.append(result)
        out.print(result_table(result))
        for split in result.splits.values():
            if split.impossible_lengths:
                # beyond the support, or (a plain histogram) a length never seen in training
                stderr.print(
                    f"note: {split.impossible_lengths} of the {split.num_sequences} {split.split} "
                    "sequences have a length to which the model's p(T) gives probability 0 "
                    f"({bundle.dataset.length_prior.describe()}), so the paper-normalised NLL "
                    "and ELBO are inf; the per-frame numbers include them",
                    soft_wrap=True,
                )
    if skipped and not results:
        raise LnfError(
            "no shipped model could be evaluated: the datasets of "
            + ", ".join(skipped)
            + " are not present (see `lnf data list`)"
        )
    if skipped:
        stderr.print("skipped (dataset not present): " + ", ".join(skipped), soft_wrap=True)
    floors = floors_by_column(datasets.values(), config.splits)
    _write_grids(results, floors, config.splits, json_path, out, always=False)


def _write_grids(results, floors, splits, json_path: Path | None, out, always: bool) -> None:
    """The grid (when several results, or ``always``) and the floor table per split; the
    JSON."""
    from lnfmusic.evaluate import floor_table, grid_table, results_json
    from lnfmusic.io.atomic import write_text_atomic

    for split in splits:
        if always or len(results) > 1:
            out.print(grid_table(results, split))
        if floors.get(split):
            out.print(floor_table(results, floors[split], split))
    if json_path is not None:
        write_text_atomic(json_path, results_json(results, list(splits), floors))
        stderr.print(f"wrote {json_path}")


def _print_grids(
    files: tuple[Path, ...],
    splits: tuple[str, ...],
    json_path: Path | None,
    data_dir: Path | None,
    out,
) -> None:
    """``--from-json``: the results of earlier ``--json`` files, their grids and floors
    (as the files stored them, else computed from the data where it is present)."""
    from lnfmusic.data.dataset import load_dataset
    from lnfmusic.evaluate import floors_by_column, read_results_json
    from lnfmusic.evaluate.reference import DATASET_COLUMNS
    from lnfmusic.io.atomic import check_not_inputs, check_writable

    if json_path is not None:
        check_writable(json_path)
        check_not_inputs([json_path], list(files))
    results, stored = [], {}
    for path in files:
        found, floors = read_results_json(path)
        results += found
        for split, row in floors.items():
            stored.setdefault(split, {}).update(row)
    missing = [s for s in splits if not any(s in r.splits for r in results)]
    if missing:
        raise LnfError(f"--from-json: no result in the files has the {missing[0]} split")
    datasets = []
    for name in dict.fromkeys(r.dataset for r in results if r.kind == "music"):
        column = DATASET_COLUMNS.get(name, name)
        if all(column in stored.get(split, {}) for split in splits):
            continue  # the files have its floors: no need to read the data
        try:
            datasets.append(load_dataset(name, data_dir))
        except LnfError:
            pass  # not present here: the stored floor, if any
    floors = floors_by_column(datasets, splits)
    for split in splits:
        floors[split] = {**stored.get(split, {}), **floors[split]}
    _write_grids(results, floors, splits, json_path, out, always=True)
