"""Generation from tiny (untrained) models of every kind, through ``lnfmusic.sample``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lnfmusic
from lnfmusic.checkpoint import DatasetInfo, ModelBundle
from lnfmusic.config import SampleConfig, preset
from lnfmusic.data.length_prior import LengthPrior
from lnfmusic.errors import LnfError
from lnfmusic.model.registry import build_model
from lnfmusic.sample import (
    decode_text,
    default_checkpoint_path,
    sample_music,
    sample_text,
    shipped_models,
)

TRAIN_LENGTHS = [6, 8, 8, 10, 12]
VOCAB = {"chars": ["_", "a", "b", "c"], "unk": None}


def tiny(model: str, kind: str = "music") -> ModelBundle:
    """A randomly initialised tiny model with the record a checkpoint would carry."""
    cfg = preset("tiny", kind, model)
    prior = LengthPrior.from_lengths(TRAIN_LENGTHS, smoothing=1.0, extend=1.25)
    cfg.model.data_kind = kind
    cfg.model.output_dim = 88 if kind == "music" else len(VOCAB["chars"])
    cfg.model.max_length = prior.max_length
    meta = (
        {"pitch_offset": 21, "num_pitches": 88, "steps_per_beat": 2}
        if kind == "music"
        else {"vocab": VOCAB, "word_boundary": "_"}
    )
    return ModelBundle(build_model(cfg.model).eval(), cfg, DatasetInfo("x", kind, meta, prior))


@pytest.mark.parametrize("model_name", ["af-af", "af-scf", "iaf-scf", "af-only", "lstm"])
def test_music_samples_are_binary_rolls_with_lengths_from_the_prior(model_name: str) -> None:
    bundle = tiny(model_name)
    rolls = sample_music(bundle, SampleConfig(num=3, seed=1))
    support = bundle.dataset.length_prior.max_length
    assert len(rolls) == 3
    for roll in rolls:
        assert roll.dtype == np.uint8 and roll.ndim == 2 and roll.shape[1] == 88
        assert 1 <= len(roll) <= support
        assert set(np.unique(roll)) <= {0, 1}
    fixed = sample_music(bundle, SampleConfig(num=2, length=7, seed=1))
    assert [len(r) for r in fixed] == [7, 7]


def test_same_seed_same_samples_and_sample_i_reproduces_alone() -> None:
    bundle = tiny("iaf-scf")
    a = sample_music(bundle, SampleConfig(num=3, seed=10))
    b = sample_music(bundle, SampleConfig(num=3, seed=10))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    alone = sample_music(bundle, SampleConfig(num=1, seed=12))[0]
    assert np.array_equal(alone, a[2])
    other = sample_music(bundle, SampleConfig(num=3, seed=11))
    assert not all(np.array_equal(x, y) for x, y in zip(a, other, strict=True))


def test_threshold_replaces_bernoulli_draws() -> None:
    bundle = tiny("af-scf")  # untrained: every note probability is far from 0 and 1
    high = sample_music(bundle, SampleConfig(num=2, length=9, threshold=1 - 1e-9, seed=0))
    low = sample_music(bundle, SampleConfig(num=2, length=9, threshold=1e-9, seed=0))
    assert all(r.sum() == 0 for r in high)
    assert all(r.sum() == r.size for r in low)


def test_bad_options_are_errors() -> None:
    bundle = tiny("lstm")
    for kwargs in ({"num": 0}, {"temperature": 0.0}, {"threshold": 1.5}, {"length": 0}):
        with pytest.raises(LnfError):
            sample_music(bundle, SampleConfig(**{"num": 1, **kwargs}))


def test_kinds_must_match() -> None:
    bundle = tiny("lstm", "text")
    with pytest.raises(LnfError, match="text checkpoint"):
        sample_music(bundle, SampleConfig(num=1))
    bundle = tiny("lstm", "music")
    with pytest.raises(LnfError, match="music checkpoint"):
        sample_text(bundle, SampleConfig(num=1))


@pytest.mark.parametrize("model_name", ["iaf-scf", "lstm"])
def test_text_samples_decode_word_boundaries_to_spaces(model_name: str) -> None:
    bundle = tiny(model_name, "text")
    texts = sample_text(bundle, SampleConfig(num=4, length=12, seed=3))
    assert len(texts) == 4
    for t in texts:
        assert len(t) == 12 and set(t) <= {" ", "a", "b", "c"} and "_" not in t
    assert sample_text(bundle, SampleConfig(num=4, length=12, seed=3)) == texts


def test_decode_text() -> None:
    assert decode_text(np.array([1, 0, 2, 3]), {"vocab": VOCAB, "word_boundary": "_"}) == "a bc"
    assert decode_text(np.array([1, 0, 2]), {"vocab": VOCAB}) == "a_b"


def test_default_checkpoint_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_pkg = tmp_path / "repo" / "lnfmusic" / "__init__.py"
    monkeypatch.setattr(lnfmusic, "__file__", str(fake_pkg))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LNF_MODEL_DIR", raising=False)
    with pytest.raises(LnfError, match="no default model"):
        default_checkpoint_path()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "default.pt").write_bytes(b"x")
    assert default_checkpoint_path() == Path("models") / "default.pt"
    (tmp_path / "repo" / "models").mkdir(parents=True)
    (tmp_path / "repo" / "models" / "default.pt").write_bytes(b"x")
    assert default_checkpoint_path() == tmp_path / "repo" / "models" / "default.pt"
    env = tmp_path / "env"
    env.mkdir()
    (env / "default.pt").write_bytes(b"x")
    monkeypatch.setenv("LNF_MODEL_DIR", str(env))
    assert default_checkpoint_path() == env / "default.pt"


def test_the_default_text_model_has_its_own_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LNF_MODEL_DIR", str(tmp_path))
    (tmp_path / "default.pt").write_bytes(b"x")
    (tmp_path / "default-text.pt").write_bytes(b"x")
    assert default_checkpoint_path("text") == tmp_path / "default-text.pt"
    assert default_checkpoint_path("music") == tmp_path / "default.pt"


def test_shipped_models_are_every_model_beside_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LNF_MODEL_DIR", str(tmp_path))
    for name in ("default.pt", "b.pt", "a.pt", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert shipped_models() == [tmp_path / n for n in ("a.pt", "b.pt", "default.pt")]


# ----------------------------------------------------------------------------------------
# Seeds, lengths like the data, continuation, variations, interpolation


def test_without_a_seed_each_call_draws_a_fresh_one() -> None:
    from lnfmusic.sample import with_seed

    seeds = {with_seed(SampleConfig()).seed for _ in range(5)}
    assert len(seeds) == 5 and all(0 <= s < 2**32 for s in seeds)
    assert with_seed(SampleConfig(seed=7)).seed == 7
    with pytest.raises(LnfError, match="seed"):
        with_seed(SampleConfig(num=3, seed=2**63 - 2))


def test_lengths_are_drawn_from_the_training_lengths_not_the_smoothed_prior() -> None:
    from lnfmusic.sample import sample_lengths

    bundle = tiny("af-scf")
    drawn = sample_lengths(bundle, SampleConfig(num=400, seed=0))
    assert set(drawn) == set(TRAIN_LENGTHS)
    assert abs(np.mean(drawn) - np.mean(TRAIN_LENGTHS)) < 0.4
    assert set(sample_lengths(bundle, SampleConfig(num=100, seed=0), longer_than=8)) == {10, 12}
    # nothing seen beyond 12, so the smoothed p(T) (1..15) gives the longer lengths
    assert set(sample_lengths(bundle, SampleConfig(num=200, seed=0), longer_than=12)) <= {
        13,
        14,
        15,
    }


def test_lengths_beyond_the_position_embeddings_are_refused() -> None:
    bundle = tiny("af-af")
    with pytest.raises(LnfError, match="length 16 is beyond the 15 steps"):
        sample_music(bundle, SampleConfig(length=16, seed=0))


@pytest.mark.parametrize("model_name", ["af-scf", "iaf-scf", "lstm"])
def test_continuations_keep_the_primer_and_reach_the_length(model_name: str) -> None:
    from lnfmusic.sample import continue_sequence

    bundle = tiny(model_name)
    primer = (np.random.default_rng(0).random((5, 88)) < 0.1).astype(np.uint8)
    rolls = continue_sequence(bundle, primer, SampleConfig(num=4, seed=2), "music")
    for roll in rolls:
        assert len(roll) in {6, 8, 10, 12} and np.array_equal(roll[:5], primer)
    fixed = continue_sequence(bundle, primer, SampleConfig(length=9, seed=2), "music")[0]
    assert len(fixed) == 9 and np.array_equal(fixed[:5], primer)
    with pytest.raises(LnfError, match="--length 5 must exceed the primer's 5 steps"):
        continue_sequence(bundle, primer, SampleConfig(length=5, seed=2), "music")
    with pytest.raises(LnfError, match="primer has 15 steps"):
        continue_sequence(bundle, np.zeros((15, 88), np.uint8), SampleConfig(seed=0), "music")


def test_models_that_cannot_continue_or_encode_say_so() -> None:
    from lnfmusic.sample import continue_sequence, interpolate, variations

    roll = np.zeros((6, 88), np.uint8)
    with pytest.raises(LnfError, match="df-bipartite model cannot continue"):
        continue_sequence(tiny("df-bipartite"), roll, SampleConfig(seed=0), "music")
    for fn in (lambda b: variations(b, roll, SampleConfig(seed=0)),
               lambda b: interpolate(b, roll, roll, 3, SampleConfig(seed=0))):  # fmt: skip
        with pytest.raises(LnfError, match="needs a model with latents.*lstm model"):
            fn(tiny("lstm"))


def test_variations_keep_the_length_and_temperature_zero_is_the_mean_decoded() -> None:
    from lnfmusic.sample import variations

    bundle = tiny("af-scf")
    roll = (np.random.default_rng(1).random((9, 88)) < 0.1).astype(np.uint8)
    out = variations(bundle, roll, SampleConfig(num=3, seed=4))
    assert [len(r) for r in out] == [9, 9, 9] and not np.array_equal(out[0], out[1])
    mean = variations(bundle, roll, SampleConfig(num=2, seed=4, threshold=0.5, temperature=1e-9))
    assert np.array_equal(mean[0], mean[1])  # no spread, deterministic notes


def test_slerp_ends_and_norm() -> None:
    import torch

    from lnfmusic.sample import slerp

    a, b = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    b = b * a.norm() / b.norm()
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b)
    assert torch.allclose(slerp(a, b, 0.3).norm(), a.norm())
    assert torch.allclose(slerp(a, 2 * a, 0.5), 1.5 * a)  # parallel: linear


def test_interpolation_crops_to_the_shorter_piece_and_ends_near_the_pieces() -> None:
    from lnfmusic.sample import interpolate

    bundle = tiny("iaf-scf")
    rng = np.random.default_rng(2)
    a = (rng.random((12, 88)) < 0.1).astype(np.uint8)
    b = (rng.random((8, 88)) < 0.1).astype(np.uint8)
    path = interpolate(bundle, a, b, 4, SampleConfig(seed=0))
    assert [len(r) for r in path] == [8] * 4
    assert [len(r) for r in interpolate(bundle, a, b, 2, SampleConfig(seed=0, length=5))] == [5, 5]
    with pytest.raises(LnfError, match="longer than the shorter piece"):
        interpolate(bundle, a, b, 3, SampleConfig(seed=0, length=9))
    with pytest.raises(LnfError, match="at least 2"):
        interpolate(bundle, a, b, 1, SampleConfig(seed=0))


def test_shipped_model_names_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lnfmusic.sample import resolve_checkpoint

    (tmp_path / "default.pt").write_bytes(b"")
    (tmp_path / "nottingham.pt").write_bytes(b"")
    monkeypatch.setenv("LNF_MODEL_DIR", str(tmp_path))
    assert resolve_checkpoint("nottingham", "music") == tmp_path / "nottingham.pt"
    assert resolve_checkpoint(None, "music") == tmp_path / "default.pt"
    assert resolve_checkpoint("some/file.pt", "music") == Path("some/file.pt")
    with pytest.raises(LnfError, match="nor a shipped model.*default, nottingham"):
        resolve_checkpoint("piano", "music")


def test_prefix_text_uses_the_model_vocabulary() -> None:
    from lnfmusic.sample import continue_sequence, decode_text, encode_prefix

    bundle = tiny("lstm", "text")
    ids = encode_prefix(bundle, "ab ca")
    assert decode_text(ids, bundle.dataset.meta) == "ab ca"
    out = continue_sequence(bundle, ids, SampleConfig(num=2, length=9, seed=0), "text")
    assert all(decode_text(s, bundle.dataset.meta).startswith("ab ca") for s in out)
    with pytest.raises(LnfError, match="--prefix: unknown character 'z'"):
        encode_prefix(bundle, "abz")
