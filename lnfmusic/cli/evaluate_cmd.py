"""``lnf evaluate``: load checkpoints, find their datasets, print tables (and JSON)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from lnfmusic.cli.common import data_dir_option, handle_errors, resolve_device, stderr, stdout
from lnfmusic.errors import LnfError


@click.command()
@click.argument(
    "checkpoints", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False)
)
@click.option(
    "--split",
    "splits",
    type=click.Choice(["test", "valid"]),
    multiple=True,
    help="Split(s) to evaluate (repeat for several)  [default: test]",
)
@click.option(
    "--samples",
    type=int,
    default=50,
    help="Importance samples S per sequence (the LSTM baseline is exact).",
)
@click.option(
    "--elbo-samples", type=int, default=10, help="Samples for the ELBO, reconstruction and KL."
)
@click.option("--batch-size", type=int, default=16, help="Most sequences per batch.")
@click.option(
    "--max-elements",
    type=int,
    default=None,
    help="Most sample-steps (S_chunk x B x T) per forward pass; lower it if memory "
    "runs out  [default: 65536]",
)
@click.option("--seed", type=int, default=0, help="Random seed; same seed, same numbers.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the numbers as JSON to this file.",
)
@data_dir_option
@click.option("--device", default="auto", help="auto, cpu or cuda[:N].")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@handle_errors
def evaluate(
    checkpoints: tuple[Path, ...],
    splits: tuple[str, ...],
    samples: int,
    elbo_samples: int,
    batch_size: int,
    max_elements: int | None,
    seed: int,
    json_path: Path | None,
    data_dir: Path | None,
    device: str,
    no_progress: bool,
) -> None:
    """Importance-sampled NLL, ELBO, reconstruction and KL of CHECKPOINT(s).

    Music in nats per time step, text in bits per character, each in two normalisations:
    paper-comparable, sum[-log p(x|T) - log p(T)] / sum(T+1), and per-frame,
    sum -log p(x|T) / sum T. Several checkpoints also give one grid (rows = models,
    columns = datasets) beside the paper's numbers.
    """
    from lnfmusic.data.dataset import load_dataset
    from lnfmusic.evaluate import (
        DEFAULT_MAX_ELEMENTS,
        evaluate_checkpoint,
        grid_table,
        result_table,
        results_json,
    )
    from lnfmusic.io.atomic import check_writable, write_text_atomic
    from lnfmusic.train.checkpoint import load_model

    out = stdout if stdout.is_terminal else Console(highlight=False, width=200)
    device = resolve_device(device)
    split_list = list(dict.fromkeys(splits)) or ["test"]
    if samples < 1:
        raise LnfError(f"--samples must be at least 1 (got {samples})")
    if json_path is not None:
        check_writable(json_path)  # before minutes of evaluation, not after
    results = []
    datasets = {}
    for path in checkpoints:
        model, ckpt = load_model(path, device)
        try:
            name = ckpt["dataset"]["name"]
        except (KeyError, TypeError):
            raise LnfError("checkpoint has no dataset record", path) from None
        if name not in datasets:
            try:
                datasets[name] = load_dataset(name, data_dir)
            except LnfError as e:
                raise LnfError(f"cannot evaluate {path}: {e}") from None
        stderr.print(f"evaluating {path} on {name} ({', '.join(split_list)}) on {device}")
        result = evaluate_checkpoint(
            model,
            ckpt,
            datasets[name],
            split_list,
            num_samples=samples,
            batch_size=batch_size,
            seed=seed,
            max_elements=max_elements or DEFAULT_MAX_ELEMENTS,
            elbo_samples=elbo_samples,
            progress=not no_progress,
            console=stderr,
            checkpoint_name=str(path),
        )
        results.append(result)
        out.print(result_table(result))
    if len(results) > 1:
        for split in split_list:
            out.print(grid_table(results, split))
    if json_path is not None:
        write_text_atomic(json_path, results_json(results, split_list))
        stderr.print(f"wrote {json_path}")
