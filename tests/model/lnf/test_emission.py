"""The emission p(x_t | z_{1:T}): BiLSTM over z with the shifted directions, tied output."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lnfmusic.model.lnf.emission import Emission
from tests.helpers import tiny_config

pytestmark = pytest.mark.usefixtures("float64")


def make_emission(kind: str = "music", feature: str = "tanh") -> Emission:
    cfg = tiny_config(kind=kind)
    cfg.emission_feature = feature
    weight = nn.Parameter(torch.randn(cfg.output_dim, cfg.embed_dim))
    return Emission(cfg, weight).eval()


def jacobian_norms(em: Emission, T: int = 5) -> torch.Tensor:
    """``J[t, s] = |d logits_t / d z_s|`` for one sequence of length T."""
    H = em.inp.in_features
    z = torch.randn(1, T, H)
    lengths = torch.tensor([T])

    def f(zz: torch.Tensor) -> torch.Tensor:
        return em(zz, lengths)[0]

    jac = torch.autograd.functional.jacobian(f, z)  # (T, V, 1, T, H)
    return jac.squeeze(2).abs().sum((1, 3))


def test_logits_at_t_depend_on_every_step() -> None:
    J = jacobian_norms(make_emission("text"))
    assert torch.all(J > 0)


@pytest.mark.parametrize("feature", ["tanh", "linear"])
def test_z_t_reaches_step_t_only_through_the_direct_path(feature: str) -> None:
    """With the direct path cut, step t sees z_{<t} (forward state at t-1) and z_{>t}
    (backward state at t+1) but not z_t: the two directions are shifted correctly."""
    em = make_emission("text", feature)
    E = em.inp.out_features
    with torch.no_grad():
        em.feature.weight[:, :E] = 0.0
    J = jacobian_norms(em)
    T = J.shape[0]
    eye = torch.eye(T, dtype=torch.bool)
    assert torch.all(J[eye] == 0)
    assert torch.all(J[~eye] > 0)


@pytest.mark.parametrize("feature", ["tanh", "linear"])
def test_forward_state_has_not_read_z_t(feature: str) -> None:
    """Cutting the backward half too: step t depends on z_{<t} only (strictly causal)."""
    em = make_emission("text", feature)
    E, Hs = em.inp.out_features, em.hidden_size
    with torch.no_grad():
        em.feature.weight[:, :E] = 0.0
        em.feature.weight[:, E + Hs :] = 0.0
    J = jacobian_norms(em)
    T = J.shape[0]
    strictly_lower = torch.ones(T, T).tril(-1).bool()
    assert torch.all(J[strictly_lower] > 0)
    assert torch.all(J[~strictly_lower] == 0)


def test_output_weights_are_the_tied_embedding() -> None:
    em = make_emission("text")
    z = torch.randn(2, 3, em.inp.in_features)
    logits = em(z, torch.tensor([3, 2]))
    assert logits.shape == (2, 3, em.embedding.shape[0])
    logits.sum().backward()
    assert em.embedding.grad is not None and em.embedding.grad.abs().sum() > 0


@pytest.mark.parametrize("feature", ["tanh", "linear"])
def test_padding_does_not_change_real_steps(feature: str) -> None:
    em = make_emission(feature=feature)
    z = torch.randn(2, 8, em.inp.in_features)
    lengths = torch.tensor([8, 5])
    both = em(z, lengths)
    z_noisy = z.clone()
    z_noisy[1, 5:] = 100.0  # junk on the padding
    torch.testing.assert_close(em(z_noisy, lengths)[1, :5], both[1, :5])
    torch.testing.assert_close(em(z[1:, :5], lengths[1:])[0], both[1, :5])


def test_the_tanh_feature_bounds_each_logit_and_the_linear_one_does_not() -> None:
    """tanh: |logit_k - bias_k| <= ||E_k||_1, however large the feature's pre-activation;
    linear: the logits scale with it (the reference code's head)."""
    z, lengths = torch.randn(2, 4, tiny_config().latent_dim), torch.tensor([4, 3])
    for feature in ("tanh", "linear"):
        em = make_emission("text", feature)
        with torch.no_grad():
            em.feature.weight.mul_(1000.0)
        logits = em(z, lengths) - em.bias
        bound = em.embedding.abs().sum(1)
        inside = bool(torch.all(logits.abs() <= bound + 1e-9))
        assert inside == (feature == "tanh"), feature


def test_old_configs_load_with_the_tanh_feature() -> None:
    from lnfmusic.config import RunConfig, preset

    d = preset("tiny", "music", "af-scf").to_dict()
    del d["model"]["emission_feature"]  # written before the option
    assert RunConfig.from_dict(d).model.emission_feature == "tanh"
    cfg = tiny_config()
    cfg.emission_feature = "linear"
    assert cfg.variant() == "linear feature"
    cfg.emission = "made"
    assert cfg.variant() == "made emission, linear feature"


# ----------------------------------------------------------------------------------------
# The made emission: the notes of a step autoregressive over pitch


def made_emission(keys: int = 6, strength: float = 3.0) -> Emission:
    """A made emission over ``keys`` keys whose MADE is far from its near-zero start, so the
    keys depend on each other strongly."""
    cfg = tiny_config()
    cfg.output_dim, cfg.emission, cfg.emission_hidden = keys, "made", 24
    em = Emission(cfg, nn.Parameter(torch.randn(keys, cfg.embed_dim))).eval()
    with torch.no_grad():
        em.notes.out.weight.normal_(std=strength)
    return em


def every_pattern(keys: int) -> torch.Tensor:
    codes = torch.arange(2**keys)
    return ((codes[:, None] >> torch.arange(keys)) & 1).to(torch.uint8)  # (2^K, K)


def test_every_steps_distribution_over_all_note_patterns_sums_to_one() -> None:
    em = made_emission()
    H = em.inp.in_features
    z, lengths = torch.randn(1, 3, H), torch.tensor([3])
    patterns = every_pattern(6)
    n = len(patterns)
    x = patterns[:, None, :].expand(n, 3, 6)  # every pattern at each of the 3 steps
    lp = em.log_prob(z.expand(n, 3, H), lengths.expand(n), x)  # (2^K, 3)
    assert torch.allclose(lp.exp().sum(0), torch.ones(3), atol=1e-12)
    # ... and it is not the independent product of the same per-key logits
    feat = em._features(z.expand(n, 3, H), lengths.expand(n))
    from lnfmusic.model.likelihood import step_log_likelihood

    product = step_log_likelihood(em._logits(feat), x, "music")
    assert (lp - product).abs().max() > 0.1


def test_key_k_never_depends_on_keys_at_or_above_k() -> None:
    em = made_emission()
    feat = torch.randn(4, em.notes.ctx.in_features)
    x = torch.randint(0, 2, (4, 6)).double()
    base = em.notes(x, feat)[..., 0]
    for j in range(6):
        flipped = x.clone()
        flipped[:, j] = 1 - flipped[:, j]
        out = em.notes(flipped, feat)[..., 0]
        assert torch.equal(out[:, : j + 1], base[:, : j + 1])  # keys <= j unaffected
        if j < 5:
            assert not torch.allclose(out[:, j + 1 :], base[:, j + 1 :])


def test_gradients_reach_every_parameter_of_the_made_emission() -> None:
    em = made_emission(strength=0.1).train()
    H = em.inp.in_features
    x = torch.randint(0, 2, (2, 5, 6), dtype=torch.uint8)
    (-em.log_prob(torch.randn(2, 5, H), torch.tensor([5, 4]), x).sum()).backward()
    for name, p in em.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_samples_follow_the_density() -> None:
    """Draws from the sequential sampler against the exact pattern probabilities of one
    step: a chi-square test over the 64 patterns (p < 1e-4 would fail)."""
    from scipy.stats import chisquare

    em = made_emission()
    H = em.inp.in_features
    z = torch.randn(1, 1, H)
    N = 40_000
    g = torch.Generator().manual_seed(0)
    x = em.sample(z.expand(N, 1, H), torch.full((N,), 1), generator=g)[:, 0]  # (N, 6)
    codes = (x.long() << torch.arange(6)).sum(-1)
    observed = torch.bincount(codes, minlength=64).double()
    patterns = every_pattern(6)[:, None, :]
    with torch.no_grad():
        probs = em.log_prob(z.expand(64, 1, H), torch.ones(64, dtype=torch.long), patterns)
    probs = probs[:, 0].exp()
    assert probs.max() > 3 * probs.min()  # a non-trivial distribution
    keep = probs * N >= 5
    expected = probs[keep] * N
    stat = chisquare(
        observed[keep].numpy(), (expected * observed[keep].sum() / expected.sum()).numpy()
    )
    assert stat.pvalue > 1e-4, stat


def test_threshold_sampling_is_greedy_given_the_keys_below() -> None:
    em = made_emission()
    H = em.inp.in_features
    z, lengths = torch.randn(3, 4, H), torch.tensor([4, 4, 4])
    x = em.sample(z, lengths, threshold=0.5)
    feat = em._features(z, lengths)
    p = torch.sigmoid(em._logits(feat) + em.notes(x.double(), feat)[..., 0])
    assert torch.equal(x, (p > 0.5).to(torch.uint8))


def test_made_is_for_music_and_old_configs_load_independent() -> None:
    from lnfmusic.config import RunConfig, preset
    from lnfmusic.errors import LnfError

    cfg = preset("tiny", "text", "af-scf")
    cfg.model.data_kind, cfg.model.emission = "text", "made"
    with pytest.raises(LnfError, match="model.emission: made is for music"):
        cfg.validate()
    d = preset("tiny", "music", "af-scf").to_dict()
    del d["model"]["emission"], d["model"]["emission_hidden"]  # written before the option
    assert RunConfig.from_dict(d).model.emission == "independent"
    assert RunConfig.from_dict(d).model.variant() == ""
    assert tiny_config().variant() == ""
    made = tiny_config()
    made.emission = "made"
    assert made.variant() == "made emission"
