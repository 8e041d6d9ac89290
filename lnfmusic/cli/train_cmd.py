"""``lnf train``: parse options, resolve the configuration, call :func:`lnfmusic.train.loop.train`."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import click

from lnfmusic.cli.common import handle_errors, resolve_device, stderr, stdout
from lnfmusic.config import HIDDEN_FLOWS, MODELS, PRESETS, TRANSFORMS, RunConfig, preset
from lnfmusic.errors import LnfError

# flag name -> (section, field)
OVERRIDES = {
    "batch_size": ("train", "batch_size"), "lr": ("train", "lr"),
    "elbo_samples": ("train", "elbo_samples"), "weight_decay": ("train", "weight_decay"),
    "kl_zero_epochs": ("train", "kl_zero_epochs"), "kl_ramp_epochs": ("train", "kl_ramp_epochs"),
    "patience": ("train", "patience"), "hidden_size": ("model", "hidden_size"),
    "latent_dim": ("model", "latent_dim"), "flow_layers": ("model", "flow_layers"),
    "transform": ("model", "transform"), "hidden_flow": ("model", "hidden_flow"),
    "dropout": ("model", "dropout"), "prior_dropout": ("model", "prior_dropout"),
}


def apply_toml(config: RunConfig, path: Path) -> None:
    """Apply ``[model]`` and ``[train]`` tables of a TOML file; unknown keys are errors."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise LnfError(f"cannot read config: {e}", path) from None
    except tomllib.TOMLDecodeError as e:
        raise LnfError(f"invalid TOML: {e}", path) from None
    for section, values in data.items():
        if section not in ("model", "train") or not isinstance(values, dict):
            raise LnfError(f"unknown section [{section}] (expected [model] and [train])", path)
        target = getattr(config, section)
        names = {f.name: f for f in dataclasses.fields(target)}
        for key, value in values.items():
            if key not in names:
                raise LnfError(f"unknown option {key!r} in [{section}]", path)
            setattr(target, key, value)


def resolve_config(dataset_kind: str, model: str, preset_name: str, config_file: Path | None,
                   overrides: dict) -> RunConfig:
    """preset < TOML config file < command-line flags."""
    config = preset(preset_name, dataset_kind, model)
    if config_file is not None:
        apply_toml(config, config_file)
        config.model.model = model
    for flag, value in overrides.items():
        if value is not None:
            section, name = OVERRIDES.get(flag, ("train", flag))
            setattr(getattr(config, section), name, value)
    return config


@click.command()
@click.option("--dataset", default="jsb", help="jsb, nottingham, piano-midi, musedata, ptb, "
              "midi:FOLDER or text:FILE.")
@click.option("--model", type=click.Choice(MODELS), default="af-af")
@click.option("--preset", "preset_name", type=click.Choice(PRESETS), default="small",
              help="paper: the paper's sizes; small: a 2-core CPU; tiny: seconds.")
@click.option("--run-dir", type=click.Path(path_type=Path), default=None,
              help="Where checkpoints and metrics go [default: runs/DATASET-MODEL-PRESET].")
@click.option("--device", default="auto", help="auto, cpu or cuda[:N].")
@click.option("--seed", type=int, default=None, help="Random seed [default: preset's, 0].")
@click.option("--epochs", type=int, default=None, help="Number of epochs [default: preset's].")
@click.option("--resume", is_flag=True, help="Continue from RUN_DIR/last.pt.")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="TOML file with [model] and [train] tables.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder with dataset files (before $LNF_DATA_DIR and ./datasets).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option("--batch-size", type=int, default=None)
@click.option("--lr", type=float, default=None)
@click.option("--elbo-samples", type=int, default=None)
@click.option("--weight-decay", type=float, default=None)
@click.option("--kl-zero-epochs", type=float, default=None)
@click.option("--kl-ramp-epochs", type=float, default=None)
@click.option("--patience", type=int, default=None)
@click.option("--hidden-size", type=int, default=None)
@click.option("--latent-dim", type=int, default=None)
@click.option("--flow-layers", type=int, default=None)
@click.option("--transform", type=click.Choice(TRANSFORMS), default=None)
@click.option("--hidden-flow", type=click.Choice(HIDDEN_FLOWS), default=None,
              help="Flow within a time step [default: the model's own].")
@click.option("--dropout", type=float, default=None)
@click.option("--prior-dropout", type=float, default=None)
@handle_errors
def train(dataset: str, model: str, preset_name: str, run_dir: Path | None, device: str,
          seed: int | None, epochs: int | None, resume: bool, config_file: Path | None,
          data_dir: Path | None, no_progress: bool, **overrides) -> None:
    """Train a model on a dataset; checkpoints go to RUN_DIR (best.pt, last.pt)."""
    from lnfmusic.data.dataset import load_dataset
    from lnfmusic.train.loop import train as run_training

    device = resolve_device(device)
    data = load_dataset(dataset, data_dir)
    for note in data.notes:
        stderr.print(f"note: {note}")
    overrides.update(seed=seed, epochs=epochs)
    config = resolve_config(data.kind, model, preset_name, config_file, overrides)
    run_dir = run_dir or Path("runs") / f"{dataset.replace(':', '_').replace('/', '_')}-{model}-{preset_name}"
    stderr.print(f"training {model} on {dataset} ({preset_name} preset) on {device} -> {run_dir}")
    summary = run_training(config, data, run_dir, device=device, resume=resume,
                           progress=not no_progress, console=stderr)
    stdout.print(f"best valid ELBO {summary['best_valid_elbo_nats_per_step']:.4f} "
                 f"{'nats' if data.kind == 'music' else 'nats'}/step; checkpoint {summary['best']}")
