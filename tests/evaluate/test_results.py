"""Result types: sums folded in batch by batch, both normalisations, units, JSON."""

from __future__ import annotations

import math

import pytest
import torch

from lnfmusic.evaluate.results import EvalResult, SplitResult


def filled(kind: str = "music") -> SplitResult:
    r = SplitResult("test", kind, samples=5, elbo_samples=2)
    # two batches: lengths, log p(T), recon, kl, log p̂
    r.add(
        torch.tensor([3, 2]),
        torch.tensor([-1.0, -2.0], dtype=torch.float64),
        torch.tensor([-10.0, -6.0]),
        torch.tensor([2.0, 1.0]),
        torch.tensor([-11.0, -6.5]),
    )
    r.add(
        torch.tensor([4]),
        torch.tensor([-0.5], dtype=torch.float64),
        torch.tensor([-12.0]),
        torch.tensor([3.0]),
        torch.tensor([-14.0]),
    )
    return r


def test_sums_by_hand() -> None:
    r = filled()
    assert (r.num_sequences, r.num_steps, r.paper_steps) == (3, 9, 12)
    assert r.nll == pytest.approx(31.5) and r.neg_log_length == pytest.approx(3.5)
    assert r.neg_recon == pytest.approx(28.0) and r.kl == pytest.approx(6.0)
    assert r.neg_elbo == pytest.approx(34.0)
    assert r.nll_with_length == pytest.approx(35.0)
    assert r.neg_elbo_with_length == pytest.approx(37.5)


def test_normalisations_and_units() -> None:
    m = filled().metrics()
    assert m["nll_paper"] == pytest.approx(35.0 / 12) and m["nll_frame"] == pytest.approx(31.5 / 9)
    assert m["neg_elbo_paper"] == pytest.approx(37.5 / 12)
    assert m["recon_frame"] == pytest.approx(28.0 / 9) and m["kl_frame"] == pytest.approx(6.0 / 9)
    assert m["length_paper"] == pytest.approx(3.5 / 12)
    text = filled("text")
    assert text.unit == "bpc" and filled().unit == "nats/step"
    assert text.metrics()["nll_paper"] == pytest.approx(35.0 / 12 / math.log(2))
    assert text.paper_nats(35.0) == pytest.approx(35.0 / 12)  # nats whatever the kind


def test_without_importance_samples_and_empty_splits() -> None:
    r = SplitResult("valid")
    r.add(torch.tensor([2]), torch.tensor([-1.0], dtype=torch.float64), torch.tensor([-3.0]),
          torch.tensor([1.0]))  # fmt: skip
    assert r.nll == 0.0 and r.neg_elbo_with_length == pytest.approx(5.0)
    assert SplitResult("x").metrics()["nll_paper"] == 0.0  # no division by zero


def test_per_note_divides_by_the_sounding_notes() -> None:
    r = SplitResult("test", num_steps=10, num_sequences=2, nll=40.0, neg_elbo=50.0, num_notes=16)
    m = r.metrics()
    assert m["nll_note"] == pytest.approx(2.5) and m["neg_elbo_note"] == pytest.approx(50 / 16)
    assert m["nll_frame"] == pytest.approx(4.0)  # per step: all 88 keys of an instant
    assert r.to_dict()["num_notes"] == 16
    assert math.isnan(SplitResult("test").metrics()["nll_note"])  # notes not counted


def test_to_dict_and_labels() -> None:
    d = filled().to_dict()
    assert d["samples"] == 5 and d["unit"] == "nats/step" and d["num_steps"] == 9
    assert d["sums_nats"]["nll"] == pytest.approx(31.5)
    assert SplitResult("t", samples=None).to_dict()["samples"] == "exact"
    res = EvalResult("a.pt", "jsb", "music", "af-scf", "small", 0, splits={"test": filled()})
    assert res.label == "LNF AF/SCF (ours, small)"
    assert EvalResult("b.pt", "jsb", "music", "new", "tiny", 0).label == "new (ours, tiny)"
    made = EvalResult("c.pt", "jsb", "music", "af-scf", "small", 0, "made emission")
    assert made.label == "LNF AF/SCF (ours, small, made emission)"
    assert made.to_dict()["variant"] == "made emission" and res.to_dict()["variant"] == ""
    assert res.to_dict()["splits"]["test"]["nll_paper"] == pytest.approx(35.0 / 12)
