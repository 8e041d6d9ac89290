"""Builders shared by the tests: small configs, batches, synthetic datasets, tiny trained
checkpoints, a local HTTP server. Plain functions (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import functools
import http.server
import math
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from lnfmusic.checkpoint import DatasetInfo, ModelBundle
from lnfmusic.config import EvalConfig, RunConfig, preset
from lnfmusic.data.batching import Batch, make_batch
from lnfmusic.data.dataset import SequenceDataset, load_dataset
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.evaluate import evaluate_checkpoint
from lnfmusic.model.base import ModelOutput, SequenceModel
from lnfmusic.model.config import ModelConfig

# ----------------------------------------------------------------------------------------
# Models and batches


def tiny_config(model: str = "af-af", kind: str = "music", vocab: int = 5) -> ModelConfig:
    """The tiny preset's model with the data fields filled in; 2 LSTM layers, no dropout."""
    cfg = preset("tiny", kind, model).model
    cfg.num_layers = 2
    cfg.dropout = cfg.prior_dropout = 0.0
    cfg.data_kind = kind
    cfg.output_dim = 88 if kind == "music" else vocab
    cfg.max_length = 16
    return cfg


def random_seqs(
    lengths: list[int], kind: str = "music", vocab: int = 5, seed: int = 0
) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "music":
        return [(rng.random((n, 88)) < 0.1).astype(np.uint8) for n in lengths]
    return [rng.integers(0, vocab, n).astype(np.int64) for n in lengths]


def random_batch(
    lengths: list[int],
    kind: str = "music",
    vocab: int = 5,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Batch:
    batch = make_batch(random_seqs(lengths, kind, vocab, seed))
    if kind == "music":
        batch.x = batch.x.to(dtype)
    return batch


# ----------------------------------------------------------------------------------------
# Synthetic datasets and tiny runs


def synthetic_music(n_train: int = 24, n_valid: int = 8, seed: int = 0) -> SequenceDataset:
    """Pieces cycling through three chords (with a little noise), lengths 6..12."""
    rng = np.random.default_rng(seed)
    chords = [[39, 43, 46], [41, 44, 48], [38, 43, 46]]

    def piece() -> np.ndarray:
        T = int(rng.integers(6, 13))
        roll = np.zeros((T, 88), dtype=np.uint8)
        start = int(rng.integers(0, 3))
        for t in range(T):
            roll[t, chords[(start + t) % 3]] = 1
        roll[rng.random((T, 88)) < 0.01] = 1
        return roll

    splits = {
        "train": [piece() for _ in range(n_train)],
        "valid": [piece() for _ in range(n_valid)],
        "test": [piece() for _ in range(n_valid)],
    }
    meta = {"pitch_offset": 21, "num_pitches": 88, "steps_per_beat": 2}
    return SequenceDataset("synthetic", "music", splits, meta, "synthetic")


def synthetic_text(n_train: int = 24, n_valid: int = 8, seed: int = 0) -> SequenceDataset:
    rng = np.random.default_rng(seed)
    chars = ["_", "a", "b", "c"]

    def line() -> np.ndarray:
        return np.array([(t % 3) + 1 if t % 4 else 0 for t in range(int(rng.integers(4, 10)))])

    splits = {
        "train": [line() for _ in range(n_train)],
        "valid": [line() for _ in range(n_valid)],
        "test": [line() for _ in range(n_valid)],
    }
    return SequenceDataset("synthetic-text", "text", splits, {"vocab": chars}, "synthetic")


def tiny_run(model: str = "af-af", kind: str = "music", epochs: int = 2) -> RunConfig:
    config = preset("tiny", kind, model)
    config.train.epochs = epochs
    config.train.batch_size = 8
    return config


JSB_COUNTS = {"train": 229, "valid": 76, "test": 77}

# ----------------------------------------------------------------------------------------
# Dataset files and tiny trained checkpoints


def write_jsb_like(folder: Path, seed: int = 0) -> Path:
    """A ``jsb_chorales.pickle`` with JSB's split sizes but short random 4-voice pieces."""
    rng = np.random.default_rng(seed)
    data = {}
    for split, n in JSB_COUNTS.items():
        pieces = []
        for _ in range(n):
            T = int(rng.integers(4, 12))
            root = int(rng.integers(48, 60))
            pieces.append(
                [
                    tuple(
                        int(p)
                        for p in root + rng.choice([0, 4, 7, 12], 3) + int(rng.integers(0, 3))
                    )
                    for _ in range(T)
                ]
            )
        data[split] = pieces
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "jsb_chorales.pickle", "wb") as f:
        pickle.dump(data, f)
    return folder


def write_text_lines(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran"]
    lines = [" ".join(rng.choice(words, int(rng.integers(2, 5)))) for _ in range(60)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train_tiny(spec: str, model: str, run_dir: Path, data_dir: Path | None = None) -> Path:
    """Train ``model`` (tiny preset, one epoch) on dataset ``spec``; returns ``last.pt``."""
    from lnfmusic.train.loop import fit

    data = load_dataset(spec, data_dir)
    data.splits["train"], data.splits["valid"] = data.splits["train"][:24], data.splits["valid"][:8]
    config = preset("tiny", data.kind, model)
    config.train.epochs = 1
    summary = fit(config, data, run_dir, progress=False)
    return Path(summary["last"])


# ----------------------------------------------------------------------------------------
# A local HTTP server (downloads are tested against 127.0.0.1 only)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


def start_server(folder: Path, request: pytest.FixtureRequest) -> str:
    """Serve ``folder`` on 127.0.0.1 (a free port) until the test ends; the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    request.addfinalizer(stop)
    return f"http://127.0.0.1:{server.server_address[1]}"


# ----------------------------------------------------------------------------------------
# A latent model whose likelihood is known in closed form (evaluation tests)
#
# z_t ~ N(0, 1), x_t | z_t ~ N(z_t, sigma^2) (one real number per step), so p(x_t) =
# N(0, 1 + sigma^2); the proposal is q(z_t | x_t) = N(a x_t, s^2). With a = 1 / (1 + sigma^2)
# and s^2 = sigma^2 / (1 + sigma^2) q is the exact posterior and every importance weight
# equals log p(x).

SIGMA2 = 0.5
LOG2PI = math.log(2 * math.pi)


def normal_logpdf(x: Tensor, mean: Tensor | float, var: Tensor | float) -> Tensor:
    var = torch.as_tensor(var, dtype=torch.float64)
    return -0.5 * (LOG2PI + torch.log(var) + (x - mean) ** 2 / var)


@dataclass
class FakeConfig(ModelConfig):
    family: ClassVar[str] = "fake"
    label: str = "fake"

    @property
    def name(self) -> str:
        return self.label


class GaussianModel(SequenceModel):
    """The linear-Gaussian latent model of the module docstring (a SequenceModel)."""

    def __init__(self, a: float, s: float, name: str = "fake"):
        super().__init__(FakeConfig(label=name))
        self.a, self.s = a, s
        self.dummy = nn.Parameter(torch.zeros(()))  # gives the model a device

    @staticmethod
    def values(batch: Batch) -> Tensor:
        x = batch.x.double()
        return x[..., 0] if x.dim() == 3 else x

    def _terms(self, batch: Batch, S: int) -> tuple[Tensor, Tensor, Tensor]:
        x, mask = self.values(batch), batch.mask.double()
        z = self.a * x + self.s * torch.randn((S, *x.shape), dtype=torch.float64)
        recon = (normal_logpdf(x, z, SIGMA2) * mask).sum(-1)
        log_p = (normal_logpdf(z, 0.0, 1.0) * mask).sum(-1)
        log_q = (normal_logpdf(z, self.a * x, self.s**2) * mask).sum(-1)
        return recon, log_p, log_q

    def log_weights(self, batch: Batch, num_samples: int) -> Tensor:
        recon, log_p, log_q = self._terms(batch, num_samples)
        return recon + log_p - log_q

    def forward(self, batch: Batch, *, kl_weight: float = 1.0, num_samples: int = 1) -> ModelOutput:
        recon, log_p, log_q = self._terms(batch, num_samples)
        return ModelOutput.from_terms(recon.mean(0), (log_q - log_p).mean(0), batch.lengths)

    def generate(self, lengths, temperature=1.0, threshold=None, generator=None) -> Tensor:
        raise NotImplementedError


class ExactModel(GaussianModel):
    """The same p(x), evaluated exactly, posing as the LSTM baseline: log_weights is (1, B)."""

    exact = True

    def __init__(self) -> None:
        super().__init__(0.0, 1.0, name="lstm")

    def log_weights(self, batch: Batch, num_samples: int = 1) -> Tensor:
        x = self.values(batch)
        return (normal_logpdf(x, 0.0, 1 + SIGMA2) * batch.mask.double()).sum(-1)[None]

    def forward(self, batch: Batch, *, kl_weight: float = 1.0, num_samples: int = 1) -> ModelOutput:
        lp = self.log_weights(batch)[0]
        return ModelOutput.from_terms(lp, torch.zeros_like(lp), batch.lengths)


def posterior_model() -> GaussianModel:
    return GaussianModel(1 / (1 + SIGMA2), math.sqrt(SIGMA2 / (1 + SIGMA2)))


def mismatched_model() -> GaussianModel:
    return GaussianModel(0.4, 0.9)


def make_data(lengths: list[int], kind: str = "music", seed: int = 0) -> SequenceDataset:
    rng = np.random.default_rng(seed)
    if kind == "music":
        seqs = [rng.normal(size=(T, 1)).astype(np.float32) for T in lengths]
    else:
        seqs = [rng.integers(-2, 3, size=T).astype(np.int64) for T in lengths]
    return SequenceDataset("fake", kind, {"test": seqs, "valid": seqs[:2]}, {}, "memory")


def make_ckpt(lengths: list[int]) -> LengthPrior:
    """The length prior a checkpoint of a model trained on ``lengths`` would carry."""
    return LengthPrior.from_lengths(lengths, smoothing=1.0, extend=1.25)


def evaluate(model, prior, data, splits="test", name="", **kwargs):
    """``evaluate_checkpoint`` on a bundle of ``model`` with p(T) ``prior``; ``kwargs`` are
    :class:`EvalConfig` fields."""
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    info = DatasetInfo("fake", data.kind, data.meta, prior)
    config = RunConfig(dataset="fake", preset="tiny", model=model.config)
    bundle = ModelBundle(model, config, info, Path(name) if name else None)
    return evaluate_checkpoint(bundle, data, EvalConfig(splits=splits, **kwargs))


def exact_log_p(data: SequenceDataset, split: str = "test") -> np.ndarray:
    """log p(x_i | T_i) in closed form, from the float32 values the batches carry."""
    out = []
    for seq in data.splits[split]:
        x = torch.from_numpy(np.asarray(seq, dtype=np.float32).astype(np.float64)).reshape(-1)
        out.append(float(normal_logpdf(x, 0.0, 1 + SIGMA2).sum()))
    return np.array(out)


def analytic_elbo_terms(data: SequenceDataset, a: float, s: float) -> tuple[float, float]:
    """Sum over sequences of E_q log p(x|z) and of KL(q || p(z)), in closed form."""
    recon = kl = 0.0
    for seq in data.splits["test"]:
        x = np.asarray(seq, dtype=np.float32).astype(np.float64).reshape(-1)
        m = a * x
        recon += float(
            np.sum(-0.5 * (LOG2PI + math.log(SIGMA2)) - ((x - m) ** 2 + s**2) / (2 * SIGMA2))
        )
        kl += float(np.sum(-0.5 * math.log(s**2) - 0.5 + (m**2 + s**2) / 2))
    return recon, kl


LENGTHS = [5, 9, 3, 12, 7, 7, 2]


def random_discrete_flow(
    arch: str, T: int, Fe: int, K: int, depth: int, scale: bool, seed: int, axis: str = "time"
):
    """A randomly initialised discrete flow on ``(B, T, Fe, K)``, weights large enough that
    every layer actually permutes the space. ``arch``: ``ar`` (AR base, AR layers of
    alternating direction, MADE and causal-LSTM conditioners mixed) or ``bipartite``
    (factorised base, bipartite layers of alternating parity)."""
    from lnfmusic.discrete import (
        AutoregressiveBase,
        AutoregressiveFlow,
        BiLSTMNet,
        BipartiteFlow,
        CausalLSTMNet,
        DiscreteFlow,
        FactorizedBase,
        MaskedMLP,
    )

    torch.manual_seed(seed)
    P = (2 if scale else 1) * K
    layers: list[nn.Module] = []
    for i in range(depth):
        if arch == "ar":
            net = MaskedMLP(T, Fe, K, P, hidden=16) if i % 2 else CausalLSTMNet(Fe, K, P, hidden=8)
            layers.append(AutoregressiveFlow(net, K, scale=scale, reverse=i % 2 == 0))
        else:
            net = BiLSTMNet(Fe, K, P, hidden=8)
            layers.append(BipartiteFlow(net, K, parity=i % 2, axis=axis, scale=scale))
    for layer in layers:
        for m in layer.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=3.0)
    if arch == "ar":
        base: nn.Module = AutoregressiveBase(CausalLSTMNet(Fe, K, K, hidden=8), Fe, K)
    else:
        base = FactorizedBase(T, Fe, K)
        nn.init.normal_(base.table)
    return DiscreteFlow(base, layers)


def every_point(T: int, Fe: int, K: int) -> Tensor:
    """All ``K^(T*Fe)`` one-hot points ``(N, T, Fe, K)`` (float64)."""
    import itertools

    grid = torch.tensor(list(itertools.product(range(K), repeat=T * Fe)))
    return torch.nn.functional.one_hot(grid.view(-1, T, Fe), K).double()


def render(table) -> str:
    """A rich table as the plain text a 200-column terminal shows."""
    from rich.console import Console

    console = Console(record=True, width=200)
    console.print(table)
    return console.export_text()
