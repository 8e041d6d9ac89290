"""Tables and JSON carry exactly the numbers of the results."""

from __future__ import annotations

import json

from lnfmusic.evaluate import grid_rows, grid_table, result_table, results_json
from tests.helpers import (
    LENGTHS,
    ExactModel,
    evaluate,
    make_ckpt,
    make_data,
    posterior_model,
    render,
)


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


def test_results_rebuild_from_their_json_exactly(tmp_path) -> None:
    from lnfmusic.evaluate import read_results_json
    from lnfmusic.evaluate.results import EvalResult, SplitResult

    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    res = evaluate(posterior_model(), ckpt, data, ["test", "valid"], num_samples=2, name="a.pt")
    exact = evaluate(ExactModel(), ckpt, data, num_samples=2, name="b.pt")
    for r in (res, exact):
        assert EvalResult.from_dict(r.to_dict()) == r
    path = tmp_path / "r.json"
    path.write_text(results_json([res, exact], ["test", "valid"]))
    assert read_results_json(path) == ([res, exact], {})
    # JSON of an earlier version, without the sums that include -log p(T)
    old = res.splits["test"].to_dict()
    del old["sums_nats"]["nll_with_length"], old["sums_nats"]["neg_elbo_with_length"]
    rebuilt = SplitResult.from_dict(old).metrics()
    for key, value in res.splits["test"].metrics().items():
        assert abs(rebuilt[key] - value) <= 1e-12 * abs(value), key
