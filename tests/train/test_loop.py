"""The training loop on tiny presets: loss goes down, metrics and checkpoints are written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lnfmusic.checkpoint import load_model
from lnfmusic.data.dataset import load_dataset
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.train.loop import fit, validate
from lnfmusic.train.schedule import kl_weight
from tests.helpers import synthetic_music, synthetic_text, tiny_run

KEYS = {
    "epoch",
    "step",
    "train_loss",
    "train_recon_per_step",
    "train_kl_per_step",
    "kl_weight",
    "lr",
    "valid_elbo_nats_per_step",
    "steps_per_s",
    "epoch_seconds",
    "wall_seconds",
    "best",
    "skipped_batches",
}


def read_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_synthetic_music_run_learns_and_writes_everything(tmp_path: Path) -> None:
    data = synthetic_music()
    config = tiny_run(epochs=6)
    config.train.lr = 3e-3
    summary = fit(config, data, tmp_path, progress=False)
    rows = read_metrics(tmp_path)
    assert [r["epoch"] for r in rows] == list(range(1, 7))
    assert KEYS <= set(rows[0])
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] - 5  # nats per step
    assert rows[-1]["valid_elbo_nats_per_step"] < rows[0]["valid_elbo_nats_per_step"]
    assert rows[-1]["step"] == 6 * 3  # 24 sequences in batches of 8
    # the KL weight recorded is the one of the epoch's last batch
    tc = config.train
    assert rows[0]["kl_weight"] == pytest.approx(kl_weight(2 / 3, tc))
    assert rows[-1]["kl_weight"] == 1.0
    best = min(r["valid_elbo_nats_per_step"] for r in rows)
    assert summary["best_valid_elbo_nats_per_step"] == pytest.approx(best)
    stored = json.loads((tmp_path / "config.json").read_text())
    lengths = data.lengths("train") + data.lengths("valid")
    assert stored["model"]["max_length"] == LengthPrior.for_data("music", lengths).max_length == 15
    bundle = load_model(summary["best"])
    model, ckpt = bundle.model, bundle.checkpoint
    assert ckpt["best_valid"] == pytest.approx(best) and not model.training
    assert ckpt["epoch"] == next(r["epoch"] for r in rows if r["valid_elbo_nats_per_step"] == best)
    assert (tmp_path / "last.pt").exists()


def test_the_callers_config_is_not_modified(tmp_path: Path) -> None:
    config = tiny_run(epochs=1)
    before = config.to_dict()
    fit(config, synthetic_text(), tmp_path, progress=False)
    assert config.to_dict() == before


def test_text_run_and_validation_normalisation(tmp_path: Path) -> None:
    data = synthetic_text()
    summary = fit(tiny_run("iaf-scf", "text", epochs=1), data, tmp_path, progress=False)
    bundle = load_model(summary["last"])
    model, ckpt = bundle.model, bundle.checkpoint
    assert ckpt["dataset"]["meta"]["vocab"] == ["_", "a", "b", "c"]
    assert model.config.output_dim == 4
    prior = LengthPrior.from_dict(ckpt["dataset"]["length_prior"])
    torch.manual_seed(0)
    v = validate(model, data.splits["valid"], prior, 8, 1, "cpu")
    torch.manual_seed(0)
    manual, steps = 0.0, 0
    from lnfmusic.data.batching import iterate_batches

    for batch in iterate_batches(data.splits["valid"], 8):
        with torch.no_grad():
            t = model(batch, num_samples=1)
        manual += float((t.kl - t.recon - prior.log_prob(batch.lengths)).sum())
        steps += int((batch.lengths + 1).sum())
    assert v["elbo_nats_per_step"] == pytest.approx(manual / steps)


def test_real_jsb_tiny_run(tmp_path: Path, data_dir: Path) -> None:
    data = load_dataset("jsb", data_dir)
    config = tiny_run(epochs=3)
    config.train.max_sequences = 16
    config.train.lr = 3e-3
    fit(config, data, tmp_path, progress=False)
    rows = read_metrics(tmp_path)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert all(r["valid_elbo_nats_per_step"] is not None for r in rows)


def test_a_non_finite_gradient_skips_the_batch(tmp_path: Path, monkeypatch) -> None:
    """A finite loss whose gradient is NaN: the step is skipped, parameters stay finite."""

    from lnfmusic.train import state

    original, built = state.build_model, []

    def build(cfg):
        model = original(cfg)
        calls = [0]

        def poison(grad: torch.Tensor) -> torch.Tensor:
            calls[0] += 1
            return grad * float("nan") if calls[0] == 2 else grad

        model.embedding.register_hook(poison)
        built.append(model)
        return model

    monkeypatch.setattr(state, "build_model", build)
    summary = fit(tiny_run(epochs=1), synthetic_music(), tmp_path, progress=False)
    assert summary["skipped_batches"] == 1 and summary["steps"] == 2
    assert all(torch.isfinite(p).all() for p in built[0].parameters())


def test_nan_validation_never_crashes_and_writes_no_best(tmp_path: Path, monkeypatch) -> None:
    from lnfmusic.model.lnf.model import LNFModel

    original = LNFModel.sample_terms

    def sample_terms(self, batch, num_samples, noise=None):
        terms = original(self, batch, num_samples, noise)
        return terms if self.training else tuple(v * float("nan") for v in terms)

    monkeypatch.setattr(LNFModel, "sample_terms", sample_terms)
    config = tiny_run(epochs=3)
    config.train.kl_zero_epochs = config.train.kl_ramp_epochs = 0
    config.train.patience = 1
    summary = fit(config, synthetic_music(), tmp_path, progress=False)
    rows = read_metrics(tmp_path)
    assert [r["valid_elbo_nats_per_step"] for r in rows] == [None, None, None]
    assert summary["best"] is None and summary["best_valid_elbo_nats_per_step"] is None
    assert not (tmp_path / "best.pt").exists() and (tmp_path / "last.pt").exists()
    assert rows[-1]["lr"] < rows[0]["lr"]  # NaN counts as no improvement


def test_early_stop_ends_the_run_and_a_resume_stays_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lnfmusic.train.loop as loop

    flat = {"elbo_nats_per_step": 9.0, "recon_per_step": 8.0, "kl_per_step": 1.0}
    monkeypatch.setattr(loop, "validate", lambda *args, **kwargs: dict(flat))
    config = tiny_run(epochs=10)
    config.train.kl_zero_epochs = config.train.kl_ramp_epochs = 0
    config.train.early_stop = 2
    summary = fit(config, synthetic_music(), tmp_path, progress=False)
    rows = read_metrics(tmp_path)
    assert [r["best"] for r in rows] == [True, False, False]  # best, then 2 without one
    assert summary["epochs"] == 3 and (tmp_path / "best.pt").exists()
    again = fit(config, synthetic_music(), tmp_path, progress=False, resume=True)
    assert again["epochs"] == 3 and len(read_metrics(tmp_path)) == 3


def test_a_training_step_reads_one_value_back_from_the_device(monkeypatch) -> None:
    """The step decides on the finite-loss flag (one host read); the reported sums stay on
    the device. Counted at the Python level: bool(), float(), int(), .item(), .tolist() made
    by lnfmusic's own code (torch's optimizer reads its CPU step counters itself)."""
    import sys

    from lnfmusic.data.batching import make_batch
    from lnfmusic.train.loop import train_step
    from lnfmusic.train.state import TrainState

    config = tiny_run("af-scf")
    config.model.max_length = 16
    state = TrainState.create(config, "cpu")
    data = synthetic_music(8, 2)
    batch = make_batch(data.splits["train"][:4])
    reads = []
    for name in ("__bool__", "__float__", "__int__", "item", "tolist"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            if "lnfmusic" in Path(sys._getframe(1).f_code.co_filename).parts:
                reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    loss, sums = train_step(state, batch, 0.5, config.train)
    assert sums is not None and state.step == 1
    assert reads == ["__bool__"], reads


def test_a_run_folder_that_cannot_be_made_fails_before_the_announcement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check_writable passes (root may write anywhere, /proc included) but mkdir fails: the
    caller's announcement must not precede the error (one line on the CLI)."""
    from lnfmusic.errors import LnfError

    original = Path.mkdir

    def refused(self, *args, **kwargs):
        if self.name == "run":
            raise PermissionError(13, "Permission denied")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refused)
    announced = []
    with pytest.raises(LnfError, match="cannot create this folder"):
        fit(
            tiny_run("lstm", epochs=1),
            synthetic_music(8, 4),
            tmp_path / "run",
            progress=False,
            on_start=lambda: announced.append(1),
        )
    assert announced == []
