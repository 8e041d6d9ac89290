"""The model interface (:mod:`lnfmusic.model.base`): :meth:`ModelOutput.from_terms` against the
annealed objective written out by hand, the abstract :class:`SequenceModel` (what a subclass
must implement, its defaults, ``.device``) and :func:`count_parameters` with tied weights."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from lnfmusic.data.batching import Batch
from lnfmusic.model.base import ModelOutput, SequenceModel, count_parameters
from lnfmusic.model.config import ModelConfig
from lnfmusic.model.registry import build_model
from tests.helpers import tiny_config

pytestmark = pytest.mark.usefixtures("float64")


# ----------------------------------------------------------------------------------------
# ModelOutput.from_terms


@pytest.mark.parametrize("kl_weight", [1.0, 0.25, 0.0])
def test_from_terms_is_the_annealed_objective_per_step(kl_weight: float) -> None:
    recon = torch.tensor([-10.0, -3.5, -7.25])
    kl = torch.tensor([2.0, 0.5, 4.0])
    lengths = torch.tensor([4, 1, 9])
    out = ModelOutput.from_terms(recon, kl, lengths, kl_weight)
    expected = [
        -(r - kl_weight * k) / (t + 1)
        for r, k, t in zip([-10.0, -3.5, -7.25], [2.0, 0.5, 4.0], [4, 1, 9], strict=True)
    ]
    assert out.objective.tolist() == pytest.approx(expected, rel=1e-12)
    assert out.loss.item() == pytest.approx(sum(expected) / 3, rel=1e-12)
    assert out.loss.dim() == 0
    assert out.recon is recon and out.kl is kl
    assert out.num_steps.dim() == 0 and out.num_steps.item() == 5 + 2 + 10
    assert out.objective.dtype == recon.dtype


def test_from_terms_default_weight_is_one() -> None:
    recon, kl, lengths = torch.tensor([-6.0, -2.0]), torch.tensor([3.0, 1.0]), torch.tensor([2, 0])
    default = ModelOutput.from_terms(recon, kl, lengths)
    one = ModelOutput.from_terms(recon, kl, lengths, 1.0)
    assert torch.equal(default.objective, one.objective)
    assert default.objective.tolist() == pytest.approx([(6.0 + 3.0) / 3, (2.0 + 1.0) / 1])


def test_from_terms_loss_carries_gradients() -> None:
    recon = torch.tensor([-4.0, -1.0], requires_grad=True)
    kl = torch.tensor([1.0, 2.0], requires_grad=True)
    out = ModelOutput.from_terms(recon, kl, torch.tensor([3, 1]), kl_weight=0.5)
    out.loss.backward()
    # d loss / d recon_b = -1 / (B (T_b + 1)); d loss / d kl_b = w / (B (T_b + 1))
    assert recon.grad.tolist() == pytest.approx([-1 / 8, -1 / 4])
    assert kl.grad.tolist() == pytest.approx([0.5 / 8, 0.5 / 4])


# ----------------------------------------------------------------------------------------
# SequenceModel


def _forward(
    self: SequenceModel, batch: Batch, *, kl_weight: float = 1.0, num_samples: int = 1
) -> ModelOutput:
    zeros = torch.zeros(batch.lengths.shape[0])
    return ModelOutput.from_terms(zeros, zeros, batch.lengths, kl_weight)


def _log_weights(self: SequenceModel, batch: Batch, num_samples: int) -> Tensor:
    return torch.zeros(num_samples, batch.lengths.shape[0])


def _generate(
    self: SequenceModel,
    lengths: Tensor,
    temperature: float = 1.0,
    threshold: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    return torch.zeros(lengths.shape[0], int(lengths.max()), dtype=torch.int64)


METHODS = {"forward": _forward, "log_weights": _log_weights, "generate": _generate}


class Minimal(SequenceModel):
    forward = _forward
    log_weights = _log_weights
    generate = _generate

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.weight = nn.Parameter(torch.zeros(3, device="cpu"))


def test_sequence_model_itself_is_abstract() -> None:
    with pytest.raises(TypeError):
        SequenceModel(ModelConfig())  # type: ignore[abstract]


@pytest.mark.parametrize("missing", sorted(METHODS))
def test_a_subclass_missing_a_method_cannot_be_instantiated(missing: str) -> None:
    methods = {k: v for k, v in METHODS.items() if k != missing}
    cls = type(f"No_{missing}", (SequenceModel,), methods)
    with pytest.raises(TypeError, match=missing):
        cls(ModelConfig())


def test_a_minimal_subclass_works() -> None:
    config = ModelConfig()
    m = Minimal(config)
    assert isinstance(m, nn.Module)
    assert m.config is config
    assert m.exact is False and Minimal.exact is False
    assert count_parameters(m) == 3


def test_exact_is_a_class_attribute_a_family_may_override() -> None:
    class Exact(Minimal):
        exact = True

    assert Exact(ModelConfig()).exact is True
    assert Minimal.exact is False  # the subclass did not change the base default


def test_device_is_the_parameters_device(device: torch.device) -> None:
    m = Minimal(ModelConfig())
    assert m.device == torch.device("cpu")
    m.to(device)
    assert m.device == m.weight.device
    assert m.device.type == device.type


# ----------------------------------------------------------------------------------------
# count_parameters


def test_count_parameters_counts_a_hand_tied_weight_once() -> None:
    shared = nn.Linear(4, 3)
    model = nn.Sequential(shared, nn.ReLU(), nn.Linear(3, 4))
    model.tied = shared  # the same module reachable twice
    assert count_parameters(model) == (4 * 3 + 3) + (3 * 4 + 4)


def test_count_parameters_counts_the_lnf_tied_embedding_once() -> None:
    model = build_model(tiny_config("af-af"))
    every = [p for _, p in model.named_parameters(remove_duplicate=False)]
    unique = {id(p): p for p in every}
    assert len(unique) < len(every), "af-af should share its embedding"
    assert count_parameters(model) == sum(p.numel() for p in unique.values())
    assert count_parameters(model) < sum(p.numel() for p in every)


# ----------------------------------------------------------------------------------------
# Continuation and the latent interface


@pytest.mark.parametrize("name", ["af-af", "af-scf", "iaf-scf", "af-only"])
def test_noise_and_latents_map_to_each_other_causally(name: str) -> None:
    model = build_model(tiny_config(name)).eval()
    lengths = torch.tensor([9, 6])
    z = model.encode((torch.rand(2, 9, 88) < 0.1).to(torch.uint8), lengths, 1.0)
    eps = model.to_noise(z, lengths)
    assert torch.allclose(model.from_noise(eps, lengths), z, atol=1e-8)
    assert (z[1, 6:] == 0).all() and (eps[1, 6:] == 0).all()
    # a triangular flow in time: changing the noise after step 4 leaves z_{<=4} alone
    other = eps.clone()
    other[:, 4:] = torch.randn_like(other[:, 4:])
    z2 = model.from_noise(other, lengths)
    assert torch.allclose(z2[:, :4], z[:, :4], atol=1e-10) and not torch.allclose(z2, z)


@pytest.mark.parametrize("name", ["af-af", "iaf-scf", "lstm"])
def test_continuations_begin_with_the_prefix_and_differ_after_it(name: str) -> None:
    model = build_model(tiny_config(name)).eval()
    prefix = (torch.rand(1, 5, 88) < 0.2).to(torch.uint8)
    lengths = torch.tensor([12])
    outs = [
        model.continue_sequence(prefix, lengths, generator=torch.Generator().manual_seed(s))
        for s in (0, 0, 1)
    ]
    for x in outs:
        assert x.shape == (1, 12, 88) and x.dtype == torch.uint8
        assert torch.equal(x[:, :5], prefix)
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])
    with pytest.raises(ValueError, match="exceed the prefix"):
        model.continue_sequence(prefix, torch.tensor([5]))


def test_lstm_continuation_is_its_own_ancestral_sampler() -> None:
    """With deterministic draws (a threshold), continuing the first steps of a sample gives
    the sample back: the conditional sampler is the model's own."""
    model = build_model(tiny_config("lstm", "text", vocab=7)).eval()
    lengths = torch.tensor([11])
    g = torch.Generator().manual_seed(3)
    full = model.generate(lengths, generator=g)
    for K in (1, 4, 10):
        g = torch.Generator().manual_seed(3)
        cont = model.continue_sequence(full[:, :K], lengths, generator=g)
        assert torch.equal(cont[:, :K], full[:, :K]) and cont.shape == full.shape
    music = build_model(tiny_config("lstm")).eval()
    sample = music.generate(lengths, threshold=0.5)
    assert torch.equal(music.continue_sequence(sample[:, :6], lengths, threshold=0.5), sample)


def test_latent_continuation_clamps_the_prefix_latents_and_draws_the_rest_from_the_prior(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The latents handed to the emission start with the prefix's posterior mean and go on
    with the prior's flow applied to (prefix noise, fresh noise)."""
    model = build_model(tiny_config("af-scf")).eval()
    prefix = (torch.rand(1, 4, 88) < 0.2).to(torch.uint8)
    lengths = torch.tensor([10])
    seen = {}
    decode = model.decode

    def spy(z, lengths, threshold=None, generator=None):
        seen["z"] = z
        return decode(z, lengths, threshold, generator)

    monkeypatch.setattr(model, "decode", spy)
    model.continue_sequence(prefix, lengths, generator=torch.Generator().manual_seed(0))
    z = seen["z"]
    z_prefix = model.encode(prefix, torch.tensor([4]))
    assert torch.equal(z[:, :4], z_prefix)
    eps = model.to_noise(z, lengths)
    fresh = torch.randn((1, 6, z.shape[-1]), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(eps[:, 4:], fresh.to(eps), atol=1e-7)


def test_exact_families_without_a_causal_model_refuse_to_continue() -> None:
    from lnfmusic.model.base import UnsupportedError

    model = build_model(tiny_config("df-ar")).eval()
    with pytest.raises(UnsupportedError, match="df-ar model cannot continue"):
        model.continue_sequence(torch.zeros(1, 3, 88, dtype=torch.uint8), torch.tensor([6]))
    assert model.max_generate_length == model.config.max_length
