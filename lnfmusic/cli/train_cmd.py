"""``lnf train``: parse options, resolve the configuration, call :func:`lnfmusic.train.loop.train`.

Priority of settings: preset < TOML config file (``[model]`` and ``[train]`` tables) < flags.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import click

from lnfmusic.cli.common import data_dir_option, handle_errors, resolve_device, stderr, stdout
from lnfmusic.config import HIDDEN_FLOWS, MODELS, PRESETS, TRANSFORMS, RunConfig, preset
from lnfmusic.errors import LnfError

# flag name -> (section, field) for the flags that override preset options
OVERRIDES = {
    "batch_size": ("train", "batch_size"),
    "lr": ("train", "lr"),
    "elbo_samples": ("train", "elbo_samples"),
    "weight_decay": ("train", "weight_decay"),
    "kl_zero_epochs": ("train", "kl_zero_epochs"),
    "kl_ramp_epochs": ("train", "kl_ramp_epochs"),
    "patience": ("train", "patience"),
    "early_stop": ("train", "early_stop"),
    "seed": ("train", "seed"),
    "epochs": ("train", "epochs"),
    "max_sequences": ("train", "max_sequences"),
    "hidden_size": ("model", "hidden_size"),
    "latent_dim": ("model", "latent_dim"),
    "flow_layers": ("model", "flow_layers"),
    "transform": ("model", "transform"),
    "hidden_flow": ("model", "hidden_flow"),
    "dropout": ("model", "dropout"),
    "prior_dropout": ("model", "prior_dropout"),
}
# filled in from the dataset; a config file may not set them
DATA_FIELDS = {"data_kind", "output_dim", "max_length"}
CHOICES = {"model": MODELS, "transform": TRANSFORMS, "hidden_flow": HIDDEN_FLOWS}


_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _check_type(name: str, annotation: Any, value: Any) -> Any:
    """``value`` checked against a config field's annotation (``"int"``, ``"float"``,
    ``"str | None"``...; int is accepted for float). Raises ValueError otherwise."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    allowed = [_TYPES[t.strip()] for t in text.split("|") if t.strip() in _TYPES]
    for t in allowed:
        if t is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if type(value) is t:
            return value
    names = " or ".join(t.__name__ for t in allowed) or text
    raise ValueError(f"{name} must be {names}, got {value!r}")


def apply_toml(config: RunConfig, path: Path) -> None:
    """Apply the ``[model]`` and ``[train]`` tables of a TOML file to ``config`` (in place).

    Unknown sections or keys, and values of the wrong type, are one-line errors.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise LnfError(
                "TOML config files need Python >= 3.11 or `pip install tomli`", path
            ) from None
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
        fields = {f.name: f for f in dataclasses.fields(target)}
        for key, value in values.items():
            if key not in fields or (section == "model" and key in DATA_FIELDS):
                known = ", ".join(
                    sorted(set(fields) - (DATA_FIELDS if section == "model" else set()))
                )
                raise LnfError(f"unknown option {key!r} in [{section}] (known: {known})", path)
            try:
                value = _check_type(key, fields[key].type, value)
            except ValueError as e:
                raise LnfError(f"[{section}] {e}", path) from None
            if key in CHOICES and value is not None and value not in CHOICES[key]:
                raise LnfError(
                    f"[{section}] {key} must be one of {', '.join(CHOICES[key])}, got {value!r}",
                    path,
                )
            setattr(target, key, value)


def resolve_config(
    dataset_kind: str,
    model: str,
    preset_name: str,
    config_file: Path | None,
    overrides: dict[str, Any],
) -> RunConfig:
    """preset < TOML config file < command-line flags (``None`` flags are not given)."""
    config = preset(preset_name, dataset_kind, model)
    if config_file is not None:
        apply_toml(config, config_file)
        config.model.model = model  # --model decides the model (and picked the preset)
    for flag, value in overrides.items():
        if value is not None:
            section, name = OVERRIDES[flag]
            setattr(getattr(config, section), name, value)
    return config


def default_run_dir(dataset: str, model: str, preset_name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset)
    return Path("runs") / f"{safe}-{model}-{preset_name}"


def _positive(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and value <= 0:
        raise click.BadParameter("must be positive")
    return value


@click.command()
@click.option(
    "--dataset",
    default="jsb",
    show_default=True,
    help="jsb, nottingham, piano-midi, musedata, ptb, midi:FOLDER or text:FILE.",
)
@click.option("--model", type=click.Choice(MODELS), default="af-af", show_default=True)
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
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
@click.option("--seed", type=int, default=None, help="Random seed [default: preset's, 0].")
@click.option(
    "--epochs",
    type=int,
    default=None,
    callback=_positive,
    help="Number of epochs [default: preset's; with --resume: the stored run's].",
)
@click.option("--resume", is_flag=True, help="Continue exactly from RUN_DIR/last.pt.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML file with [model] and [train] tables.",
)
@data_dir_option
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option(
    "--threads",
    type=int,
    default=None,
    callback=_positive,
    help="CPU threads for torch [default: 1 for the tiny preset, else torch's]; 1 is "
    "often the fastest for small models, above all on a busy machine.",
)
@click.option("--batch-size", type=int, default=None, callback=_positive)
@click.option("--lr", type=float, default=None, callback=_positive)
@click.option(
    "--elbo-samples",
    type=int,
    default=None,
    callback=_positive,
    help="Posterior samples in the training ELBO.",
)
@click.option("--weight-decay", type=float, default=None)
@click.option("--kl-zero-epochs", type=float, default=None, help="Epochs with the KL weight at ~0.")
@click.option(
    "--kl-ramp-epochs", type=float, default=None, help="Epochs of the linear KL ramp to 1."
)
@click.option(
    "--patience",
    type=int,
    default=None,
    help="Epochs without validation improvement before the lr is divided.",
)
@click.option(
    "--early-stop",
    type=int,
    default=None,
    callback=_positive,
    help="Stop after N epochs in a row without a new best validation ELBO (counted once the "
    "KL weight is 1)  [default: off; run all epochs]",
)
@click.option(
    "--max-sequences",
    type=int,
    default=None,
    callback=_positive,
    help="Use only the first N train and valid sequences.",
)
@click.option("--hidden-size", type=int, default=None, callback=_positive)
@click.option("--latent-dim", type=int, default=None, callback=_positive)
@click.option("--flow-layers", type=int, default=None, callback=_positive)
@click.option("--transform", type=click.Choice(TRANSFORMS), default=None)
@click.option(
    "--hidden-flow",
    type=click.Choice(HIDDEN_FLOWS),
    default=None,
    help="Flow within a time step [default: the model's own].",
)
@click.option(
    "--dropout",
    type=float,
    default=None,
    help="Dropout outside the prior (encoder, emission, LSTM baseline).",
)
@click.option("--prior-dropout", type=float, default=None, help="Dropout on the prior's LSTM.")
@handle_errors
def train(
    dataset: str,
    model: str,
    preset_name: str,
    run_dir: Path | None,
    device: str,
    resume: bool,
    config_file: Path | None,
    data_dir: Path | None,
    no_progress: bool,
    threads: int | None,
    **overrides: Any,
) -> None:
    """Train a model on a dataset; checkpoints go to RUN_DIR (best.pt, last.pt)."""
    import torch

    from lnfmusic.data.dataset import load_dataset
    from lnfmusic.io.atomic import make_folder
    from lnfmusic.train.loop import train as run_training

    device = resolve_device(device)
    if threads is None and preset_name == "tiny":
        threads = 1  # tiny matrices: extra threads only add synchronisation
    if threads is not None:
        torch.set_num_threads(threads)
    data = load_dataset(dataset, data_dir)
    for note in getattr(data, "notes", []):
        stderr.print(f"note: {note}", soft_wrap=True)
    config = resolve_config(data.kind, model, preset_name, config_file, overrides)
    run_dir = make_folder(run_dir or default_run_dir(dataset, model, preset_name))
    what = "resuming" if resume else "training"
    stderr.print(
        f"{what} {model} on {dataset} ({preset_name} preset) on {device} -> {run_dir}",
        soft_wrap=True,
    )
    summary = run_training(
        config,
        data,
        run_dir,
        device=device,
        resume=resume,
        progress=not no_progress,
        console=stderr,
        epochs=overrides.get("epochs"),
    )
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
    stdout.print(f"best valid ELBO {unit}; checkpoint {summary['best']}", soft_wrap=True)
