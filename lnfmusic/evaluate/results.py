"""Evaluation results: sums over the sequences of a split (nats), and both normalisations.

- *paper-comparable*: ``sum_i [-log p̂(x_i | T_i) - log p(T_i)] / sum_i (T_i + 1)`` — LNF
  counts the length as one extra predicted symbol;
- *per-frame*: ``sum_i -log p̂(x_i | T_i) / sum_i T_i`` (RNN-NADE, DMM, TCN).

Music is in nats per time step (a step is all 88 keys at one instant, not one note), text in
bits per character (nats / ln 2). For music a third number, *per sounding note*
(``sum_i -log p̂(x_i | T_i) / number of keys sounding over all steps``), is reported beside
them, clearly labelled: it is what people often mean by "nats per note", and it is not
comparable with the papers' tables. This is the one
implementation of both: the training loop's validation number is
:meth:`SplitResult.paper_nats` of its ``neg_elbo_with_length``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from lnfmusic.evaluate.reference import MODEL_LABELS

LN2 = math.log(2.0)


@dataclass
class SplitResult:
    """Sums over the sequences of one split, accumulated batch by batch with :meth:`add`.

    ``samples`` is the number of importance samples ``S`` (``None``: the model's likelihood
    is exact, or no IS estimate was made); ``elbo_samples`` likewise for the ELBO.
    The ``*_with_length`` sums include ``-log p(T)`` per sequence (the paper's numerators).
    """

    split: str
    kind: str = "music"
    samples: int | None = None
    elbo_samples: int | None = None
    num_sequences: int = 0
    num_steps: int = 0  # sum of T
    num_notes: int = 0  # music: keys sounding, summed over every step (0: not counted)
    nll: float = 0.0  # sum -log p̂(x | T)
    neg_elbo: float = 0.0  # sum -ELBO
    neg_recon: float = 0.0  # sum -E_q log p(x | z)
    kl: float = 0.0  # sum E_q[log q - log p(z)]
    neg_log_length: float = 0.0  # sum -log p(T)
    nll_with_length: float = 0.0  # sum [-log p̂(x | T) - log p(T)]
    neg_elbo_with_length: float = 0.0  # sum [-ELBO - log p(T)]
    # sequences whose length p(T) gives no mass (beyond its support, or never seen by an
    # unsmoothed histogram of an older text checkpoint): their -log p(T)
    # is inf, and so are the paper-normalised sums; the per-frame ones include them
    impossible_lengths: int = 0

    def add(
        self,
        lengths: Tensor,
        log_length: Tensor,
        recon: Tensor,
        kl: Tensor,
        log_p: Tensor | None = None,
    ) -> None:
        """Fold in one batch: ``lengths`` ``(B,)``, ``log p(T)`` ``(B,)`` float64 on the CPU,
        the ELBO's parts ``recon`` and ``kl`` ``(B,)`` and, when estimated, ``log p̂(x | T)``
        ``(B,)``. Sums are taken in the terms' own dtype, then in Python floats."""
        elbo = (recon - kl).double().cpu()
        self.neg_elbo_with_length += float((-elbo - log_length).sum())
        self.neg_elbo -= float(elbo.sum())
        self.neg_recon -= float(recon.sum())
        self.kl += float(kl.sum())
        self.neg_log_length -= float(log_length.sum())
        if log_p is not None:
            log_p = log_p.double().cpu()
            self.nll_with_length += float((-log_p - log_length).sum())
            self.nll -= float(log_p.sum())
        self.num_steps += int(lengths.sum())
        self.num_sequences += int(lengths.numel())
        self.impossible_lengths += int((log_length == -math.inf).sum())

    _SUMS = (
        "nll",
        "neg_elbo",
        "neg_recon",
        "kl",
        "neg_log_length",
        "nll_with_length",
        "neg_elbo_with_length",
    )

    def all_reduce(self, device: torch.device | str = "cpu") -> None:
        """Add up the sums of every process of a data-parallel run (each having folded in
        its own share of the batches), in place; nothing to do with one process."""
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return
        counts = [self.num_sequences, self.num_steps, self.impossible_lengths]
        values = [getattr(self, k) for k in self._SUMS] + counts
        total = torch.tensor(values, dtype=torch.float64, device=device)  # counts exact < 2**53
        dist.all_reduce(total)
        *sums, sequences, steps, impossible = total.tolist()
        for k, v in zip(self._SUMS, sums, strict=True):
            setattr(self, k, v)
        self.num_sequences, self.num_steps = int(sequences), int(steps)
        self.impossible_lengths = int(impossible)

    @property
    def unit(self) -> str:
        return "bpc" if self.kind == "text" else "nats/step"

    def _scale(self) -> float:
        return 1.0 / LN2 if self.kind == "text" else 1.0

    @property
    def paper_steps(self) -> int:
        """``sum (T + 1)``, the paper's denominator."""
        return self.num_steps + self.num_sequences

    def paper_nats(self, total_with_length: float) -> float:
        """``total_with_length / sum (T + 1)`` in nats."""
        return total_with_length / max(self.paper_steps, 1)

    def paper(self, total_with_length: float) -> float:
        """``total_with_length / sum (T + 1)`` in the split's unit."""
        return self.paper_nats(total_with_length) * self._scale()

    def frame(self, total: float) -> float:
        """``total / sum T`` in the split's unit."""
        return total / max(self.num_steps, 1) * self._scale()

    def note(self, total: float) -> float:
        """``total / num_notes`` in nats (music; NaN where notes were not counted)."""
        return total / self.num_notes if self.num_notes else math.nan

    def metrics(self) -> dict[str, float]:
        """Every reported number, in the split's unit (``*_note``: music only)."""
        per_note = (
            {"nll_note": self.note(self.nll), "neg_elbo_note": self.note(self.neg_elbo)}
            if self.kind == "music"
            else {}
        )
        return {
            "nll_paper": self.paper(self.nll_with_length),
            "nll_frame": self.frame(self.nll),
            "neg_elbo_paper": self.paper(self.neg_elbo_with_length),
            "neg_elbo_frame": self.frame(self.neg_elbo),
            "recon_frame": self.frame(self.neg_recon),
            "kl_frame": self.frame(self.kl),
            "length_paper": self.paper(self.neg_log_length),
            **per_note,
        }

    def to_dict(self) -> dict[str, Any]:
        impossible = (
            {"impossible_lengths": self.impossible_lengths} if self.impossible_lengths else {}
        )
        return {
            "split": self.split,
            "unit": self.unit,
            "samples": "exact" if self.samples is None else self.samples,
            "elbo_samples": "exact" if self.elbo_samples is None else self.elbo_samples,
            "num_sequences": self.num_sequences,
            "num_steps": self.num_steps,
            **({"num_notes": self.num_notes} if self.kind == "music" else {}),
            **impossible,
            **self.metrics(),
            "sums_nats": {
                "nll": self.nll,
                "neg_elbo": self.neg_elbo,
                "neg_recon": self.neg_recon,
                "kl": self.kl,
                "neg_log_length": self.neg_log_length,
                "nll_with_length": self.nll_with_length,
                "neg_elbo_with_length": self.neg_elbo_with_length,
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SplitResult:
        """Rebuild from :meth:`to_dict` (raises ``KeyError``/``ValueError``/``TypeError`` on
        anything else). JSON written before the ``*_with_length`` sums were stored gets them
        as ``nll + neg_log_length`` (equal up to float rounding)."""
        sums = d["sums_nats"]

        def count(value: Any) -> int | None:
            return None if value == "exact" else int(value)

        r = cls(
            split=str(d["split"]),
            kind="text" if d["unit"] == "bpc" else "music",
            samples=count(d["samples"]),
            elbo_samples=count(d["elbo_samples"]),
            num_sequences=int(d["num_sequences"]),
            num_steps=int(d["num_steps"]),
            num_notes=int(d.get("num_notes", 0)),
            impossible_lengths=int(d.get("impossible_lengths", 0)),
        )
        for key in ("nll", "neg_elbo", "neg_recon", "kl", "neg_log_length"):
            setattr(r, key, float(sums[key]))
        r.nll_with_length = float(sums.get("nll_with_length", r.nll + r.neg_log_length))
        r.neg_elbo_with_length = float(
            sums.get("neg_elbo_with_length", r.neg_elbo + r.neg_log_length)
        )
        return r


@dataclass
class EvalResult:
    """The evaluation of one checkpoint: metadata plus one :class:`SplitResult` per split."""

    checkpoint: str
    dataset: str
    kind: str
    model: str
    preset: str
    seed: int
    variant: str = ""  # what sets the model apart within its family (ModelConfig.variant)
    splits: dict[str, SplitResult] = field(default_factory=dict)
    length_model: str = ""  # the p(T) used, in words (LengthPrior.describe)

    @property
    def label(self) -> str:
        details = ", ".join(d for d in (self.preset, self.variant) if d)
        return f"{MODEL_LABELS.get(self.model, self.model)} (ours, {details})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "dataset": self.dataset,
            "kind": self.kind,
            "model": self.model,
            "preset": self.preset,
            "seed": self.seed,
            "variant": self.variant,
            "length_model": self.length_model,
            "splits": {name: r.to_dict() for name, r in self.splits.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalResult:
        """Rebuild from :meth:`to_dict` (one entry of ``lnf evaluate --json``'s
        ``results``); raises ``KeyError``/``ValueError``/``TypeError`` on anything else."""
        return cls(
            checkpoint=str(d["checkpoint"]),
            dataset=str(d["dataset"]),
            kind=str(d["kind"]),
            model=str(d["model"]),
            preset=str(d["preset"]),
            seed=int(d["seed"]),
            variant=str(d.get("variant", "")),
            length_model=str(d.get("length_model", "")),
            splits={k: SplitResult.from_dict(v) for k, v in d["splits"].items()},
        )
