"""The training loop: ELBO with KL annealing, Adam, clipping, lr decay, checkpoints.

Per batch: ``loss = mean_b -(recon_b - beta * kl_b) / (T_b + 1)`` with ``S`` posterior
samples, ``beta`` the KL annealing weight interpolated per batch. Per epoch: the validation
ELBO (nats per step, ``sum(-ELBO - log p(T)) / sum(T + 1)``), the plateau lr decay, a line in
``metrics.jsonl`` and the checkpoints ``last.pt`` (always) and ``best.pt`` (on improvement).

References:
    Ziegler & Rush (2019), Appendix D; SPEC section 4.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch import Tensor, nn

from lnfmusic.config import RunConfig
from lnfmusic.data.batching import Batch, iterate_batches
from lnfmusic.data.dataset import SequenceDataset
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import make_folder, write_text_atomic
from lnfmusic.model.build import build_model
from lnfmusic.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from lnfmusic.train.schedule import PlateauSchedule, kl_weight

METRICS = "metrics.jsonl"


def split_lengths(dataset: SequenceDataset, split: str) -> list[int]:
    return [len(s) for s in dataset.splits.get(split, [])]


def output_dim(dataset: SequenceDataset) -> int:
    """88 keys for music; the vocabulary size for text (``meta["vocab"]`` is a list of
    symbols or a dict with ``"chars"``)."""
    if dataset.kind == "music":
        return int(dataset.meta.get("num_pitches", 88))
    vocab = dataset.meta["vocab"]
    return len(vocab["chars"] if isinstance(vocab, dict) else vocab)


def length_prior_for(dataset: SequenceDataset) -> LengthPrior:
    """p(T) from the train+valid lengths; music adds one count to every length up to
    ``ceil(1.25 * longest)`` (as LNF did), text is the plain histogram."""
    lengths = split_lengths(dataset, "train") + split_lengths(dataset, "valid")
    if dataset.kind == "music":
        return LengthPrior.from_lengths(lengths, smoothing=1.0, extend=1.25)
    return LengthPrior.from_lengths(lengths, smoothing=0.0, extend=1.0)


def prepare_config(config: RunConfig, dataset: SequenceDataset, prior: LengthPrior) -> None:
    """Fill in the data-dependent model fields (in place)."""
    config.dataset = dataset.name
    config.model.data_kind = dataset.kind
    config.model.output_dim = output_dim(dataset)
    config.model.max_length = prior.max_length


@torch.no_grad()
def validate(
    model: nn.Module,
    seqs: list[np.ndarray],
    prior: LengthPrior,
    batch_size: int,
    samples: int,
    device: str | torch.device,
) -> dict[str, float]:
    """The ELBO of ``seqs`` in nats per step (paper-comparable normalisation
    ``sum(-ELBO - log p(T)) / sum(T + 1)``), and its reconstruction and KL parts per step
    (``sum / sum(T + 1)``). Runs in eval mode; restores train mode."""
    was_training = model.training
    model.eval()
    nll = recon = kl = 0.0
    steps = 0
    for batch in iterate_batches(seqs, batch_size):
        batch = batch.to(device)
        terms = model.elbo_terms(batch, samples)
        elbo = (terms["recon"] - terms["kl"]).double().cpu()
        nll += float((-elbo - prior.log_prob(batch.lengths.cpu()).double()).sum())
        recon += float(terms["recon"].sum())
        kl += float(terms["kl"].sum())
        steps += int((batch.lengths + 1).sum())
    model.train(was_training)
    steps = max(steps, 1)
    return {
        "elbo_nats_per_step": nll / steps,
        "recon_per_step": -recon / steps,
        "kl_per_step": kl / steps,
    }


def batch_loss(model: nn.Module, batch: Batch, beta: float, samples: int) -> tuple[Tensor, dict]:
    """The annealed objective ``mean_b -(recon_b - beta kl_b) / (T_b + 1)`` and the terms."""
    terms = model.elbo_terms(batch, samples)
    per_seq = -(terms["recon"] - beta * terms["kl"]) / (batch.lengths + 1).to(terms["recon"])
    return per_seq.mean(), terms


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _progress(console: Console, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


def _config_differences(given: dict, stored: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in given.items():
        if isinstance(value, dict):
            out += _config_differences(value, stored.get(key, {}), f"{prefix}{key}.")
        elif key in stored and stored[key] != value:
            out.append(f"{prefix}{key} (requested {value!r}, stored {stored[key]!r})")
    return out


def _read_metrics_upto(path: Path, epoch: int) -> str:
    """The lines of ``metrics.jsonl`` for epochs ``<= epoch`` (drops lines written after the
    last checkpoint of an interrupted run)."""
    if not path.exists():
        return ""
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["epoch"] <= epoch:
                keep.append(line + "\n")
        except (ValueError, KeyError, TypeError):
            continue
    return "".join(keep)


def train(
    config: RunConfig,
    dataset: SequenceDataset,
    run_dir: str | Path,
    device: str = "cpu",
    resume: bool = False,
    progress: bool = True,
    console: Console | None = None,
    epochs: int | None = None,
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

    Returns:
        ``{"best_valid_elbo_nats_per_step", "epochs", "steps", "best", "last",
        "skipped_batches", "seconds"}`` (``best`` is None when no epoch gave a finite
        validation value).
    """
    console = console or Console(stderr=True, highlight=False)
    run_dir = make_folder(run_dir)
    last_path, best_path, metrics_path = run_dir / "last.pt", run_dir / "best.pt", run_dir / METRICS
    ckpt = None
    if resume:
        if not last_path.exists():
            raise LnfError("--resume: no last.pt to resume from", run_dir)
        ckpt = load_checkpoint(last_path, "cpu")
        stored = RunConfig.from_dict(ckpt["config"])
        prior = LengthPrior.from_dict(ckpt["dataset"]["length_prior"])
        given = RunConfig.from_dict(config.to_dict())
        prepare_config(given, dataset, prior)
        ignored = [
            d
            for d in _config_differences(given.to_dict(), stored.to_dict())
            if not d.startswith("train.epochs ")
        ]
        if ignored:
            console.print(
                f"[yellow]note: resuming with the stored configuration, which differs from "
                f"the requested one in {'; '.join(ignored)}",
                soft_wrap=True,
            )
        config = stored
    else:
        prior = length_prior_for(dataset)
        config = RunConfig.from_dict(config.to_dict())  # never mutate the caller's object
        prepare_config(config, dataset, prior)
    if epochs is not None:
        config.train.epochs = int(epochs)
    tc = config.train

    torch.manual_seed(tc.seed)
    np.random.seed(tc.seed % 2**32)
    random.seed(tc.seed)
    model = build_model(config.model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    schedule = PlateauSchedule(lr=tc.lr)
    start_epoch, step, seconds_before = 0, 0, 0.0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        schedule = PlateauSchedule(**ckpt.get("scheduler", ckpt.get("schedule")))
        start_epoch, step = int(ckpt["epoch"]), int(ckpt["step"])
        seconds_before = float(ckpt.get("seconds", 0.0))
        set_rng_state(ckpt["rng"])
        write_text_atomic(metrics_path, _read_metrics_upto(metrics_path, start_epoch))
    else:
        if last_path.exists():
            console.print(
                f"[yellow]note: starting a fresh run in {run_dir}; its old "
                f"checkpoints and metrics are replaced (use --resume to continue)",
                soft_wrap=True,
            )
        best_path.unlink(missing_ok=True)
        write_text_atomic(metrics_path, "")
    write_text_atomic(run_dir / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")

    dataset_info = {
        "name": dataset.name,
        "kind": dataset.kind,
        "meta": dataset.meta,
        "length_prior": prior.to_dict(),
    }
    train_seqs, valid_seqs = dataset.splits["train"], dataset.splits["valid"]
    if tc.max_sequences is not None:
        train_seqs, valid_seqs = train_seqs[: tc.max_sequences], valid_seqs[: tc.max_sequences]
    if not train_seqs or not valid_seqs:
        raise LnfError("the dataset needs non-empty train and valid splits", dataset.source)
    n_batches = math.ceil(len(train_seqs) / tc.batch_size)
    consecutive_bad, skipped, warned = 0, 0, False
    t_start = time.perf_counter()
    model.train()
    epochs_run = start_epoch
    with _progress(console, progress) as bar:
        epoch_task = bar.add_task("epochs", total=tc.epochs, completed=start_epoch, info="")
        batch_task = bar.add_task("batches", total=n_batches, info="")
        for epoch in range(start_epoch, tc.epochs):
            if schedule.should_stop(tc):  # checked first, so a resumed stopped run stays stopped
                console.print(
                    f"early stop after epoch {epoch}: no new best validation ELBO for "
                    f"{schedule.since_best} epochs (early_stop = {tc.early_stop})",
                    soft_wrap=True,
                )
                break
            for group in optimizer.param_groups:
                group["lr"] = schedule.lr
            t0 = time.perf_counter()
            totals = {"loss": 0.0, "recon": 0.0, "kl": 0.0, "steps": 0, "seqs": 0}
            skipped_epoch = 0
            bar.reset(batch_task, total=n_batches, info="")
            # Shuffling from seed and epoch alone, so a resumed run sees the same batches.
            batches = iterate_batches(
                train_seqs, tc.batch_size, shuffle=True, seed=tc.seed * 1_000_003 + epoch
            )
            beta = kl_weight(epoch, tc)
            for i, batch in enumerate(batches):
                batch = batch.to(device)
                beta = kl_weight(epoch + i / n_batches, tc)
                optimizer.zero_grad(set_to_none=True)
                loss, terms = batch_loss(model, batch, beta, tc.elbo_samples)
                ok = bool(torch.isfinite(loss))
                if ok:
                    loss.backward()
                    norm = nn.utils.clip_grad_norm_(model.parameters(), tc.clip)
                    ok = bool(torch.isfinite(norm))
                if not ok:
                    optimizer.zero_grad(set_to_none=True)
                    consecutive_bad += 1
                    skipped += 1
                    skipped_epoch += 1
                    if not warned:
                        console.print(
                            f"[yellow]warning: non-finite loss or gradient at epoch "
                            f"{epoch + 1}, batch {i + 1}: batch skipped (further "
                            f"skips are counted in {METRICS})",
                            soft_wrap=True,
                        )
                        warned = True
                    if consecutive_bad > tc.max_nonfinite:
                        last = (
                            f"the last good checkpoint is {last_path}"
                            if last_path.exists()
                            else "no checkpoint was written yet"
                        )
                        raise LnfError(
                            f"training stopped: {consecutive_bad} consecutive non-finite "
                            f"batches (limit max_nonfinite = {tc.max_nonfinite}) at epoch "
                            f"{epoch + 1}; {last}; try a lower --lr",
                            run_dir,
                        )
                    bar.advance(batch_task)
                    continue
                consecutive_bad = 0
                optimizer.step()
                step += 1
                totals["loss"] += float(loss.detach()) * len(batch)
                totals["recon"] += float(terms["recon"].detach().sum())
                totals["kl"] += float(terms["kl"].detach().sum())
                totals["steps"] += int((batch.lengths + 1).sum())
                totals["seqs"] += len(batch)
                rate = totals["steps"] / (time.perf_counter() - t0)
                bar.update(
                    batch_task,
                    advance=1,
                    info=f"loss {float(loss.detach()):.3f}  kl_w {beta:.3f}  {rate:,.0f} steps/s",
                )
            train_time = time.perf_counter() - t0
            valid = validate(model, valid_seqs, prior, tc.batch_size, tc.eval_samples, device)
            annealed = epoch + 1 >= tc.kl_zero_epochs + tc.kl_ramp_epochs
            lr = optimizer.param_groups[0]["lr"]
            improved = schedule.step(valid["elbo_nats_per_step"], annealed, tc)
            elapsed = seconds_before + time.perf_counter() - t_start
            seqs, steps = max(totals["seqs"], 1), max(totals["steps"], 1)
            record = {
                "epoch": epoch + 1,
                "step": step,
                "train_loss": _finite_or_none(totals["loss"] / seqs),
                "train_recon_per_step": _finite_or_none(-totals["recon"] / steps),
                "train_kl_per_step": _finite_or_none(totals["kl"] / steps),
                "kl_weight": beta,
                "lr": lr,
                "valid_elbo_nats_per_step": _finite_or_none(valid["elbo_nats_per_step"]),
                "valid_recon_per_step": _finite_or_none(valid["recon_per_step"]),
                "valid_kl_per_step": _finite_or_none(valid["kl_per_step"]),
                "best": improved,
                "skipped_batches": skipped_epoch,
                "steps_per_s": totals["steps"] / train_time,
                "epoch_seconds": train_time,
                "wall_seconds": elapsed,
            }
            with open(metrics_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            state = {
                "config": config.to_dict(),
                "dataset": dataset_info,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": schedule.state_dict(),
                "epoch": epoch + 1,
                "step": step,
                "best_valid": schedule.best,
                "seconds": elapsed,
                "rng": rng_state(),
            }
            if improved:
                save_checkpoint(best_path, state)
            save_checkpoint(last_path, state)
            line = (
                f"epoch {epoch + 1}/{tc.epochs} loss {record['train_loss'] or math.nan:.3f} "
                f"valid {valid['elbo_nats_per_step']:.3f} (best {schedule.best:.3f}) "
                f"kl_w {beta:.2f} lr {lr:.1e} {record['steps_per_s']:,.0f} steps/s "
                f"{train_time:.0f}s"
            )
            if progress:
                bar.console.print(line + (" *" if improved else ""), soft_wrap=True)
            bar.update(epoch_task, advance=1, info=f"best {schedule.best:.3f}")
            epochs_run = epoch + 1
    return {
        "best_valid_elbo_nats_per_step": schedule.best if math.isfinite(schedule.best) else None,
        "epochs": epochs_run,
        "steps": step,
        "best": str(best_path) if best_path.exists() else None,
        "last": str(last_path),
        "skipped_batches": skipped,
        "seconds": seconds_before + time.perf_counter() - t_start,
    }
