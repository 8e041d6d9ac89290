"""Typed configuration: one dataclass per concern, presets by name, TOML files and
``key=value`` overrides.

- :class:`RunConfig`: a training run (dataset, preset, the family-tagged model config of
  :mod:`lnfmusic.model`, and :class:`TrainConfig`); saved in ``config.json`` and in every
  checkpoint.
- :class:`SampleConfig`, :class:`EvalConfig`: what generation and evaluation take.

Every field is declared with :func:`lnfmusic.options.option` (default, help, allowed
values), which is the single source of the CLI flags, of TOML parsing and of validation.
Priority when training: preset < TOML file < overrides.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lnfmusic import options
from lnfmusic.errors import LnfError
from lnfmusic.model import registry
from lnfmusic.model.config import DATA_FIELDS, ModelConfig
from lnfmusic.options import option

PRESETS = ("paper", "small", "tiny")
SEED_MAX = 2**63 - 1
# Upper bounds far beyond any useful value, so that a typo cannot start work that never ends
# or allocates without limit (every int is also 64-bit, every float finite: lnfmusic.options)
MAX_EPOCHS = 1_000_000
MAX_TRAIN_SAMPLES = 1_000  # posterior samples per sequence in each training/validation step
MAX_EVAL_SAMPLES = 100_000  # importance / ELBO samples per sequence in lnf evaluate
MAX_SAMPLES = 100_000  # pieces one lnf sample call generates
MAX_TEMPERATURE = 100.0
# format of the config dict: 1 = a flat LNF-style model dict with a "model" name (until
# lnfmusic 0.1.0's first releases); 2 = a family-tagged model dict ("family": ...)
CONFIG_VERSION = 2


def model_names() -> tuple[str, ...]:
    """Every ``--model`` name of the registered families."""
    return registry.model_names()


@dataclass
class TrainConfig:
    """Optimisation and schedule (SPEC 4)."""

    batch_size: int = option(32, "sequences per batch", ge=1)
    epochs: int = option(100, "number of epochs", ge=1, le=MAX_EPOCHS)
    lr: float = option(1e-3, "Adam learning rate", gt=0, le=10)
    weight_decay: float = option(0.0, "Adam weight decay", ge=0, le=10)
    clip: float = option(0.25, "gradient-norm clip", gt=0)
    elbo_samples: int = option(
        1, "posterior samples in the training ELBO", ge=1, le=MAX_TRAIN_SAMPLES
    )
    kl_zero_epochs: float = option(20.0, "epochs with the KL weight at ~0", ge=0, le=MAX_EPOCHS)
    kl_ramp_epochs: float = option(15.0, "epochs of the linear KL ramp to 1", ge=0, le=MAX_EPOCHS)
    kl_min_weight: float = option(1e-4, "the KL weight of the first phase", ge=0, le=1)
    patience: int = option(
        5, "epochs without validation improvement before the lr is divided", ge=1, le=MAX_EPOCHS
    )
    lr_decay: float = option(4.0, "divide the lr by this on a plateau", ge=1, le=1e6)
    min_lr: float = option(
        1e-5,
        "the lr is never decayed below this (an lr already below it is not decayed)",
        ge=0,
        le=10,
    )
    early_stop: int | None = option(
        None,
        "stop after N annealed epochs in a row without a new best (unset: off)",
        ge=1,
        le=MAX_EPOCHS,
    )
    eval_samples: int = option(
        1, "ELBO samples on the validation set each epoch", ge=1, le=MAX_TRAIN_SAMPLES
    )
    max_nonfinite: int = option(
        10, "consecutive non-finite batches tolerated before stopping", ge=0
    )
    max_sequences: int | None = option(None, "use only the first N train and valid sequences", ge=1)
    seed: int = option(0, "random seed", ge=0, le=SEED_MAX)

    def check(self) -> None:
        """Checks across fields, after the field-by-field ones (an :class:`LnfError`); none
        today (``min_lr`` above ``lr`` means the lr is never decayed)."""


@dataclass
class RunConfig:
    """Everything a run needs; saved as ``config.json`` in the run dir and in checkpoints."""

    dataset: str = "jsb"
    preset: str = "small"
    model: ModelConfig = field(default_factory=lambda: registry.config_for("af-af"))
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "preset": self.preset,
            "model": self.model.to_dict(),
            "train": dataclasses.asdict(self.train),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Rebuild from :meth:`to_dict` (older formats are upgraded first, see
        :func:`upgrade_config_dict`)."""
        d = upgrade_config_dict(d)
        return cls(
            dataset=d["dataset"],
            preset=d["preset"],
            model=registry.config_from_dict(d["model"]),
            train=_from_dict(TrainConfig, d["train"]),
        )

    def copy(self) -> RunConfig:
        return copy.deepcopy(self)

    def validate(self) -> None:
        """Check every field; the first bad one is an :class:`LnfError` naming it
        (``model.latent_dim``, ``train.lr``...)."""
        options.check(self.model, "model.")
        options.check(self.train, "train.")
        self.train.check()
        self.model.check()


def _from_dict(cls: type, d: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise KeyError(f"unknown {cls.__name__} option(s): {', '.join(sorted(unknown))}")
    return cls(**d)


def upgrade_config_dict(d: dict[str, Any]) -> dict[str, Any]:
    """A config dict of any earlier format in the current one (a new dict).

    Format 1 (checkpoints written before model families existed, including the shipped
    ``models/*.pt``) has a flat model dict whose ``"model"`` key names the model: ``lstm``
    becomes the ``lstm`` family (keeping its own fields, dropping the flow options it never
    used), any other name the ``lnf`` family with that ``prior``.
    """
    d = copy.deepcopy(d)
    model = d.get("model", {})
    if isinstance(model, dict) and "family" not in model and "model" in model:
        name = model.pop("model")
        family = registry.family_of(name)
        fields = {f.name for f in dataclasses.fields(family.config)}
        upgraded = {k: v for k, v in model.items() if k in fields}
        if family.name == "lnf":
            upgraded["prior"] = name
        d["model"] = {"family": family.name, **upgraded}
    return d


def _sizes(config: ModelConfig, **values: Any) -> None:
    """Set the given fields where the family has them (a preset speaks of sizes; each
    family takes those it has)."""
    names = {f.name for f in dataclasses.fields(config)}
    for key, value in values.items():
        if key in names:
            setattr(config, key, value)


# The small preset's music schedules: (epochs, KL-free epochs, KL-ramp epochs, lr patience).
# JSB's were chosen on its validation ELBO (AF/SCF; results/jsb_small_cpu.md): a long KL-free
# start (7.64 with KL ~0 for 10 epochs then a 10-epoch ramp, 7.28 with the paper's 20 + 15,
# 7.18 with 40 + 30, 7.28 with 60 + 40); patience 3 decayed the lr to its floor within ~12
# epochs of annealing (a noisy curve), so 10. The other sets keep JSB's schedule in
# *updates* at batch 8 (a KL-free start of ~1,100 updates, a ramp of ~900), since their
# sizes differ (training pieces: JSB 229, Nottingham 694, MuseData 524, Piano-midi 87);
# epochs and patience were then sized so that each run fits ~1.5 h on one core
# (results/table3_cpu.md has the runs and their validation curves).
SMALL_MUSIC_SCHEDULES: dict[str, tuple[int, float, float, int]] = {
    "jsb": (200, 40, 30, 10),  # 29 updates per epoch
    "nottingham": (80, 13, 10, 4),  # 87
    "musedata": (120, 17, 14, 4),  # 66
    "piano-midi": (300, 100, 80, 10),  # 11
}
KL_FREE_UPDATES, KL_RAMP_UPDATES, TOTAL_UPDATES, PATIENCE_UPDATES = 1_100, 900, 6_000, 300


def small_music_schedule(
    dataset: str | None, train_sequences: int | None, batch_size: int
) -> tuple[int, float, float, int]:
    """(epochs, KL-free epochs, KL-ramp epochs, patience) of the small preset for a music
    set: the table above for the named sets; for any other set with ``train_sequences``
    pieces, the same numbers of updates at ``batch_size`` (at least JSB's epochs when a
    set is as large as JSB or larger: JSB's schedule when nothing is known)."""
    if dataset in SMALL_MUSIC_SCHEDULES:
        return SMALL_MUSIC_SCHEDULES[dataset]
    if not train_sequences:
        return SMALL_MUSIC_SCHEDULES["jsb"]
    per_epoch = math.ceil(train_sequences / batch_size)
    kl_zero = max(1, round(KL_FREE_UPDATES / per_epoch))
    kl_ramp = max(1, round(KL_RAMP_UPDATES / per_epoch))
    epochs = max(kl_zero + kl_ramp + 10, math.ceil(TOTAL_UPDATES / per_epoch))
    return epochs, kl_zero, kl_ramp, max(3, round(PATIENCE_UPDATES / per_epoch))


def preset(
    name: str,
    dataset_kind: str = "music",
    model: str = "af-af",
    dataset: str | None = None,
    train_sequences: int | None = None,
) -> RunConfig:
    """The named preset for a kind of data (``"music"`` or ``"text"``) and ``--model`` name.

    - ``paper``: the sizes and schedules of LNF (all sizes 500, H=50, 5 flow layers; 3 for
      IAF/SCF on text; text: 10 ELBO samples, KL 4+10 epochs; music: 20+15 epochs).
    - ``small``: fits a 2-core CPU (a JSB run in well under an hour). Music schedules
      depend on the ``dataset`` (:func:`small_music_schedule`; ``train_sequences`` sizes
      those of sets not named there).
    - ``tiny``: seconds; for tests and smoke runs.
    """
    if name not in PRESETS:
        raise LnfError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    try:
        m = registry.config_for(model)
    except ValueError as e:
        raise LnfError(str(e)) from None
    text = dataset_kind == "text"
    t = TrainConfig()
    if name == "paper":
        if text:
            t.elbo_samples, t.kl_zero_epochs, t.kl_ramp_epochs = 10, 4, 10
            t.batch_size, t.epochs = 32, 40
        else:
            t.batch_size, t.epochs = 16, 150
    elif name == "small":
        _sizes(m, latent_dim=32, embed_dim=128, hidden_size=128, flow_hidden=128, flow_layers=3)
        # light dropout: 0.25 outside the prior hurt AF/AF on JSB and, with the KL schedule
        # below, AF/SCF too (results/jsb_small_cpu.md)
        _sizes(m, dropout=0.1, prior_dropout=0.2)
        t.batch_size = 8
        if text:
            t.epochs, t.kl_zero_epochs, t.kl_ramp_epochs = 10, 1, 3
            if dataset == "ptb":
                # ~5M characters: batch 8 would take an hour an epoch on one core; 64 keeps
                # ~650 updates per epoch, and 8 epochs fit ~1 h (results/table3_cpu.md)
                t.batch_size, t.epochs = 64, 8
        else:
            # weight decay against overfitting, chosen on JSB validation ELBO (AF/SCF; 7.15
            # at 1e-5, 6.97 at 3e-5; AF/AF worse at 1e-4; results/jsb_small_cpu.md)
            t.epochs, t.kl_zero_epochs, t.kl_ramp_epochs, t.patience = small_music_schedule(
                dataset, train_sequences, t.batch_size
            )
            t.weight_decay = 3e-5
    else:  # tiny
        _sizes(m, latent_dim=4, embed_dim=16, hidden_size=16, flow_hidden=16)
        _sizes(m, flow_layers=2, num_layers=1, prior_dropout=0.0)
        t.batch_size, t.epochs = 16, 2
        t.max_sequences = 64
        t.kl_zero_epochs, t.kl_ramp_epochs = 0.5, 1
    m.adapt_to_preset(name, dataset_kind)  # what a family changes for itself
    return RunConfig(preset=name, model=m, train=t)


# ----------------------------------------------------------------------------------------
# Setting options by name: TOML tables and key=value overrides


def settable(section: str, config: RunConfig) -> dict[str, options.Spec]:
    """The options a user may set in ``section`` (``model`` or ``train``) of ``config``:
    every field but the data fields (they come from the dataset) and the model's variant
    (the model name decides it)."""
    if section == "train":
        return {s.name: s for s in options.specs(TrainConfig)}
    fixed = {*DATA_FIELDS, config.model.variant_field}
    return {s.name: s for s in options.specs(type(config.model)) if s.name not in fixed}


def set_option(config: RunConfig, key: str, value: Any, *, text: bool = False) -> None:
    """Set ``key`` = ``"model.NAME"`` or ``"train.NAME"`` on ``config`` (in place), type-
    and range-checked; ``text`` values are parsed first (``"1e-3"``, ``"none"``). Raises
    ``ValueError`` naming the key."""
    section, _, name = key.partition(".")
    if section not in ("model", "train") or not name:
        raise ValueError(f"option {key!r}: expected model.NAME or train.NAME")
    known = settable(section, config)
    if name not in known:
        family = f" of the {config.model.family} family" if section == "model" else ""
        raise ValueError(
            f"unknown option {name!r} in [{section}]{family} (known: {', '.join(sorted(known))})"
        )
    try:
        options.set_field(
            config.model if section == "model" else config.train, name, value, text=text
        )
    except ValueError as e:
        raise ValueError(f"[{section}] {e}") from None


def apply_overrides(config: RunConfig, items: Iterable[str]) -> None:
    """Apply ``key=value`` strings (``train.lr=3e-4``, ``model.latent_dim=16``) in order."""
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise LnfError(f"override {item!r}: expected KEY=VALUE (e.g. train.lr=3e-4)")
        try:
            set_option(config, key.strip(), value, text=True)
        except ValueError as e:
            raise LnfError(f"override {item!r}: {e}") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """The tables of a TOML file (one-line :class:`LnfError` naming the file on failure)."""
    path = Path(path)
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise LnfError(
                "TOML config files need Python >= 3.11 or `pip install tomli`", path
            ) from None
    if path.exists() and not path.is_file() and not path.is_dir():
        raise LnfError("not a regular file (a device or a pipe)", path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise LnfError(f"cannot read config: {e}", path) from None
    except tomllib.TOMLDecodeError as e:
        raise LnfError(f"invalid TOML: {e}", path) from None


def apply_toml(config: RunConfig, path: str | Path) -> None:
    """Apply the ``[model]`` and ``[train]`` tables of a TOML file to ``config`` (in place).

    Unknown sections or keys, and values of the wrong type or range, are one-line errors
    naming the file.
    """
    for section, values in read_toml(path).items():
        if section not in ("model", "train") or not isinstance(values, dict):
            raise LnfError(f"unknown section [{section}] (expected [model] and [train])", path)
        for key, value in values.items():
            try:
                set_option(config, f"{section}.{key}", value)
            except ValueError as e:
                raise LnfError(str(e), path) from None


def explicit_options(
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    assignments: Iterable[str] = (),
) -> set[str]:
    """The ``section.name`` keys that a TOML file, ``overrides`` (non-None values) and
    ``key=value`` assignments set, as :func:`resolve_config` takes them (when resuming, the
    stored configuration wins except for what the user set explicitly)."""
    keys = {k for k, v in (overrides or {}).items() if v is not None}
    keys |= {item.partition("=")[0].strip() for item in assignments}
    if config_file is not None:
        for section, values in read_toml(config_file).items():
            if isinstance(values, dict):
                keys |= {f"{section}.{key}" for key in values}
    return keys


def resolve_config(
    dataset_kind: str,
    model: str,
    preset_name: str,
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    assignments: Iterable[str] = (),
    dataset: str | None = None,
    train_sequences: int | None = None,
) -> RunConfig:
    """preset (for ``dataset``, of ``train_sequences`` training sequences: see
    :func:`preset`) < TOML config file < ``overrides`` (``{"model.NAME" | "train.NAME":
    value}``; ``None`` values are not given) < ``assignments`` (``key=value`` strings);
    validated as a whole (checks across fields too), so that a bad combination fails before
    any file is written."""
    config = preset(preset_name, dataset_kind, model, dataset, train_sequences)
    config.model.data_kind = dataset_kind
    if config_file is not None:
        apply_toml(config, config_file)
    for key, value in (overrides or {}).items():
        if value is not None:
            try:
                set_option(config, key, value)
            except ValueError as e:
                raise LnfError(str(e)) from None
    apply_overrides(config, assignments)
    config.validate()
    return config


# ----------------------------------------------------------------------------------------
# Generation and evaluation


@dataclass
class SampleConfig:
    """What to generate: ``num`` sequences, sample ``i`` under seed ``seed + i`` (``seed``
    None: a fresh one is drawn and reported)."""

    num: int = option(1, "number of samples", ge=1, le=MAX_SAMPLES)
    length: int | None = option(None, "length T in steps [default: drawn from p(T)]", ge=1)
    temperature: float = option(
        1.0, "scale of the prior's base noise (LSTM: of the logits)", gt=0, le=MAX_TEMPERATURE
    )
    threshold: float | None = option(
        None, "play a note when p > threshold instead of sampling it", gt=0, lt=1
    )
    seed: int | None = option(
        None, "sample i uses seed + i [default: a fresh seed, printed]", ge=0, le=SEED_MAX
    )

    def validate(self) -> None:
        options.check(self)
        if self.seed is not None and self.seed + self.num - 1 > SEED_MAX:
            raise LnfError(f"seed: {self.seed} + num - 1 is beyond {SEED_MAX}")


@dataclass
class EvalConfig:
    """How to evaluate: splits, importance samples, batching, seed."""

    splits: tuple[str, ...] = ("test",)
    num_samples: int = option(50, "importance samples S per sequence", ge=1, le=MAX_EVAL_SAMPLES)
    elbo_samples: int = option(
        10, "samples for the ELBO, reconstruction and KL", ge=1, le=MAX_EVAL_SAMPLES
    )
    batch_size: int = option(16, "most sequences per batch", ge=1)
    max_elements: int = option(65_536, "most sample-steps (S_chunk x B x T) per forward pass", ge=1)
    seed: int = option(0, "random seed; the same seed gives the same numbers", ge=0, le=SEED_MAX)

    def validate(self) -> None:
        if not self.splits:
            raise LnfError("splits: name at least one split")
        for spec in options.specs(type(self)):
            if spec.name != "splits":
                try:
                    options.coerce(spec, getattr(self, spec.name))
                except ValueError as e:
                    raise LnfError(str(e)) from None
