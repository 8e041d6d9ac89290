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
from lnfmusic.sample import decode_text, default_checkpoint_path, sample_music, sample_text

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
    texts = sample_text(bundle, SampleConfig(num=4, length=30, seed=3))
    assert len(texts) == 4
    for t in texts:
        assert len(t) == 30 and set(t) <= {" ", "a", "b", "c"} and "_" not in t
    assert sample_text(bundle, SampleConfig(num=4, length=30, seed=3)) == texts


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
