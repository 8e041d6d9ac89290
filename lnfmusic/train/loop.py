"""The training loop: ELBO with KL annealing, Adam, clipping, lr decay, checkpoints.

References:
    Ziegler & Rush (2019), Appendix D; SPEC section 4.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from lnfmusic.config import RunConfig
from lnfmusic.data.batching import iterate_batches
from lnfmusic.data.dataset import SequenceDataset
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import write_text_atomic
from lnfmusic.model.build import build_model
from lnfmusic.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from lnfmusic.train.schedule import PlateauSchedule, kl_weight


def length_prior_for(dataset: SequenceDataset) -> LengthPrior:
    """p(T) from train+valid lengths; music adds one count over 1..ceil(1.25 max) (LNF)."""
    lengths = dataset.lengths("train") + dataset.lengths("valid")
    if dataset.kind == "music":
        return LengthPrior.from_lengths(lengths, smoothing=1.0, extend=1.25)
    return LengthPrior.from_lengths(lengths)


def prepare_config(config: RunConfig, dataset: SequenceDataset, prior: LengthPrior) -> None:
    """Fill in the data-dependent model fields."""
    config.dataset = dataset.name
    config.model.data_kind = dataset.kind
    config.model.output_dim = dataset.output_dim
    config.model.max_length = prior.max_length


@torch.no_grad()
def validate(model, seqs, prior: LengthPrior, batch_size: int, samples: int,
             device: str) -> dict[str, float]:
    """ELBO on ``seqs`` in nats per step, paper-comparable normalisation:
    ``sum(-ELBO - log p(T)) / sum(T + 1)``; also recon and KL per step."""
    model.eval()
    nll = recon = kl = 0.0
    steps = 0
    for batch in iterate_batches(seqs, batch_size):
        batch = batch.to(device)
        terms = model.elbo_terms(batch, samples)
        elbo = terms["recon"] - terms["kl"]
        nll += float((-elbo - prior.log_prob(batch.lengths.cpu()).to(elbo)).sum())
        recon += float(terms["recon"].sum())
        kl += float(terms["kl"].sum())
        steps += int((batch.lengths + 1).sum())
    model.train()
    return {"elbo_nats_per_step": nll / steps, "recon_per_step": -recon / steps,
            "kl_per_step": kl / steps}


def _progress(console: Console, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console, disable=not enabled, transient=False,
    )


def train(
    config: RunConfig, dataset: SequenceDataset, run_dir: str | Path, device: str = "cpu",
    resume: bool = False, progress: bool = True, console: Console | None = None,
) -> dict[str, Any]:
    """Train ``config`` on ``dataset``, writing checkpoints and metrics into ``run_dir``.

    Returns the final summary (best validation value, paths, epochs run).
    """
    console = console or Console(stderr=True)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    ckpt = None
    if resume:
        if not last_path.exists():
            raise LnfError("--resume: no last.pt to resume from", run_dir)
        ckpt = load_checkpoint(last_path, device)
        epochs = config.train.epochs
        config = RunConfig.from_dict(ckpt["config"])
        config.train.epochs = epochs  # the only option a resumed run may change
        prior = LengthPrior.from_dict(ckpt["dataset"]["length_prior"])
    else:
        prior = length_prior_for(dataset)
        prepare_config(config, dataset, prior)
    tc = config.train
    torch.manual_seed(tc.seed)
    model = build_model(config.model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    schedule = PlateauSchedule(lr=tc.lr)
    start_epoch, step = 0, 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        schedule = PlateauSchedule(**ckpt["schedule"])
        start_epoch, step = ckpt["epoch"], ckpt["step"]
        set_rng_state(ckpt["rng"])
    write_text_atomic(run_dir / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")
    dataset_info = {"name": dataset.name, "kind": dataset.kind, "meta": dataset.meta,
                    "length_prior": prior.to_dict()}
    train_seqs, valid_seqs = dataset.splits["train"], dataset.splits["valid"]
    if tc.max_sequences is not None:
        train_seqs, valid_seqs = train_seqs[: tc.max_sequences], valid_seqs[: tc.max_sequences]
    n_batches = math.ceil(len(train_seqs) / tc.batch_size)
    nonfinite = 0
    warned = False
    summary: dict[str, Any] = {}
    model.train()
    with _progress(console, progress) as bar:
        epoch_task = bar.add_task("epochs", total=tc.epochs, completed=start_epoch, info="")
        batch_task = bar.add_task("batches", total=n_batches, info="")
        for epoch in range(start_epoch, tc.epochs):
            for group in optimizer.param_groups:
                group["lr"] = schedule.lr
            t0 = time.perf_counter()
            totals = {"loss": 0.0, "recon": 0.0, "kl": 0.0, "steps": 0, "batches": 0}
            bar.reset(batch_task, total=n_batches)
            batches = iterate_batches(train_seqs, tc.batch_size, shuffle=True,
                                      seed=tc.seed * 1_000_003 + epoch)
            for i, batch in enumerate(batches):
                batch = batch.to(device)
                beta = kl_weight(epoch + i / n_batches, tc)
                terms = model.elbo_terms(batch, tc.elbo_samples)
                per_seq = -(terms["recon"] - beta * terms["kl"]) / (batch.lengths + 1)
                loss = per_seq.mean()
                optimizer.zero_grad(set_to_none=True)
                ok = bool(torch.isfinite(loss))
                if ok:
                    loss.backward()
                    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip)
                    ok = bool(torch.isfinite(norm))
                if not ok:
                    nonfinite += 1
                    if not warned:
                        console.print(f"[yellow]warning: non-finite loss or gradient at epoch "
                                      f"{epoch + 1}, batch {i + 1}; batch skipped")
                        warned = True
                    if nonfinite > tc.max_nonfinite:
                        raise LnfError(
                            f"training stopped: {nonfinite} consecutive non-finite batches at "
                            f"epoch {epoch + 1}; the last good checkpoint is {last_path}",
                            run_dir,
                        )
                    bar.advance(batch_task)
                    continue
                nonfinite = 0
                optimizer.step()
                step += 1
                n_steps = int(batch.lengths.sum())
                totals["loss"] += float(loss) * len(batch)
                totals["recon"] += float(terms["recon"].sum())
                totals["kl"] += float(terms["kl"].sum())
                totals["steps"] += n_steps
                totals["batches"] += len(batch)
                rate = totals["steps"] / (time.perf_counter() - t0)
                bar.update(batch_task, advance=1,
                           info=f"loss {float(loss):.3f}  kl_w {beta:.3f}  {rate:,.0f} steps/s")
            train_time = time.perf_counter() - t0
            valid = validate(model, valid_seqs, prior, tc.batch_size, tc.eval_samples, device)
            annealed = epoch + 1 >= tc.kl_zero_epochs + tc.kl_ramp_epochs
            improved = schedule.step(valid["elbo_nats_per_step"], annealed, tc)
            record = {
                "epoch": epoch + 1, "step": step,
                "train_loss": totals["loss"] / max(totals["batches"], 1),
                "train_recon_per_step": -totals["recon"] / max(totals["steps"], 1),
                "train_kl_per_step": totals["kl"] / max(totals["steps"], 1),
                "kl_weight": kl_weight(epoch + 1, tc), "lr": optimizer.param_groups[0]["lr"],
                "valid_elbo_nats_per_step": valid["elbo_nats_per_step"],
                "valid_recon_per_step": valid["recon_per_step"],
                "valid_kl_per_step": valid["kl_per_step"],
                "steps_per_s": totals["steps"] / train_time, "epoch_seconds": train_time,
                "best": improved,
            }
            with open(run_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            state = {
                "config": config.to_dict(), "dataset": dataset_info,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(), "epoch": epoch + 1, "step": step,
                "best_valid": schedule.best, "rng": rng_state(),
            }
            if improved:
                save_checkpoint(best_path, state)
            save_checkpoint(last_path, state)
            bar.update(epoch_task, advance=1,
                       info=f"valid {valid['elbo_nats_per_step']:.3f} nats/step "
                            f"(best {schedule.best:.3f})")
    summary = {"best_valid_elbo_nats_per_step": schedule.best, "epochs": tc.epochs,
               "steps": step, "best": str(best_path), "last": str(last_path)}
    return summary
