"""The training loop: the annealed ELBO, Adam, clipping, lr decay on a plateau, checkpoints.

Per batch the model's own forward pass gives the loss (for LNF ``mean_b -(recon_b - beta
kl_b) / (T_b + 1)`` with ``S`` posterior samples and ``beta`` the KL weight, interpolated
per batch). Per epoch: the validation ELBO in nats per step (the paper-comparable
normalisation of :mod:`lnfmusic.evaluate.results`), the plateau lr decay, a line in
``metrics.jsonl`` and the checkpoints ``last.pt`` (always) and ``best.pt`` (on
improvement).

References:
    Ziegler & Rush (2019), Appendix D; SPEC section 4.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from rich.console import Console
from rich.progress import Progress, TaskID
from torch import Tensor, nn

from lnfmusic.checkpoint import DatasetInfo, check_keys, load_checkpoint, non_finite_parameters
from lnfmusic.config import RunConfig, TrainConfig
from lnfmusic.data.batching import Batch, bucketed_chunks, iterate_batches, make_batch, shard_chunks
from lnfmusic.data.dataset import SequenceDataset
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.device import Processes, current_processes
from lnfmusic.errors import LnfError, first_line
from lnfmusic.evaluate.estimators import estimate_split
from lnfmusic.io.atomic import make_folder
from lnfmusic.progress import progress_bar
from lnfmusic.train.run_files import METRICS, RunFiles, check_run_dir, finite_or_none
from lnfmusic.train.schedule import kl_weight
from lnfmusic.train.state import TrainState, gather_rng_states

INFO_EVERY_S = 0.5  # how often the progress line reads the loss back from the device


# ----------------------------------------------------------------------------------------
# Configuration of a run (fresh or resumed)


def _config_differences(given: dict, stored: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in given.items():
        if isinstance(value, dict):
            out += _config_differences(value, stored.get(key, {}), f"{prefix}{key}.")
        elif key in stored and stored[key] != value:
            out.append(f"{prefix}{key} (requested {value!r}, stored {stored[key]!r})")
    return out


def with_data(config: RunConfig, dataset: SequenceDataset, prior: LengthPrior) -> RunConfig:
    """A copy of ``config`` with the data-dependent fields filled in from the dataset."""
    config = config.copy()
    config.dataset = dataset.name
    config.model.data_kind = dataset.kind
    config.model.output_dim = dataset.output_dim
    config.model.max_length = prior.max_length
    return config


def last_world(ckpt: dict[str, Any]) -> int:
    """How many processes trained the run that wrote ``ckpt``."""
    return int(ckpt.get("world_size", len(ckpt.get("rng_ranks") or [None])))


def check_trainable(dataset: SequenceDataset) -> None:
    """What :func:`fit` needs of the data, checked before anything is written: non-empty
    train and valid splits, no sequence longer than the models take."""
    if not dataset.splits.get("train") or not dataset.splits.get("valid"):
        raise LnfError("the dataset needs non-empty train and valid splits", dataset.source)
    dataset.check_lengths(("train", "valid"))


def _training_splits(dataset: SequenceDataset, tc: TrainConfig) -> tuple[list, list]:
    """The train and valid sequences, the first ``max_sequences`` of each if set."""
    n = tc.max_sequences
    return dataset.splits["train"][:n], dataset.splits["valid"][:n]


def _check_same_data(ckpt: dict[str, Any], dataset: SequenceDataset, path: Path) -> None:
    """Refuse to resume on other data than the run's: its name, kind and metadata (the
    vocabulary of text), and — as a fingerprint of the files — p(T), the histogram of every
    train + valid length. Raised before anything in the run directory is written."""
    stored = ckpt.get("dataset")
    if not isinstance(stored, dict) or "length_prior" not in stored:
        raise LnfError(
            "resume: the checkpoint has no dataset record (a sampling-only "
            "export cannot be resumed)",
            path,
        )
    check_keys(ckpt, path, training=True)
    was = str(stored.get("name"))
    if was != dataset.name or stored.get("kind") != dataset.kind:
        why = f"it was trained on {was!r}, not {dataset.name!r}"
    elif json.dumps(stored.get("meta"), sort_keys=True, default=str) != json.dumps(
        dataset.meta, sort_keys=True, default=str
    ):
        why = f"the data of {was!r} has changed (vocabulary or other metadata differ)"
    else:
        with _damaged(path):
            before = DatasetInfo.from_dict(stored).length_prior  # with the rule it was built by
        now = before.rebuild(dataset.lengths("train") + dataset.lengths("valid"))
        if not np.allclose(now.probs, before.probs, rtol=0, atol=1e-12):
            why = f"the files of {was!r} have changed (its train + valid lengths differ)"
        else:
            return
    raise LnfError(
        f"resume: {why}; resume with the run's own data, or start a fresh run in another --run-dir",
        path,
    )


@contextlib.contextmanager
def _damaged(path: Path) -> Iterator[None]:
    """What reading a checkpoint's parts raises (an edited or damaged file) as one line."""
    try:
        yield
    except (KeyError, IndexError, RuntimeError, ValueError, TypeError) as e:
        raise LnfError(
            f"resume: cannot continue from this checkpoint ({first_line(e)})", path
        ) from None


def _resumed(
    config: RunConfig, dataset: SequenceDataset, run: RunFiles
) -> tuple[RunConfig, LengthPrior, dict[str, Any], list[str]]:
    """The stored configuration, p(T) and checkpoint of ``run``, and how the requested
    configuration differs (the stored one wins)."""
    ckpt = load_checkpoint(run.last, "cpu")
    _check_same_data(ckpt, dataset, run.last)
    with _damaged(run.last):
        stored = RunConfig.from_dict(ckpt["config"])
        prior = DatasetInfo.from_dict(ckpt["dataset"]).length_prior
    given = with_data(config, dataset, prior)
    ignored = [
        d
        for d in _config_differences(given.to_dict(), stored.to_dict())
        if not d.startswith("train.epochs ")
    ]
    return stored, prior, ckpt, ignored


# ----------------------------------------------------------------------------------------
# One optimisation step, one epoch


def all_finite(flag: Tensor) -> bool:
    """Whether ``flag`` (a 0-dim bool tensor) holds on every process: one host-device
    synchronisation, plus an all-reduce when several processes train together, so that all
    of them skip the same steps."""
    if dist.is_available() and dist.is_initialized():
        flag = flag.to(torch.int32)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag)


class NonFiniteGuard:
    """The policy for non-finite losses or gradients: skip the batch (one warning per run),
    and stop with an :class:`LnfError` after more than ``limit`` in a row."""

    def __init__(self, limit: int, run: RunFiles, console: Console):
        self.limit, self.run, self.console = limit, run, console
        self.in_a_row = self.skipped = 0
        self.warned = False

    def ok(self) -> None:
        self.in_a_row = 0

    def skip(self, epoch: int, batch: int) -> None:
        self.in_a_row += 1
        self.skipped += 1
        if not self.warned:
            self.console.print(
                f"[yellow]warning: non-finite loss or gradient at epoch {epoch + 1}, batch "
                f"{batch + 1}: batch skipped (further skips are counted in {METRICS})",
                soft_wrap=True,
            )
            self.warned = True
        if self.in_a_row > self.limit:
            last = (
                f"the last good checkpoint is {self.run.last}"
                if self.run.checkpointed
                else "no checkpoint was written yet"
            )
            raise LnfError(
                f"training stopped: {self.in_a_row} consecutive non-finite batches (limit "
                f"max_nonfinite = {self.limit}) at epoch {epoch + 1}; {last}; try a lower train.lr",
                self.run.dir,
            )


def train_step(
    state: TrainState,
    batch: Batch,
    beta: float,
    tc: TrainConfig,
    global_size: int | None = None,
    world_size: int = 1,
) -> tuple[Tensor, Tensor | None]:
    """One optimisation step on ``batch`` (already on the model's device). Returns the
    detached ``loss`` and the per-batch sums ``[sum of per-sequence losses, sum recon, sum
    kl]`` (float64) to report, or None for them when the step was not taken (a non-finite
    loss or gradient, decided on every process alike; nothing changed).

    One process: the model's own loss, the mean over the batch. ``world_size`` processes,
    each with its part of a global batch of ``global_size`` sequences: each backpropagates
    ``sum_b objective_b * world_size / global_size``, so that DDP's average of the gradients
    is the gradient of the mean over the global batch — the gradient one process would get
    from the whole batch. Clipping then acts on the synchronised gradients."""
    if world_size > 1 and global_size is None:
        raise ValueError("train_step: global_size is needed with several processes")
    state.optimizer.zero_grad(set_to_none=True)
    out = state.module(batch, kl_weight=beta, num_samples=tc.elbo_samples)
    if world_size == 1:
        loss = out.loss
    else:
        loss = out.objective.sum() * (world_size / global_size)
    loss.backward()
    norm = nn.utils.clip_grad_norm_(state.model.parameters(), tc.clip)
    loss = loss.detach()
    if not all_finite(torch.isfinite(loss) & torch.isfinite(norm)):
        state.optimizer.zero_grad(set_to_none=True)
        return loss, None
    state.optimizer.step()
    state.step += 1
    recon, kl = out.recon.detach(), out.kl.detach()
    if world_size == 1:
        loss_sum = loss.double() * len(batch)
    else:
        loss_sum = out.objective.detach().sum().double()
    return loss, torch.stack([loss_sum, recon.sum().double(), kl.sum().double()])


@dataclass
class EpochStats:
    """Training numbers of one epoch (over the steps taken)."""

    loss_sum: float  # sum over sequences of the per-sequence loss
    recon_sum: float
    kl_sum: float
    steps: int  # sum of T + 1
    sequences: int
    skipped: int
    kl_weight: float  # of the last batch
    seconds: float

    def record(self) -> dict[str, Any]:
        seqs, steps = max(self.sequences, 1), max(self.steps, 1)
        return {
            "train_loss": finite_or_none(self.loss_sum / seqs),
            "train_recon_per_step": finite_or_none(-self.recon_sum / steps),
            "train_kl_per_step": finite_or_none(self.kl_sum / steps),
            "kl_weight": self.kl_weight,
        }


def train_epoch(
    state: TrainState,
    seqs: list[np.ndarray],
    epoch: int,
    tc: TrainConfig,
    device: str | torch.device,
    guard: NonFiniteGuard,
    bar: Progress,
    task: TaskID,
    procs: Processes | None = None,
) -> EpochStats:
    """One pass over ``seqs`` in length-bucketed batches shuffled from (seed, epoch) alone,
    so a resumed run sees the same batches. With several processes each global batch of
    ``world_size * batch_size`` sequences is split between them (:func:`shard_chunks`):
    the same number of steps everywhere. Sums stay on the device until the end, then are
    added up over the processes."""
    procs = procs or Processes()
    world = procs.world_size
    chunks = bucketed_chunks(
        [len(s) for s in seqs],
        tc.batch_size * world,
        shuffle=True,
        seed=tc.seed * 1_000_003 + epoch,
    )
    parts = shard_chunks(chunks, procs.rank, world)
    n_batches = len(parts)
    for group in state.optimizer.param_groups:
        group["lr"] = state.schedule.lr
    t0 = last_info = time.perf_counter()
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    steps = sequences = skipped = 0
    bar.reset(task, total=n_batches, info="")
    beta = kl_weight(epoch, tc)
    for i, (part, global_size) in enumerate(parts):
        batch = make_batch([seqs[j] for j in part], [int(j) for j in part])
        beta = kl_weight(epoch + i / n_batches, tc)
        loss, batch_sums = train_step(state, batch.to(device), beta, tc, global_size, world)
        if batch_sums is None:
            skipped += 1
            guard.skip(epoch, i)
            bar.advance(task)
            continue
        guard.ok()
        sums += batch_sums
        steps += int((batch.lengths + 1).sum())  # CPU lengths: no synchronisation
        sequences += len(batch)
        now = time.perf_counter()
        if bar.disable or (now - last_info < INFO_EVERY_S and i + 1 < n_batches):
            bar.advance(task)
            continue
        last_info = now
        rate = steps / (now - t0)
        bar.update(
            task,
            advance=1,
            info=f"loss {float(loss):.3f}"
            + ("" if state.model.exact else f"  kl_w {beta:.3f}")
            + f"  {rate:,.0f} steps/s",
        )
    if procs.distributed:
        counts = torch.tensor([steps, sequences], dtype=torch.float64, device=device)
        both = torch.cat([sums, counts])
        dist.all_reduce(both)
        sums, (steps, sequences) = both[:3], (int(v) for v in both[3:].tolist())
    loss_sum, recon_sum, kl_sum = sums.tolist()
    seconds = time.perf_counter() - t0
    return EpochStats(loss_sum, recon_sum, kl_sum, steps, sequences, skipped, beta, seconds)


@torch.no_grad()
def validate(
    model: nn.Module,
    seqs: list[np.ndarray],
    prior: LengthPrior,
    batch_size: int,
    samples: int,
    device: str | torch.device,
    procs: Processes | None = None,
) -> dict[str, float]:
    """The ELBO of ``seqs`` in nats per step (paper-comparable normalisation
    ``sum(-ELBO - log p(T)) / sum(T + 1)``), and its reconstruction and KL parts per step
    (``sum / sum(T + 1)``), from the evaluation estimator. Runs in eval mode and from the
    current RNG state; restores train mode. With several processes each evaluates every
    ``world_size``-th batch (no sequence twice, none left out) and the sums are added up."""
    procs = procs or current_processes()
    was_training = model.training
    model.eval()
    try:
        batches = iterate_batches(seqs, batch_size)
        if procs.distributed:
            batches = (b for i, b in enumerate(batches) if i % procs.world_size == procs.rank)
        r = estimate_split(
            model,
            batches,
            prior,
            "valid",
            model.config.data_kind,
            num_samples=None,
            elbo_samples=samples,
            device=device,
        )
        r.all_reduce(device)
    finally:
        model.train(was_training)
    return {
        "elbo_nats_per_step": r.paper_nats(r.neg_elbo_with_length),
        "recon_per_step": r.paper_nats(r.neg_recon),
        "kl_per_step": r.paper_nats(r.kl),
    }


# ----------------------------------------------------------------------------------------
# The whole run


def fit(
    config: RunConfig,
    dataset: SequenceDataset,
    run_dir: str | Path,
    device: str = "cpu",
    resume: bool = False,
    progress: bool = True,
    console: Console | None = None,
    epochs: int | None = None,
    overwrite: bool = False,
    on_start: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train ``config`` on ``dataset``, writing checkpoints and metrics into ``run_dir``.

    Args:
        config: the run configuration; its data-dependent model fields (``data_kind``,
            ``output_dim``, ``max_length``) are filled in from ``dataset``.
        dataset: the data (train and valid splits are used).
        run_dir: where ``config.json``, ``metrics.jsonl``, ``last.pt`` and ``best.pt`` go.
        device: a torch device string.
        resume: continue from ``run_dir/last.pt`` with its stored configuration (``config``
            is then only compared with it; only the number of epochs may change, via
            ``epochs``); the continuation is exact.
        progress: rich progress bars (and one line per epoch) on ``console``.
        console: where progress and warnings go (default: stderr).
        epochs: total number of epochs; overrides ``config.train.epochs`` (or the stored
            value when resuming).
        overwrite: a fresh run may replace an earlier run's files in ``run_dir`` (without
            it, a folder holding ``best.pt``, ``last.pt`` or a non-empty ``metrics.jsonl``
            is an error, raised before anything is written).
        on_start: called by the process that writes once the run is set up (every check
            passed, the model built and, when resuming, loaded) and before anything is
            written or trained: a caller's announcement never precedes a setup error.

    Returns:
        ``{"best_valid_elbo_nats_per_step", "exact", "epochs", "steps", "best", "last",
        "skipped_batches", "seconds"}`` (``best`` is None when no epoch gave a finite
        validation value).
    """
    procs = current_processes()
    console = console or Console(stderr=True, highlight=False)
    if not procs.main:  # one process speaks and writes; the others only compute
        console, progress = Console(stderr=True, quiet=True), False
    check_trainable(dataset)
    check_run_dir(run_dir, resume=resume, overwrite=overwrite)  # before creating anything
    run = RunFiles(run_dir, write=procs.main)
    ckpt, differences = None, []
    if resume:
        config, prior, ckpt, differences = _resumed(config, dataset, run)
    else:
        prior = LengthPrior.for_data(
            dataset.kind, dataset.lengths("train") + dataset.lengths("valid")
        )
        config = with_data(config, dataset, prior)
    if epochs is not None:
        config.train.epochs = int(epochs)
    config.validate()
    tc = config.train
    train_seqs, valid_seqs = _training_splits(dataset, tc)
    if len(train_seqs) < procs.world_size:
        raise LnfError(
            f"{len(train_seqs)} training sequence(s) for {procs.world_size} processes: "
            "every process needs at least one",
            dataset.source,
        )

    state = TrainState.create(config, device, procs)
    exact = True
    if ckpt is not None:
        with _damaged(run.last):
            exact = state.load(ckpt, procs)
    if procs.main and not resume:  # the last step that can fail: before the announcement
        make_folder(run.dir)
    if on_start is not None and procs.main:
        on_start()
    if differences:
        console.print(
            f"[yellow]note: resuming with the stored configuration, which differs from "
            f"the requested one in {'; '.join(differences)}",
            soft_wrap=True,
        )
    if ckpt is not None:
        if not exact:
            before = last_world(ckpt)
            console.print(
                f"[yellow]note: {before} process(es) wrote this checkpoint, "
                f"{procs.world_size} continue it: the global batch goes from "
                f"{before * tc.batch_size} to {procs.world_size * tc.batch_size} sequences and "
                f"the continuation is not bit-exact",
                soft_wrap=True,
            )
        run.keep_metrics_upto(state.epoch)
    else:
        run.start_fresh(console)
    state.wrap(procs, device)
    run.write_config(config)
    info = DatasetInfo.of(dataset, prior)
    guard = NonFiniteGuard(tc.max_nonfinite, run, console)
    t_start = time.perf_counter()
    state.model.train()
    epochs_run = state.epoch
    with progress_bar(console, progress, info=True, eta=True) as bar:
        epoch_task = bar.add_task("epochs", total=tc.epochs, completed=state.epoch, info="")
        batch_task = bar.add_task("batches", total=1, info="")
        for epoch in range(state.epoch, tc.epochs):
            if state.schedule.should_stop(tc):  # first, so a resumed stopped run stays stopped
                console.print(
                    f"early stop after epoch {epoch}: no new best validation ELBO for "
                    f"{state.schedule.since_best} epochs (early_stop = {tc.early_stop})",
                    soft_wrap=True,
                )
                break
            stats = train_epoch(state, train_seqs, epoch, tc, device, guard, bar, batch_task, procs)
            valid = validate(
                state.model, valid_seqs, prior, tc.batch_size, tc.eval_samples, device, procs
            )
            annealed = epoch + 1 >= tc.kl_zero_epochs + tc.kl_ramp_epochs
            lr = state.optimizer.param_groups[0]["lr"]
            improved = state.schedule.step(valid["elbo_nats_per_step"], annealed, tc)
            state.epoch = epochs_run = epoch + 1
            elapsed = state.seconds + time.perf_counter() - t_start
            record = {
                "epoch": epoch + 1,
                "step": state.step,
                **stats.record(),
                "lr": lr,
                "valid_elbo_nats_per_step": finite_or_none(valid["elbo_nats_per_step"]),
                "valid_recon_per_step": finite_or_none(valid["recon_per_step"]),
                "valid_kl_per_step": finite_or_none(valid["kl_per_step"]),
                "best": improved,
                "skipped_batches": stats.skipped,
                "steps_per_s": stats.steps / stats.seconds,
                "epoch_seconds": stats.seconds,
                "wall_seconds": elapsed,
            }
            bad = non_finite_parameters(state.model)  # the same on every process (DDP)
            if bad:  # never overwrite a good checkpoint with a diverged model
                raise LnfError(
                    f"the model's weights became non-finite in epoch {epoch + 1} "
                    f"({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}); "
                    + (
                        f"{run.last.name} keeps the last good epoch"
                        if run.checkpointed
                        else "no checkpoint was written"
                    )
                    + " — lower --lr or --clip",
                    run.dir,
                )
            run.append_metrics(record)
            rngs = gather_rng_states(procs)  # every process, for an exact resume
            if procs.main:
                run.save(state.checkpoint(config, info, elapsed, rngs), improved)
            if progress:
                bar.console.print(
                    f"epoch {epoch + 1}/{tc.epochs} loss {record['train_loss'] or math.nan:.3f} "
                    f"valid {valid['elbo_nats_per_step']:.3f} (best {state.schedule.best:.3f}) "
                    + ("" if state.model.exact else f"kl_w {stats.kl_weight:.2f} ")
                    + f"lr {lr:.1e} {record['steps_per_s']:,.0f} "
                    f"steps/s {stats.seconds:.0f}s" + (" *" if improved else ""),
                    soft_wrap=True,
                )
            bar.update(epoch_task, advance=1, info=f"best {state.schedule.best:.3f}")
    # Release the DistributedDataParallel wrapper (it holds the process group) now, so that
    # the group is not torn down later, during interpreter exit, after it was destroyed.
    state.module = None
    best = state.schedule.best
    return {
        "best_valid_elbo_nats_per_step": best if math.isfinite(best) else None,
        "exact": state.model.exact,  # the validation number is an exact NLL, not an ELBO
        "epochs": epochs_run,
        "steps": state.step,
        "best": str(run.best) if run.best.exists() else None,
        "last": str(run.last),
        "skipped_batches": guard.skipped,
        "seconds": state.seconds + time.perf_counter() - t_start,
    }
