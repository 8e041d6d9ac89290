"""Checkpoints: one dict of plain types and tensors, written atomically; and the typed
bundle (model, config, dataset record, p(T)) that evaluation and sampling load.

Loadable with ``torch.load(path, weights_only=True)`` (only tensors, dicts, lists, str,
int, float, bool and None inside). Layout (format version 2)::

    {"format": "lnfmusic-checkpoint", "format_version": 2, "version": package version,
     "config": RunConfig dict (model dict tagged with its "family"),
     "dataset": {"name", "kind", "meta", "length_prior"}, "model": state_dict,
     "optimizer": state_dict, "scheduler": PlateauSchedule dict, "epoch": epochs done,
     "step": optimizer steps, "best_valid": best validation nats/step,
     "seconds": cumulative training wall time,
     "rng": {"torch", "numpy", "python"[, "cuda"]}}

Migration: a checkpoint without ``"format_version"`` is format 1 (everything written before
model families existed, including the shipped ``models/*.pt``). :func:`load_checkpoint`
upgrades it in memory (:func:`migrate`): only the config changes (its flat model dict
becomes a family-tagged one, :func:`lnfmusic.config.upgrade_config_dict`); the weights'
names are the same in both formats. The file itself is never rewritten.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lnfmusic import __version__
from lnfmusic.config import RunConfig, upgrade_config_dict
from lnfmusic.data.dataset import SequenceDataset
from lnfmusic.data.length_prior import MUSIC_EXTEND, MUSIC_SMOOTHING, LengthPrior
from lnfmusic.errors import LnfError, first_line
from lnfmusic.io.atomic import atomic_path, check_not_inputs
from lnfmusic.model.base import SequenceModel
from lnfmusic.model.registry import build_model

FORMAT = "lnfmusic-checkpoint"
FORMAT_VERSION = 2
# what a load needs: to rebuild the model (every checkpoint, exports included) and, to
# continue training, the optimiser, schedule, position and RNG states
MODEL_KEYS = ("config", "dataset", "model")
DATASET_KEYS = ("name", "kind", "length_prior")
TRAINING_KEYS = ("optimizer", "scheduler", "epoch", "step", "rng")


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus format and version fields) atomically to ``path``."""
    with atomic_path(path) as tmp:
        write_checkpoint(tmp, state)


def write_checkpoint(file: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus format and version fields) to ``file`` as it is: the temporary
    file of an :func:`~lnfmusic.io.atomic.atomic_path`."""
    state = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": __version__, **state}
    try:
        torch.save(state, file)
    except RuntimeError as e:  # torch's zip writer reports a full disk as RuntimeError
        raise OSError(f"torch.save failed: {first_line(e, 120)}") from e


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint; any other file gives a one-line :class:`LnfError`."""
    path = Path(path)
    if not path.is_file():
        raise LnfError("checkpoint not found", path)
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols of foreign files
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch.load fails in many ways on foreign bytes (struct, index...)
        reason = _load_failure(e)
        if isinstance(e, KeyError | IndexError) and not _looks_like_torch(path):
            reason = "not a file torch.save writes: neither a zip archive nor a pickle"
        raise LnfError(f"not a readable lnfmusic checkpoint ({reason})", path) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise LnfError("not an lnfmusic checkpoint (no 'format: lnfmusic-checkpoint' field)", path)
    return migrate(ckpt, path)


def check_keys(ckpt: dict[str, Any], path: str | Path | None, *, training: bool = False) -> None:
    """Refuse (one line naming what is missing) a checkpoint without the structure a load
    needs: an edited or partial file, or, with ``training``, a sampling-only export."""
    missing = [k for k in MODEL_KEYS if k not in ckpt]
    record = ckpt.get("dataset")
    if isinstance(record, dict):
        missing += [f"dataset.{k}" for k in DATASET_KEYS if k not in record]
    elif "dataset" in ckpt:
        missing.append("dataset (a record)")
    if "config" in ckpt and not isinstance(ckpt["config"], dict):
        missing.append("config (a dict)")
    weights = ckpt.get("model", {})
    if not isinstance(weights, dict) or not all(
        isinstance(v, torch.Tensor) for v in weights.values()
    ):
        missing.append("model (a dict of tensors)")
    if training:
        # "schedule" is the scheduler's name in checkpoints of the first versions
        have = set(ckpt) | ({"scheduler"} if "schedule" in ckpt else set())
        missing += [k for k in TRAINING_KEYS if k not in have]
    if missing:
        export = training and "exported_from" in ckpt
        why = (
            "a sampling-only export (lnf export) cannot be resumed"
            if export
            else "edited or partial?"
        )
        raise LnfError(f"checkpoint lacks {', '.join(missing)} ({why})", path)


def migrate(ckpt: dict[str, Any], path: str | Path | None = None) -> dict[str, Any]:
    """``ckpt`` in the current format (see the module docstring); a newer format than this
    version knows is an :class:`LnfError`."""
    version = ckpt.get("format_version", 1)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise LnfError(
            f"checkpoint format {version!r} is newer than this lnfmusic "
            f"({__version__}, format {FORMAT_VERSION}) reads; upgrade lnfmusic",
            path,
        )
    if version == 1 and isinstance(ckpt.get("config"), dict):
        try:
            config = upgrade_config_dict(ckpt["config"])
        except (KeyError, ValueError, TypeError) as e:
            raise LnfError(f"checkpoint config cannot be upgraded ({e})", path) from None
        ckpt = {**ckpt, "config": config, "format_version": FORMAT_VERSION}
    return ckpt


def _looks_like_torch(path: Path) -> bool:
    """Whether ``path`` starts as torch.save's files do: a zip archive, or (the legacy
    format) a pickle."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head.startswith((b"PK\x03\x04", b"\x80"))


def _load_failure(e: Exception) -> str:
    """A short reason from torch.load's (often very long) exception."""
    text = str(e).strip()
    if text.startswith("Weights only load failed"):
        # torch's advice (load with weights_only=False) must never be passed on: name what
        # was found instead. The reason is the paragraph that is not torch's boilerplate.
        text = text.split("WeightsUnpickler error:", 1)[-1]
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        found = [
            p
            for p in paragraphs
            if not p.startswith(("Weights only load failed", "Check the documentation"))
            and "weights_only" not in p
        ]
        # its first sentence only: the rest is torch's advice on allow-listing the object
        reason = found[0].splitlines()[0].split(". ")[0].rstrip(".") if found else "objects"
        return (
            f"not a safe checkpoint: it holds more than tensors and plain data ({reason}); "
            "lnfmusic never runs code from a checkpoint"
        )
    return first_line(e, 120)


@dataclass
class DatasetInfo:
    """What a model knows of its data: name, kind (``music`` | ``text``), metadata
    (vocabulary, pitch offset, steps per beat) and the length model p(T)."""

    name: str
    kind: str
    meta: dict[str, Any]
    length_prior: LengthPrior

    @classmethod
    def of(cls, dataset: SequenceDataset, length_prior: LengthPrior) -> DatasetInfo:
        return cls(dataset.name, dataset.kind, dataset.meta, length_prior)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "meta": self.meta,
            "length_prior": self.length_prior.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetInfo:
        # a record without its prior's rule predates issue 15: music was add-one over 1.25 x
        # the longest, text the plain histogram
        rule = (MUSIC_SMOOTHING, MUSIC_EXTEND) if d["kind"] == "music" else (0.0, 1.0)
        return cls(
            str(d["name"]),
            str(d["kind"]),
            d.get("meta", {}),
            LengthPrior.from_dict(d["length_prior"], *rule),
        )


@dataclass
class ModelBundle:
    """A trained model with everything needed to evaluate or sample it."""

    model: SequenceModel
    config: RunConfig
    dataset: DatasetInfo
    path: Path | None = None
    checkpoint: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """The model's ``--model`` name (``af-scf``, ``lstm``...)."""
        return self.config.model.name


def load_model(path: str | Path, device: str | torch.device = "cpu") -> ModelBundle:
    """Rebuild the model stored in a checkpoint from its config, on ``device`` in eval mode,
    with its config and dataset record. Anything that does not fit is a one-line
    :class:`LnfError` naming the file."""
    path = Path(path)
    ckpt = load_checkpoint(path, "cpu")
    check_keys(ckpt, path)
    try:
        dataset = DatasetInfo.from_dict(ckpt["dataset"])
    except (KeyError, ValueError, TypeError) as e:
        raise LnfError(f"checkpoint's dataset record is damaged ({first_line(e)})", path) from None
    try:
        config = RunConfig.from_dict(ckpt["config"])
        model = build_model(config.model)
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise LnfError(
            f"checkpoint does not match this version's models ({first_line(e)})", path
        ) from None
    _refuse_non_finite(non_finite_parameters(model), path)
    return ModelBundle(model.to(device).eval(), config, dataset, path, ckpt)


def non_finite_parameters(model: torch.nn.Module) -> list[str]:
    """Names of the parameters holding a NaN or an infinity."""
    return non_finite_tensors(dict(model.named_parameters()))


def non_finite_tensors(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors holding a NaN or an infinity."""
    return [k for k, v in tensors.items() if v.is_floating_point() and not v.isfinite().all()]


def _refuse_non_finite(
    names: list[str], path: str | Path, why: str = "the run that wrote it diverged"
) -> None:
    if names:
        more = ", ..." if len(names) > 3 else ""
        raise LnfError(
            f"checkpoint has non-finite weights ({', '.join(names[:3])}{more}): {why}", path
        )


def export_checkpoint(src: str | Path, dst: str | Path, half: bool = False) -> dict[str, Any]:
    """Write a sampling/evaluation-only copy of a checkpoint: no optimizer or RNG state,
    optionally with float16 weights (restored to float32 when loaded). Returns the new dict."""
    check_not_inputs([dst], [src])
    ckpt = load_checkpoint(src)
    check_keys(ckpt, src)
    _refuse_non_finite(non_finite_tensors(ckpt["model"]), src)
    weights = {
        k: (v.half() if half and v.is_floating_point() else v) for k, v in ckpt["model"].items()
    }
    _refuse_non_finite(
        non_finite_tensors(weights),
        src,
        "beyond float16's range after --half; export without it",
    )
    floats = {v.dtype for v in weights.values() if v.is_floating_point()}
    keep = ("config", "dataset", "epoch", "step", "best_valid")
    state = {k: ckpt[k] for k in keep if k in ckpt}
    state.update(
        model=weights,
        exported_from=str(src),
        weights_dtype="float16" if floats == {torch.float16} else "float32",
    )
    save_checkpoint(dst, state)
    return state
