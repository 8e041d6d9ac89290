"""The named flow priors p(z | T): invertibility, exact densities, causality, padding."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import jacobian

from lnfmusic.flows.prior import FlowPrior, build_prior

pytestmark = pytest.mark.usefixtures("float64")

H = 3
MODELS = ["af-af", "af-scf", "iaf-scf", "af-only"]
CASES = [
    (model, transform, hidden)
    for model in MODELS
    for transform in ("nlsq", "affine")
    for hidden in (None, "none")
]
IDS = [f"{m}-{t}-{h or 'default'}" for m, t, h in CASES]


def make_prior(
    model: str,
    transform: str = "nlsq",
    hidden_flow: str | None = None,
    seed: int = 0,
    dropout: float = 0.0,
    scale: float = 0.3,
) -> FlowPrior:
    """A small float64 prior in eval mode with moderately random weights (the default init
    is close to the identity and would hide mistakes)."""
    torch.manual_seed(seed)
    prior = small_prior(model, transform, hidden_flow, dropout)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in prior.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale)
    return prior.eval()


def small_prior(
    model: str, transform: str = "nlsq", hidden_flow: str | None = None, dropout: float = 0.0
) -> FlowPrior:
    return build_prior(
        model,
        latent_dim=H,
        hidden_size=6,
        num_layers=2,
        flow_layers=2,
        flow_hidden=8,
        transform=transform,
        hidden_flow=hidden_flow,
        dropout=dropout,
        max_length=12,
    )


def noise(B: int, T: int, seed: int = 2) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, H, generator=gen)


def std_normal(eps: torch.Tensor) -> torch.Tensor:
    return (-0.5 * eps * eps - 0.5 * math.log(2 * math.pi)).sum()


@pytest.mark.parametrize("model,transform,hidden", CASES, ids=IDS)
def test_round_trip_eps_z_eps(model: str, transform: str, hidden: str | None) -> None:
    prior = make_prior(model, transform, hidden)
    lengths = torch.tensor([5, 3, 1])
    eps = noise(3, 5)
    z, ladj_sample = prior(eps, lengths)
    eps2, ladj_density = prior.inverse(z, lengths)
    m = torch.arange(5)[None, :] < lengths[:, None]
    torch.testing.assert_close(eps2[m], eps[m], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ladj_density, -ladj_sample, rtol=1e-6, atol=1e-6)
    lp_sample = torch.stack([std_normal(eps[b, : lengths[b]]) for b in range(3)]) - ladj_sample
    torch.testing.assert_close(prior.log_prob(z, lengths), lp_sample, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("model,transform,hidden", CASES, ids=IDS)
def test_total_log_det_equals_jacobian_slogdet(
    model: str, transform: str, hidden: str | None
) -> None:
    """One sequence, the whole T x H map at once: log p(z) = log N(eps) - log|det dz/deps|."""
    prior = make_prior(model, transform, hidden)
    T = 4
    lengths = torch.tensor([T])
    eps = noise(1, T)
    z, ladj = prior(eps, lengths)
    jac = jacobian(lambda e: prior(e.view(1, T, H), lengths)[0].flatten(), eps.flatten())
    sign, logdet = torch.linalg.slogdet(jac)
    assert sign > 0
    torch.testing.assert_close(ladj[0], logdet, rtol=1e-8, atol=1e-8)
    lp = prior.log_prob(z, lengths)
    torch.testing.assert_close(lp[0], std_normal(eps) - logdet, rtol=1e-8, atol=1e-8)
    # density direction: log p(z) = log N(eps(z)) + log|det deps/dz|
    jac_inv = jacobian(lambda v: prior.inverse(v.view(1, T, H), lengths)[0].flatten(), z.flatten())
    lp_inv = prior.log_prob(z, lengths)
    torch.testing.assert_close(
        lp_inv[0], std_normal(eps) + torch.linalg.slogdet(jac_inv)[1], rtol=1e-8, atol=1e-8
    )


@pytest.mark.parametrize("model", MODELS)
def test_log_prob_of_samples_matches_sample(model: str, device: torch.device) -> None:
    prior = make_prior(model).to(device)
    lengths = torch.tensor([6, 4, 4, 1])
    gen = torch.Generator().manual_seed(5)
    z, lp = prior.sample(lengths, generator=gen)
    assert z.shape == (4, 6, H) and lp.shape == (4,) and z.device.type == device.type
    m = (torch.arange(6)[None, :] < lengths[:, None]).to(device)
    assert (z[~m] == 0).all()  # zeros on padding
    torch.testing.assert_close(prior.log_prob(z, lengths), lp, rtol=1e-6, atol=1e-6)
    # a temperature changes the draw, not the density the sample reports
    z_t, lp_t = prior.sample(lengths, temperature=0.5, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(prior.log_prob(z_t, lengths), lp_t, rtol=1e-6, atol=1e-6)
    assert not torch.allclose(z_t, z)


@pytest.mark.parametrize("model", MODELS)
def test_causality(model: str) -> None:
    """Perturbing z_t changes no eps_s (s < t) in the density direction; perturbing eps_t
    changes no z_s (s < t) in the sampling direction; and the log-density of the prefix
    (length t) ignores everything from t on."""
    prior = make_prior(model)
    T = 6
    lengths = torch.tensor([T])
    eps = noise(1, T)
    z, _ = prior(eps, lengths)
    for t in range(T):
        z2 = z.clone()
        z2[:, t] += 0.7
        e1, _ = prior.inverse(z, lengths)
        e2, _ = prior.inverse(z2, lengths)
        assert torch.equal(e1[:, :t], e2[:, :t])
        assert not torch.allclose(e1[:, t], e2[:, t])
        eps2 = eps.clone()
        eps2[:, t] -= 0.9
        z3, _ = prior(eps2, lengths)
        assert torch.equal(z3[:, :t], z[:, :t])
        assert not torch.allclose(z3[:, t], z[:, t])
    # a prefix's density: the steps from t on are padding
    for t in range(1, T):
        z2 = z.clone()
        z2[:, t:] = torch.randn(1, T - t, H, dtype=z.dtype)
        short = torch.tensor([t])
        torch.testing.assert_close(
            prior.log_prob(z2, short), prior.log_prob(z, short), rtol=0, atol=1e-12
        )


@pytest.mark.parametrize("model", MODELS)
def test_padding_invariance(model: str) -> None:
    """Extra padded steps full of garbage, and batch neighbours, change nothing."""
    prior = make_prior(model)
    lengths = torch.tensor([5, 3, 2])
    z, _ = prior(noise(3, 5), lengths)
    ref = prior.log_prob(z, lengths)
    garbage = torch.randn(3, 4, H, dtype=z.dtype) * 50
    padded = torch.cat([z, garbage], 1)
    m = torch.arange(5)[None, :] < lengths[:, None]
    padded[:, :5][~m] = torch.randn(int((~m).sum()), H, dtype=z.dtype) * 50
    torch.testing.assert_close(prior.log_prob(padded, lengths), ref, rtol=0, atol=1e-10)
    for b in range(3):
        n = int(lengths[b])
        alone = prior.log_prob(z[b : b + 1, :n], lengths[b : b + 1])
        torch.testing.assert_close(alone, ref[b : b + 1], rtol=0, atol=1e-10)


@pytest.mark.parametrize("model,transform,hidden", CASES, ids=IDS)
def test_gradient_on_every_parameter(model: str, transform: str, hidden: str | None) -> None:
    """Default init, training mode: both the density and the sampling direction reach every
    parameter (and the input)."""
    prior = small_prior(model, transform, hidden).train()
    lengths = torch.tensor([4, 2])
    z = noise(2, 4).requires_grad_(True)
    prior.log_prob(z, lengths).sum().backward()
    for name, p in prior.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"log_prob: {name}"
    assert (z.grad[0].abs() > 0).all() and (z.grad[1, :2].abs() > 0).all()
    assert (z.grad[1, 2:] == 0).all()  # padding gets none
    prior.zero_grad()
    zs, lp = prior.sample(lengths)
    ((zs**2).sum() + lp.sum()).backward()
    for name, p in prior.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"sample: {name}"


@pytest.mark.parametrize("model", MODELS)
def test_state_dict_round_trip(model: str, tmp_path) -> None:
    prior = make_prior(model, seed=0)
    other = make_prior(model, seed=10)
    lengths = torch.tensor([4, 3])
    z = noise(2, 4)
    assert not torch.allclose(other.log_prob(z, lengths), prior.log_prob(z, lengths))
    path = tmp_path / "prior.pt"
    torch.save(prior.state_dict(), path)
    other.load_state_dict(torch.load(path, weights_only=True))
    assert torch.equal(other.log_prob(z, lengths), prior.log_prob(z, lengths))


@pytest.mark.parametrize("model", MODELS)
def test_train_eval_agree_without_dropout(model: str) -> None:
    prior = make_prior(model, dropout=0.0)
    lengths = torch.tensor([5, 2])
    z = noise(2, 5)
    ev = prior.eval().log_prob(z, lengths)
    tr = prior.train().log_prob(z, lengths)
    torch.testing.assert_close(tr, ev, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", ["af-af", "iaf-scf"])
def test_dropout_is_active_in_training_only(model: str) -> None:
    prior = make_prior(model, dropout=0.5)
    lengths = torch.tensor([5])
    z = noise(1, 5)
    ev1, ev2 = prior.eval().log_prob(z, lengths), prior.log_prob(z, lengths)
    assert torch.equal(ev1, ev2)
    prior.train()
    draws = torch.stack([prior.log_prob(z, lengths) for _ in range(4)])
    assert not torch.allclose(draws, ev1.expand_as(draws))


@pytest.mark.parametrize("model", MODELS)
def test_float32_and_device(model: str, device: torch.device) -> None:
    """float32 on the requested device: finite, consistent densities."""
    prior = small_prior(model).float().to(device).eval()
    lengths = torch.tensor([7, 5])
    z, lp = prior.sample(lengths, generator=torch.Generator().manual_seed(0))
    assert z.dtype == torch.float32 and torch.isfinite(lp).all()
    torch.testing.assert_close(prior.log_prob(z, lengths), lp, rtol=1e-4, atol=1e-4)


def test_unknown_model() -> None:
    with pytest.raises(ValueError, match="lstm"):
        small_prior("lstm")
