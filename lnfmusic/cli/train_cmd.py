"""``lnf train``: flags (generated from the config fields) -> the library's config
resolution -> :func:`lnfmusic.train.loop.fit`.

Priority of settings: preset < TOML config file (``[model]`` and ``[train]`` tables) <
flags < ``--set KEY=VALUE``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from lnfmusic import options
from lnfmusic.cli.common import data_dir_option, device_option, fail, stderr, stdout
from lnfmusic.cli.options import MAX_THREADS, Int64Range, field_options, flag, split_param
from lnfmusic.config import PRESETS, TrainConfig, model_names
from lnfmusic.model import registry
from lnfmusic.model.config import DATA_FIELDS


def _model_specs() -> list[options.Spec]:
    """Every flag-able model field of every family, once, in registration order."""
    seen: dict[str, options.Spec] = {}
    for family in registry.families().values():
        for spec in options.specs(family.config):
            if spec.cli and spec.name not in DATA_FIELDS and spec.name not in seen:
                seen[spec.name] = spec
    return list(seen.values())


def _families_with(name: str) -> list[str]:
    return [
        f.name
        for f in registry.families().values()
        if any(s.name == name for s in options.specs(f.config))
    ]


def _model_note(name: str) -> str:
    having = _families_with(name)
    everyone = len(having) == len(registry.families())
    return _train_note(name) + ("" if everyone else f" ({', '.join(having)} only)")


def default_run_dir(dataset: str, model: str, preset_name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset)
    return Path("runs") / f"{safe}-{model}-{preset_name}"


def _train_note(name: str) -> str:
    return "  [default: the preset's]"


@click.command()
@click.option(
    "--dataset",
    default="jsb",
    show_default=True,
    help="jsb, nottingham, piano-midi, musedata, ptb, midi:FOLDER or text:FILE.",
)
@click.option("--model", type=click.Choice(model_names()), default="af-af", show_default=True)
@click.option(
    "--preset",
    "preset_name",
    type=click.Choice(PRESETS),
    default="small",
    show_default=True,
    help="paper: the paper's sizes; small: a 2-core CPU; tiny: seconds.",
)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where checkpoints and metrics go [default: runs/DATASET-MODEL-PRESET].",
)
@device_option
@click.option("--resume", is_flag=True, help="Continue exactly from RUN_DIR/last.pt.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Start afresh in a RUN_DIR that holds an earlier run, replacing its checkpoints and "
    "metrics once the first epoch is saved (without it that is an error).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML file with [model] and [train] tables.",
)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set any option, e.g. --set train.clip=0.5 --set model.nlsq_alpha=0.9 (repeatable; "
    "applied last).",
)
@data_dir_option
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option(
    "--threads",
    type=Int64Range(min=1, max=MAX_THREADS),
    default=None,
    help="CPU threads for torch [default: 1 for the tiny preset, else torch's]; 1 is "
    "often the fastest for small models, above all on a busy machine.",
)
@field_options("train", options.specs(TrainConfig), _train_note)
@field_options("model", _model_specs(), _model_note)
def train(
    dataset: str,
    model: str,
    preset_name: str,
    run_dir: Path | None,
    device: str,
    resume: bool,
    overwrite: bool,
    config_file: Path | None,
    assignments: tuple[str, ...],
    data_dir: Path | None,
    no_progress: bool,
    threads: int | None,
    **fields: Any,
) -> None:
    """Train a model on a dataset; checkpoints go to RUN_DIR (best.pt, last.pt).

    Model and training options come from the preset, then a TOML file, then the flags
    below; each flag is a field of the model or training config.

    Several cores or GPUs: launch with torchrun, one process each, e.g. `torchrun
    --nproc_per_node 2 -m lnfmusic train ...` (DistributedDataParallel; gloo on CPU, nccl
    on CUDA). On a CPU, one process per core with one thread each is faster than one
    process with many threads. --batch-size is per process.
    """
    import torch

    from lnfmusic.config import explicit_options, resolve_config
    from lnfmusic.data.dataset import load_dataset
    from lnfmusic.device import start_processes, stop_processes
    from lnfmusic.train.loop import check_trainable, fit
    from lnfmusic.train.run_files import check_run_dir

    if resume and overwrite:
        fail("--resume continues the run in RUN_DIR and --overwrite replaces it: give one")
    given = {k: v for k, v in fields.items() if v is not None}
    family = registry.family_of(model)
    for param in given:
        section, name = split_param(param)
        if section == "model" and family.name not in _families_with(name):
            fail(f"{flag(name)} does not apply to --model {model}")
    if threads is None and preset_name == "tiny":
        threads = 1  # tiny matrices: extra threads only add synchronisation
    if threads is not None:
        torch.set_num_threads(threads)
    data = load_dataset(dataset, data_dir)
    check_trainable(data)
    overrides = {".".join(split_param(k)): v for k, v in given.items()}
    config = resolve_config(
        data.kind,
        model,
        preset_name,
        config_file,
        overrides,
        assignments,
        dataset=data.name,
        train_sequences=len(data.splits["train"]),
    )
    run_dir = run_dir or default_run_dir(dataset, model, preset_name)
    check_run_dir(run_dir, resume=resume, overwrite=overwrite)  # before anything is written
    procs, device = start_processes(device, threads)

    def announce() -> None:  # once fit has checked and set up everything: never before an error
        for note in data.notes:
            stderr.print(f"note: {note}", soft_wrap=True)
        what = "resuming" if resume else "training"
        where = f"{procs.world_size} processes" if procs.distributed else device
        stderr.print(
            f"{what} {model} on {dataset} ({preset_name} preset) on {where} -> {run_dir}",
            soft_wrap=True,
        )

    try:
        summary = fit(
            config,
            data,
            run_dir,
            device=device,
            resume=resume,
            progress=not no_progress,
            console=stderr,
            # when resuming, the stored run's epochs unless set here by any means
            overwrite=overwrite,
            on_start=announce,
            epochs=(
                config.train.epochs
                if "train.epochs" in explicit_options(config_file, overrides, assignments)
                else None
            ),
        )
    except BaseException:
        stop_processes()
        raise
    stop_processes(wait=True)
    if not procs.main:
        return
    best = summary["best_valid_elbo_nats_per_step"]
    if best is None:
        stdout.print(
            f"no finite validation ELBO after {summary['epochs']} epochs; "
            f"last checkpoint {summary['last']}",
            soft_wrap=True,
        )
        return
    unit = f"{best:.4f} nats/step"
    if data.kind == "text":
        unit += f" ({best / math.log(2):.4f} bits/char)"
    what = "NLL (exact)" if summary.get("exact") else "ELBO"
    stdout.print(f"best valid {what} {unit}; checkpoint {summary['best']}", soft_wrap=True)
