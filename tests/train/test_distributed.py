"""Data-parallel training (DDP, gloo on CPU): two processes launched with
``torch.multiprocessing`` on 127.0.0.1 against one process with the doubled batch, exact
resume under two processes, a non-finite loss on one process only, and only rank 0 writing.

The equality with one process is exact up to floating-point reduction order for a model
without randomness in training (the LSTM baseline with no dropout); an LNF model draws its
posterior noise per process, so its runs agree in distribution, not draw by draw."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lnfmusic.checkpoint import load_model
from lnfmusic.config import RunConfig, SampleConfig
from lnfmusic.data.batching import bucketed_chunks, shard_chunks
from lnfmusic.sample import sample_music
from lnfmusic.train import run_files
from lnfmusic.train.loop import fit
from tests.helpers import synthetic_music, tiny_run

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch without distributed")


def _config(model: str, batch_size: int, epochs: int) -> RunConfig:
    config = tiny_run(model, epochs=epochs)
    config.train.batch_size = batch_size
    config.train.kl_zero_epochs = config.train.kl_ramp_epochs = 0
    return config


def _worker(rank: int, world: int, store: str, job: dict) -> None:
    """One process of a run: join the group, train, leave; report through files."""
    torch.set_num_threads(1)
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # the processes talk over loopback only
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        out = Path(job["out"])
        writes: list[str] = []

        def logged(fn, name):
            def wrapper(*args, **kwargs):
                writes.append(name)
                return fn(*args, **kwargs)

            return wrapper

        run_files.save_checkpoint = logged(run_files.save_checkpoint, "checkpoint")
        run_files.write_text_atomic = logged(run_files.write_text_atomic, "text")
        run_files.open = logged(open, "append")
        if job.get("poison_rank") == rank:
            from lnfmusic.model.lstm.model import LSTMBaseline

            original, calls = LSTMBaseline.log_prob, [0]

            def poisoned(self, batch):
                lp = original(self, batch)
                if self.training:
                    calls[0] += 1
                    if calls[0] == 2:
                        return lp * float("nan")
                return lp

            LSTMBaseline.log_prob = poisoned
        summary = fit(
            RunConfig.from_dict(job["config"]),
            synthetic_music(24, 8),
            job["run_dir"],
            progress=False,
            resume=job.get("resume", False),
            epochs=job.get("epochs"),
        )
        (out / f"writes-{rank}.json").write_text(json.dumps(writes))
        (out / f"summary-{rank}.json").write_text(json.dumps(summary))
        dist.barrier()  # leave together: no rank tears down connections another still uses
    finally:
        dist.destroy_process_group()
    # Only after success (an exception has left above, and spawn reports it): end without the
    # interpreter's teardown. There, rarely and only under load, a rank aborted with
    # "terminate called without an active exception" after its work was done and written
    # (seen in 2 of ~10 CI runs, never in 60 local runs; likely gloo or DDP-reducer threads
    # destroyed at exit). What the tests check is in the files written above.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _launch(world: int, **job) -> None:
    """Run ``world`` processes meeting through a fresh file store (no port to race for)."""
    store = tempfile.mktemp(prefix="lnf-store-", dir=job["out"])
    mp.spawn(_worker, args=(world, store, job), nprocs=world, join=True)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


def _metrics(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_two_processes_equal_one_with_the_doubled_batch_and_only_rank0_writes(
    tmp_path: Path,
) -> None:
    two, one = tmp_path / "two", tmp_path / "one"
    _launch(2, config=_config("lstm", 4, 2).to_dict(), run_dir=str(two), out=str(tmp_path))
    fit(_config("lstm", 8, 2), synthetic_music(24, 8), one, progress=False)
    a, b = _weights(two / "last.pt"), _weights(one / "last.pt")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
    m2, m1 = _metrics(two), _metrics(one)
    assert [r["step"] for r in m2] == [r["step"] for r in m1] == [3, 6]
    for r2, r1 in zip(m2, m1, strict=True):  # validation sharded, sums added up: the same
        assert r2["valid_elbo_nats_per_step"] == pytest.approx(r1["valid_elbo_nats_per_step"])
        assert r2["train_loss"] == pytest.approx(r1["train_loss"], rel=1e-6)
    assert json.loads((tmp_path / "writes-1.json").read_text()) == []
    assert "checkpoint" in json.loads((tmp_path / "writes-0.json").read_text())
    ckpt = torch.load(two / "last.pt", weights_only=True)
    assert ckpt["world_size"] == 2 and len(ckpt["rng_ranks"]) == 2
    bundle = load_model(two / "best.pt")  # one process reads what two wrote
    assert sample_music(bundle, SampleConfig(num=1, length=5))[0].shape == (5, 88)


def test_a_one_process_checkpoint_continues_under_two(tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = _config("lstm", 4, 2)
    fit(config, synthetic_music(24, 8), run, progress=False, epochs=1)
    _launch(2, config=config.to_dict(), run_dir=str(run), out=str(tmp_path), resume=True, epochs=2)
    rows = _metrics(run)
    assert [r["epoch"] for r in rows] == [1, 2] and rows[1]["step"] == 6 + 3  # 6, then 3
    assert torch.load(run / "last.pt", weights_only=True)["world_size"] == 2


def test_resume_under_two_processes_is_exact(tmp_path: Path) -> None:
    config = _config("af-scf", 4, 3).to_dict()
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    _launch(2, config=config, run_dir=str(straight), out=str(tmp_path))
    _launch(2, config=config, run_dir=str(resumed), out=str(tmp_path), epochs=1)
    _launch(2, config=config, run_dir=str(resumed), out=str(tmp_path), resume=True, epochs=3)
    a, b = _weights(straight / "last.pt"), _weights(resumed / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _metrics(straight)[-1]["valid_elbo_nats_per_step"] == pytest.approx(
        _metrics(resumed)[-1]["valid_elbo_nats_per_step"], rel=0, abs=0
    )


def test_a_non_finite_loss_on_one_process_skips_the_step_on_both(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _launch(2, config=_config("lstm", 4, 2).to_dict(), run_dir=str(run), out=str(tmp_path),
            poison_rank=1)  # fmt: skip
    rows = _metrics(run)
    assert [r["skipped_batches"] for r in rows] == [1, 0]
    assert [r["step"] for r in rows] == [2, 5]  # 3 global steps per epoch, one skipped
    for rank in (0, 1):
        summary = json.loads((tmp_path / f"summary-{rank}.json").read_text())
        assert summary["steps"] == 5
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_global_batches_are_split_whole_and_evenly() -> None:
    chunks = bucketed_chunks(list(range(1, 24)), 8, shuffle=True, seed=3)
    parts = [shard_chunks(chunks, r, 2) for r in range(2)]
    assert len(parts[0]) == len(parts[1]) == len(chunks)  # the same number of steps
    seen = sorted(int(i) for p in parts for part, _ in p for i in part)
    assert seen == list(range(23))  # every sequence once, none repeated
    for (a, size), (b, _) in zip(parts[0], parts[1], strict=True):
        assert len(a) + len(b) == size and abs(len(a) - len(b)) <= 1
    tiny = shard_chunks([torch.arange(4).numpy(), torch.arange(4, 5).numpy()], 0, 2)
    assert len(tiny) == 1 and tiny[0][1] == 5  # a chunk smaller than the world is merged
    with pytest.raises(ValueError):
        shard_chunks([torch.arange(1).numpy()], 0, 2)
