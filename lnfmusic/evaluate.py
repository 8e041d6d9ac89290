"""Held-out likelihoods: importance-sampled NLL, ELBO, reconstruction and KL; result tables.

The importance-sampled estimate of ``log p(x | T)`` with ``S`` samples from ``q(z | x)``::

    log p̂(x | T) = logsumexp_s [log p(x | z_s) + log p(z_s | T) - log q(z_s | x)] - log S

is a stochastic lower bound that tightens as ``S`` grows; the ELBO is the ``S = 1`` case in
expectation. Samples are drawn in chunks and folded into a running logsumexp, so memory is
bounded by ``max_elements`` (sample-steps per forward pass) whatever ``S`` and ``T`` are.

Two normalisations (SPEC 5), both reported:

- *paper-comparable*: ``sum_i [-log p̂(x_i | T_i) - log p(T_i)] / sum_i (T_i + 1)`` — LNF counts
  the length as one extra predicted symbol;
- *per-frame*: ``sum_i -log p̂(x_i | T_i) / sum_i T_i`` (RNN-NADE, DMM, TCN).

Music is in nats per time step, text in bits per character (nats / ln 2).

References:
    Ziegler & Rush (2019), Section 6 and Table 3; Burda et al. (2016) for the IS bound.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from torch import Tensor, nn

from lnfmusic.data.batching import Batch, make_batch
from lnfmusic.data.dataset import SequenceDataset
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.errors import LnfError

LN2 = math.log(2.0)
DEFAULT_MAX_ELEMENTS = 65_536  # sample-steps (S_chunk * B * T_max) per forward pass

# Columns of the grid, in the paper's order, and how our dataset names map onto them.
DATASET_COLUMNS = {
    "nottingham": "Nottingham",
    "piano-midi": "Piano",
    "musedata": "MuseData",
    "jsb": "JSB",
    "ptb": "PTB (bpc)",
}
MODEL_LABELS = {
    "af-af": "LNF AF/AF",
    "af-scf": "LNF AF/SCF",
    "iaf-scf": "LNF IAF/SCF",
    "af-only": "LNF AF-only",
    "lstm": "LSTM",
}


# ----------------------------------------------------------------------------------------
# Results


@dataclass
class SplitResult:
    """Sums over the sequences of one split (nats); the normalised numbers are derived.

    ``samples`` is the number of importance samples ``S``, or ``None`` when the model's
    likelihood is exact (the LSTM baseline).
    """

    split: str
    num_sequences: int
    num_steps: int  # sum of T
    samples: int | None
    elbo_samples: int | None
    nll: float  # sum -log p̂(x | T)
    neg_elbo: float  # sum -ELBO
    neg_recon: float  # sum -E_q log p(x | z)
    kl: float  # sum E_q[log q - log p(z)]
    neg_log_length: float  # sum -log p(T)
    kind: str = "music"

    @property
    def unit(self) -> str:
        return "bpc" if self.kind == "text" else "nats/step"

    def _scale(self) -> float:
        return 1.0 / LN2 if self.kind == "text" else 1.0

    def paper(self, total: float) -> float:
        """``(total + sum -log p(T)) / sum (T + 1)`` in the split's unit."""
        return (total + self.neg_log_length) / (self.num_steps + self.num_sequences) * self._scale()

    def frame(self, total: float) -> float:
        """``total / sum T`` in the split's unit."""
        return total / self.num_steps * self._scale()

    def metrics(self) -> dict[str, float]:
        """Every reported number, in the split's unit."""
        return {
            "nll_paper": self.paper(self.nll),
            "nll_frame": self.frame(self.nll),
            "neg_elbo_paper": self.paper(self.neg_elbo),
            "neg_elbo_frame": self.frame(self.neg_elbo),
            "recon_frame": self.frame(self.neg_recon),
            "kl_frame": self.frame(self.kl),
            "length_paper": self.neg_log_length
            / (self.num_steps + self.num_sequences)
            * self._scale(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "unit": self.unit,
            "samples": "exact" if self.samples is None else self.samples,
            "elbo_samples": "exact" if self.elbo_samples is None else self.elbo_samples,
            "num_sequences": self.num_sequences,
            "num_steps": self.num_steps,
            **self.metrics(),
            "sums_nats": {
                "nll": self.nll,
                "neg_elbo": self.neg_elbo,
                "neg_recon": self.neg_recon,
                "kl": self.kl,
                "neg_log_length": self.neg_log_length,
            },
        }


@dataclass
class EvalResult:
    """The evaluation of one checkpoint: metadata plus one :class:`SplitResult` per split."""

    checkpoint: str
    dataset: str
    kind: str
    model: str
    preset: str
    seed: int
    splits: dict[str, SplitResult] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{MODEL_LABELS.get(self.model, self.model)} (ours, {self.preset})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "dataset": self.dataset,
            "kind": self.kind,
            "model": self.model,
            "preset": self.preset,
            "seed": self.seed,
            "splits": {name: r.to_dict() for name, r in self.splits.items()},
        }


# ----------------------------------------------------------------------------------------
# Estimation


class LogMeanExp:
    """Running ``logsumexp_s w_s - log S`` over chunks of log-weights ``(S_chunk, B)``."""

    def __init__(self) -> None:
        self.lse: Tensor | None = None
        self.count = 0
        self.total: Tensor | None = None  # running sum of w, for the ELBO-style mean

    def add(self, w: Tensor) -> None:
        w = w.double()
        chunk = torch.logsumexp(w, 0)
        self.lse = chunk if self.lse is None else torch.logaddexp(self.lse, chunk)
        s = w.sum(0)
        self.total = s if self.total is None else self.total + s
        self.count += w.shape[0]

    def value(self) -> Tensor:
        """``log mean_s exp(w_s)`` per sequence, ``(B,)``."""
        if self.lse is None:
            raise ValueError("no log-weights added")
        return self.lse - math.log(self.count)

    def mean(self) -> Tensor:
        """``mean_s w_s`` per sequence, ``(B,)``."""
        if self.total is None:
            raise ValueError("no log-weights added")
        return self.total / self.count


def is_exact(model: nn.Module) -> bool:
    """True for models whose ``log_weights`` is the exact ``log p(x | T)`` (LSTM baseline)."""
    cfg = getattr(model, "config", None)
    return getattr(cfg, "model", None) == "lstm" or bool(getattr(model, "exact", False))


def budget_batches(
    seqs: Sequence[np.ndarray], batch_size: int, max_elements: int
) -> Iterator[Batch]:
    """Length-sorted batches of at most ``batch_size`` sequences and (when more than one)
    at most ``max_elements`` padded steps, so long pieces are evaluated a few at a time."""
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    chunk: list[int] = []
    for i in order:
        longest = len(seqs[chunk[0]]) if chunk else len(seqs[i])
        if chunk and (len(chunk) >= batch_size or (len(chunk) + 1) * longest > max_elements):
            yield make_batch([seqs[j] for j in chunk], chunk)
            chunk = []
        chunk.append(i)
    if chunk:
        yield make_batch([seqs[j] for j in chunk], chunk)


def sample_chunk(batch: Batch, max_elements: int) -> int:
    """Samples per forward pass so that ``S_chunk * B * T_max <= max_elements`` (at least 1)."""
    return max(1, max_elements // (len(batch) * int(batch.lengths.max())))


@torch.no_grad()
def evaluate_batch(
    model: nn.Module, batch: Batch, num_samples: int, elbo_samples: int, max_elements: int
) -> dict[str, Tensor]:
    """Per-sequence ``log p̂(x|T)``, ELBO, recon and KL (nats, ``(B,)``, float64) on one batch.

    The IS-NLL uses ``num_samples`` draws from q; ELBO, recon and KL use ``elbo_samples``
    separate draws (``elbo_terms``), both in chunks of at most ``max_elements`` sample-steps.
    """
    if is_exact(model):
        log_p = model.log_weights(batch, 1)[0].double()
        return {"log_p": log_p, "elbo": log_p, "recon": log_p, "kl": torch.zeros_like(log_p)}
    chunk = sample_chunk(batch, max_elements)
    acc = LogMeanExp()
    done = 0
    while done < num_samples:
        s = min(chunk, num_samples - done)
        w = model.log_weights(batch, s)
        acc.add(w)
        done += s
        if w.shape[0] == 1 and s > 1:  # an exact model that does not say so: one is enough
            break
    recon = torch.zeros(len(batch), dtype=torch.float64, device=batch.x.device)
    kl = torch.zeros_like(recon)
    done = 0
    while done < elbo_samples:
        s = min(chunk, elbo_samples - done)
        terms = model.elbo_terms(batch, s)
        recon += terms["recon"].double() * s
        kl += terms["kl"].double() * s
        done += s
    recon, kl = recon / elbo_samples, kl / elbo_samples
    return {"log_p": acc.value(), "elbo": recon - kl, "recon": recon, "kl": kl}


def _model_device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _progress(console: Console | None, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=not enabled,
        transient=True,
    )


def evaluate_checkpoint(
    model: nn.Module,
    ckpt: dict[str, Any],
    dataset: SequenceDataset,
    split: str | Sequence[str] = "test",
    num_samples: int = 50,
    batch_size: int = 16,
    seed: int = 0,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    elbo_samples: int = 10,
    progress: bool = False,
    console: Console | None = None,
    checkpoint_name: str = "",
) -> EvalResult:
    """Evaluate ``model`` (built from ``ckpt``) on one or more splits of ``dataset``.

    Args:
        model: a SequenceModel (``log_weights``, ``elbo_terms``), already on its device.
        ckpt: the checkpoint dict; its ``dataset.length_prior`` gives p(T) and its config
            the model name and preset.
        split: ``"test"``, ``"valid"`` (or ``"train"``), or several of them.
        num_samples: S, importance samples per sequence (ignored by exact models).
        batch_size: the most sequences evaluated together.
        seed: the random seed; the same seed gives identical numbers. The global RNG state
            is restored afterwards.
        max_elements: the most sample-steps (``S_chunk * B * T_max``) per forward pass.
        elbo_samples: samples for the ELBO, reconstruction and KL.
    """
    if num_samples < 1 or elbo_samples < 1:
        raise LnfError(f"--samples must be at least 1 (got {num_samples})")
    if batch_size < 1 or max_elements < 1:
        raise LnfError("batch size and max elements must be positive")
    splits = [split] if isinstance(split, str) else list(split)
    try:
        prior = LengthPrior.from_dict(ckpt["dataset"]["length_prior"])
        config = ckpt["config"]
        model_name, preset = config["model"]["model"], config.get("preset", "?")
    except (KeyError, TypeError) as e:
        raise LnfError(
            f"checkpoint lacks {e} (not a complete lnfmusic checkpoint)", checkpoint_name or None
        ) from None
    result = EvalResult(checkpoint_name, dataset.name, dataset.kind, model_name, preset, seed)
    exact = is_exact(model)
    device = _model_device(model)
    was_training = model.training
    model.eval()
    cuda = (
        [device.index if device.index is not None else torch.cuda.current_device()]
        if device.type == "cuda"
        else []
    )
    try:
        with torch.random.fork_rng(devices=cuda), _progress(console, progress) as bar:
            for name in splits:
                if name not in dataset.splits:
                    raise LnfError(f"no split {name!r} in dataset {dataset.name}", dataset.source)
                seqs = dataset.splits[name]
                if not seqs:
                    raise LnfError(f"split {name!r} of {dataset.name} is empty", dataset.source)
                torch.manual_seed(seed)
                batches = list(budget_batches(seqs, batch_size, max_elements))
                task = bar.add_task(f"{name} ({model_name})", total=len(batches))
                sums = dict.fromkeys(("nll", "neg_elbo", "neg_recon", "kl", "len"), 0.0)
                steps = 0
                for batch in batches:
                    out = evaluate_batch(
                        model, batch.to(device), num_samples, elbo_samples, max_elements
                    )
                    log_pt = prior.log_prob(batch.lengths).double()
                    sums["nll"] -= float(out["log_p"].sum())
                    sums["neg_elbo"] -= float(out["elbo"].sum())
                    sums["neg_recon"] -= float(out["recon"].sum())
                    sums["kl"] += float(out["kl"].sum())
                    sums["len"] -= float(log_pt.sum())
                    steps += int(batch.lengths.sum())
                    bar.advance(task)
                result.splits[name] = SplitResult(
                    split=name,
                    num_sequences=len(seqs),
                    num_steps=steps,
                    samples=None if exact else num_samples,
                    elbo_samples=None if exact else elbo_samples,
                    nll=sums["nll"],
                    neg_elbo=sums["neg_elbo"],
                    neg_recon=sums["neg_recon"],
                    kl=sums["kl"],
                    neg_log_length=sums["len"],
                    kind=dataset.kind,
                )
    finally:
        model.train(was_training)
    return result


# ----------------------------------------------------------------------------------------
# Reference numbers and tables


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
    for name, value in ptb.items():
        table.setdefault(name, {})["PTB (bpc)"] = value
    return table


def _fmt(x: float) -> str:
    return f"{x:.3f}" if math.isfinite(x) else str(x)


def result_table(result: EvalResult) -> Table:
    """One checkpoint: a row per split with both normalisations of NLL and ELBO."""
    unit = "bpc" if result.kind == "text" else "nats/step"
    table = Table(title=f"{result.label} on {result.dataset} — {result.checkpoint} ({unit})")
    for col in (
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
    ):
        table.add_column(col, justify="left" if col == "split" else "right")
    for r in result.splits.values():
        m = r.metrics()
        table.add_row(
            r.split,
            "exact" if r.samples is None else str(r.samples),
            str(r.num_sequences),
            str(r.num_steps),
            _fmt(m["nll_paper"]),
            _fmt(m["nll_frame"]),
            _fmt(m["neg_elbo_paper"]),
            _fmt(m["neg_elbo_frame"]),
            _fmt(m["recon_frame"]),
            _fmt(m["kl_frame"]),
        )
    table.caption = (
        "paper = sum[-log p(x|T) - log p(T)] / sum(T+1); per-frame = sum -log p(x|T) / sum T"
    )
    return table


def grid_rows(results: Sequence[EvalResult], split: str = "test") -> dict[str, dict[str, float]]:
    """Our rows of the grid: ``label -> column -> paper-comparable IS-NLL`` on ``split``."""
    rows: dict[str, dict[str, float]] = {}
    for r in results:
        if split not in r.splits:
            continue
        column = DATASET_COLUMNS.get(r.dataset, r.dataset)
        label = r.label
        if column in rows.get(label, {}):  # two checkpoints of one model on one dataset
            label = f"{label} [{r.checkpoint}]"
        rows.setdefault(label, {})[column] = r.splits[split].metrics()["nll_paper"]
    return rows


def grid_table(
    results: Sequence[EvalResult], split: str = "test", with_reference: bool = True
) -> Table:
    """The layout of the paper's Table 3: rows = models, columns = datasets; the paper's
    rows first (dim), ours below; paper-comparable IS-NLL on ``split``."""
    ours = grid_rows(results, split)
    columns = [c for c in DATASET_COLUMNS.values() if any(c in row for row in ours.values())]
    columns += sorted({c for row in ours.values() for c in row} - set(columns))
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


def results_json(results: Sequence[EvalResult], splits: str | Sequence[str] = "test") -> str:
    """The same numbers as the tables, as JSON text: every result, our grid rows per split
    (``grid.splits[split][row][column]``, paper-comparable IS-NLL) and the paper's rows."""
    splits = [splits] if isinstance(splits, str) else list(splits)
    doc = {
        "results": [r.to_dict() for r in results],
        "grid": {"normalisation": "paper", "splits": {s: grid_rows(results, s) for s in splits}},
        "reference": reference_table(),
    }
    return json.dumps(doc, indent=2, allow_nan=True) + "\n"
