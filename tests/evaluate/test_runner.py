"""Evaluation maths on a model whose likelihood is known in closed form.

The fake model: ``z_t ~ N(0, 1)``, ``x_t | z_t ~ N(z_t, sigma^2)`` (one real number per step),
so ``p(x_t) = N(0, 1 + sigma^2)``; the proposal is ``q(z_t | x_t) = N(a x_t, s^2)``. With
``a = 1 / (1 + sigma^2)`` and ``s^2 = sigma^2 / (1 + sigma^2)`` q is the exact posterior and
every importance weight equals ``log p(x)``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from rich.console import Console
from torch import Tensor, nn

from lnfmusic.checkpoint import DatasetInfo, ModelBundle
from lnfmusic.config import EvalConfig, RunConfig
from lnfmusic.data.batching import Batch
from lnfmusic.data.dataset import SequenceDataset
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.evaluate import (
    evaluate_checkpoint,
    grid_rows,
    grid_table,
    reference_table,
    result_table,
    results_json,
)
from lnfmusic.evaluate.estimators import LogMeanExp, budget_batches
from lnfmusic.model.base import ModelOutput, SequenceModel
from lnfmusic.model.config import ModelConfig

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
    info = DatasetInfo("fake", "music", {}, prior)
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


@pytest.mark.parametrize("samples,max_elements", [(1, 10_000), (7, 10_000), (7, 13)])
def test_is_nll_is_exact_when_q_is_the_posterior(samples: int, max_elements: int) -> None:
    data = make_data(LENGTHS)
    res = evaluate(
        posterior_model(),
        make_ckpt(LENGTHS),
        data,
        "test",
        num_samples=samples,
        batch_size=3,
        max_elements=max_elements,
    )
    r = res.splits["test"]
    assert r.nll == pytest.approx(-exact_log_p(data).sum(), rel=1e-10)
    assert r.samples == samples and r.num_sequences == len(LENGTHS)
    assert r.num_steps == sum(LENGTHS)


def test_is_nll_converges_to_exact_nll_and_bounds_the_elbo() -> None:
    data = make_data(LENGTHS)
    ckpt = make_ckpt(LENGTHS)
    exact = -exact_log_p(data).sum()
    few = evaluate(mismatched_model(), ckpt, data, num_samples=2, elbo_samples=1)
    many = evaluate(
        mismatched_model(), ckpt, data, num_samples=4000, elbo_samples=4000, max_elements=20_000
    )
    f, m = few.splits["test"], many.splits["test"]
    assert m.nll == pytest.approx(exact, abs=0.05 * len(LENGTHS))
    # IS-NLL is an upper bound on the exact NLL in expectation; the ELBO is looser still.
    assert m.neg_elbo > m.nll + 1.0
    assert abs(m.nll - exact) < abs(f.nll - exact)
    recon, kl = analytic_elbo_terms(data, 0.4, 0.9)
    assert -m.neg_recon == pytest.approx(recon, rel=0.02)
    assert m.kl == pytest.approx(kl, rel=0.02)
    assert m.neg_elbo == pytest.approx(m.neg_recon + m.kl, rel=1e-12)


def test_normalisations_by_hand() -> None:
    lengths = [2, 3]
    data = make_data(lengths)
    ckpt = make_ckpt([2, 3, 3, 4])
    r = evaluate(posterior_model(), ckpt, data, num_samples=3).splits["test"]
    nll = -exact_log_p(data).sum()
    probs = ckpt.probs
    neg_log_t = -(math.log(probs[1]) + math.log(probs[2]))
    m = r.metrics()
    assert m["nll_paper"] == pytest.approx((nll + neg_log_t) / (5 + 2), rel=1e-10)
    assert m["nll_frame"] == pytest.approx(nll / 5, rel=1e-10)

    text = make_data(lengths, kind="text")
    t = evaluate(posterior_model(), ckpt, text, num_samples=3).splits["test"]
    nll_text = -exact_log_p(text).sum()
    mt = t.metrics()
    assert t.unit == "bpc"
    assert mt["nll_paper"] == pytest.approx((nll_text + neg_log_t) / 7 / math.log(2), rel=1e-10)
    assert mt["nll_frame"] == pytest.approx(nll_text / 5 / math.log(2), rel=1e-10)


def test_same_seed_same_numbers_and_global_rng_untouched() -> None:
    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = evaluate(mismatched_model(), ckpt, data, ["test", "valid"], num_samples=5, seed=4)
    assert torch.equal(torch.rand(3), expected_next)
    b = evaluate(mismatched_model(), ckpt, data, ["test", "valid"], num_samples=5, seed=4)
    c = evaluate(mismatched_model(), ckpt, data, ["test", "valid"], num_samples=5, seed=5)
    assert a.to_dict() == b.to_dict()
    assert a.splits["test"].nll != c.splits["test"].nll


def test_running_logmeanexp_equals_one_shot() -> None:
    w = torch.randn(23, 4, dtype=torch.float64) * 30
    acc = LogMeanExp()
    for chunk in torch.split(w, [5, 1, 10, 7]):
        acc.add(chunk)
    expected = torch.logsumexp(w, 0) - math.log(23)
    assert torch.allclose(acc.value(), expected, rtol=0, atol=1e-12)


def test_chunked_samples_agree_with_unchunked() -> None:
    """Different chunkings draw different noise, so agreement is up to Monte Carlo error;
    with q the exact posterior it is exact (tested above)."""
    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    one = evaluate(mismatched_model(), ckpt, data, num_samples=400, max_elements=1_000_000).splits[
        "test"
    ]
    many = evaluate(mismatched_model(), ckpt, data, num_samples=400, max_elements=40).splits["test"]
    assert one.nll == pytest.approx(many.nll, abs=0.1 * len(LENGTHS))


def test_budget_batches_cover_each_sequence_once_within_budget() -> None:
    rng = np.random.default_rng(1)
    seqs = [np.zeros((int(T), 1), np.float32) for T in rng.integers(1, 60, size=40)]
    seen = []
    for batch in budget_batches(seqs, batch_size=6, max_elements=100):
        assert len(batch) <= 6
        assert len(batch) == 1 or len(batch) * int(batch.lengths.max()) <= 100
        seen += batch.index.tolist()
    assert sorted(seen) == list(range(40))


def test_exact_model_reports_exact() -> None:
    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    res = evaluate(ExactModel(), ckpt, data, num_samples=50)
    r = res.splits["test"]
    assert r.samples is None and r.to_dict()["samples"] == "exact"
    assert r.nll == pytest.approx(-exact_log_p(data).sum(), rel=1e-12)
    assert r.kl == 0.0 and r.neg_elbo == pytest.approx(r.nll)


def test_bad_split_and_samples_are_one_line_errors() -> None:
    from lnfmusic.errors import LnfError

    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    with pytest.raises(LnfError, match="no split 'train'"):
        evaluate(posterior_model(), ckpt, data, "train")
    with pytest.raises(LnfError, match="at least 1"):
        evaluate(posterior_model(), ckpt, data, num_samples=0)


def render(table) -> str:
    console = Console(record=True, width=200)
    console.print(table)
    return console.export_text()


def test_tables_and_json_carry_the_same_numbers() -> None:
    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    res = evaluate(posterior_model(), ckpt, data, ["test", "valid"], num_samples=2, name="a.pt")
    res.dataset = "jsb"
    other = evaluate(ExactModel(), ckpt, data, num_samples=2, name="b.pt")
    other.dataset = "jsb"
    m = res.splits["test"].metrics()
    text = render(result_table(res))
    assert f"{m['nll_paper']:.3f}" in text and f"{m['nll_frame']:.3f}" in text
    assert "valid" in text and "paper" in text and "per-frame" in text

    grid = render(grid_table([res, other]))
    assert "JSB" in grid and "RNN-NADE (paper)" in grid and "5.19" in grid
    assert f"{m['nll_paper']:.3f}" in grid
    assert f"{other.splits['test'].metrics()['nll_paper']:.3f}" in grid

    doc = json.loads(results_json([res, other]))
    assert doc["results"][0]["splits"]["test"]["nll_paper"] == m["nll_paper"]
    assert doc["results"][1]["splits"]["test"]["samples"] == "exact"
    assert doc["grid"]["splits"]["test"] == grid_rows([res, other])
    assert doc["reference"]["LNF AF/AF"]["JSB"] == 6.53


def test_reference_table_has_the_papers_rows() -> None:
    ref = reference_table()
    assert ref["LNF IAF/SCF"] == {
        "Nottingham": 2.54,
        "Piano": 8.25,
        "MuseData": 7.06,
        "JSB": 6.59,
        "PTB (bpc)": 1.63,
    }
    assert ref["LSTM (sentence-wise)"] == {"PTB (bpc)": 1.41}
    assert ref["DMM"]["Piano"] == 7.83
