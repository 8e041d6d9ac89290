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
