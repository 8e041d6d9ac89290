"""The independent-Bernoulli floor against a count by hand, and its tables and JSON."""

from __future__ import annotations

import json
import math

import numpy as np

from lnfmusic.evaluate import bernoulli_floor, floor_table, results_json
from tests.helpers import LENGTHS, ExactModel, evaluate, make_ckpt, make_data, render


def test_floor_matches_a_count_by_hand() -> None:
    train = [np.zeros((3, 88), np.uint8), np.zeros((1, 88), np.uint8)]
    train[0][:, 0] = 1  # key 0 on in 3 of 4 steps, key 1 in 1 of 4, the rest never
    train[1][0, 1] = 1
    test = [np.zeros((2, 88), np.uint8)]
    test[0][0, [0, 1]] = 1  # step 1: keys 0 and 1; step 2: silence
    p0, p1, p_rest = 4 / 6, 2 / 6, 1 / 6  # add-one smoothing over 4 steps
    step1 = -math.log(p0) - math.log(p1) - 86 * math.log(1 - p_rest)
    step2 = -math.log(1 - p0) - math.log(1 - p1) - 86 * math.log(1 - p_rest)
    assert math.isclose(bernoulli_floor(train, test), (step1 + step2) / 2, rel_tol=1e-12)


def test_a_model_that_knows_more_removes_a_share_of_the_floor() -> None:
    rng = np.random.default_rng(0)
    rolls = [(rng.random((5, 88)) < 0.1).astype(np.uint8) for _ in range(20)]
    assert bernoulli_floor(rolls, rolls) < bernoulli_floor(rolls[:1], rolls)  # fit < unfit
    assert bernoulli_floor(rolls, rolls) < 88 * math.log(2)  # beats a fair coin per key


def test_floor_table_and_json_carry_the_per_frame_numbers() -> None:
    data, ckpt = make_data(LENGTHS), make_ckpt(LENGTHS)
    res = evaluate(ExactModel(), ckpt, data, num_samples=2, name="b.pt")
    res.dataset = "jsb"
    frame = res.splits["test"].metrics()["nll_frame"]
    floors = {"test": {"JSB": frame * 2}}
    text = render(floor_table([res], floors["test"]))
    assert "independent Bernoulli floor" in text
    assert f"{frame * 2:.3f}" in text and f"{frame:.3f} (50%)" in text
    doc = json.loads(results_json([res], "test", floors))
    assert doc["floor"]["splits"]["test"]["independent Bernoulli floor"] == {"JSB": frame * 2}
    assert doc["floor"]["splits"]["test"][res.label] == {"JSB": frame}
    assert "floor" not in json.loads(results_json([res], "test"))
    # text models only: floors_by_column gives empty rows, and the JSON has no floor section
    assert "floor" not in json.loads(results_json([res], "test", {"test": {}}))
