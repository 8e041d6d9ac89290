"""Tran et al. (2019)'s synthetic experiments, trained and tabled beside the paper's numbers.

Four tasks (paper Section 4 and Figure 2), each with the models the paper compares:

- ``full-rank``: a Dirichlet(1) distribution over ``K^D`` outcomes; AR base, AR flow (AR
  base + one right-to-left autoregressive flow), factorised base, bipartite flow
  (factorised base + 4 bipartite layers, alternating parity).
- ``ring``: the discretised ring of 8 Gaussians, 90 x 90 cells; factorised base, the same
  with one flow layer (y from x), and an AR base for reference.
- ``addition``: ``p(a + b | a, b)`` over D-digit sums (D = 10, 20), every network given
  the input digits position by position; AR base, AR flow, factorised base with 1/2/4(/8)
  bipartite layers.
- ``potts``: the 3 x 3 Potts model with 3/4/5 states and J in {0.1, 0.5}; AR base (an
  LSTM of 32 units, as in the paper) and AR flow.

Every NLL is in nats per example (summed over the D variables). Vector tasks are exact
distributions, so beside the train and held-out NLL of a fixed sample we report the
model's exact cross-entropy ``-sum_x p(x) log q(x)`` over the whole space, the model's
total mass ``sum_x q(x)`` (1 up to rounding: the flows are bijections) and the entropy of
``p`` (the floor for the cross-entropy and, in expectation, for the held-out NLL).
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lnfmusic.device import describe_device
from lnfmusic.discrete import (
    MLP,
    AutoregressiveBase,
    AutoregressiveFlow,
    BiLSTMNet,
    BipartiteFlow,
    CausalLSTMNet,
    DiscreteFlow,
    FactorizedBase,
    MaskedMLP,
)
from lnfmusic.discrete.base import categorical_log_prob
from lnfmusic.errors import LnfError
from lnfmusic.experiments import tasks

TASKS = ("full-rank", "ring", "addition", "potts")

# Every flow layer squashes its logits to (-0.3, 0.3) (see ``AutoregressiveFlow``): chosen on
# the Gaussian ring (exact cross-entropy 7.36 unbounded, 7.13 bounded), used unchanged on
# the other tasks.
LOGIT_BOUND = 0.3

# The paper's numbers (nats), by task, setting and model.
PAPER: dict[str, dict[str, dict[str, float]]] = {
    "full-rank": {
        "D=2, K=2": {"AR base": 0.9, "AR flow": 0.9, "factorised base": 1.3, "bipartite flow": 1.0},
        "D=5, K=5": {"AR base": 7.7, "AR flow": 7.6, "factorised base": 8.0, "bipartite flow": 7.9},
        "D=5, K=10": {
            "AR base": 10.7,
            "AR flow": 10.3,
            "factorised base": 11.5,
            "bipartite flow": 10.7,
        },
        "D=10, K=5": {
            "AR base": 15.9,
            "AR flow": 15.7,
            "factorised base": 16.6,
            "bipartite flow": 16.0,
        },
    },
    "ring": {"90 x 90": {}},
    "addition": {
        "D=10": {
            "AR base": 4.0,
            "AR flow": 0.2,
            "bipartite, 1 flow": 4.0,
            "bipartite, 2 flows": 3.17,
            "bipartite, 4 flows": 2.58,
        },
        "D=20": {
            "AR base": 12.2,
            "AR flow": 4.8,
            "bipartite, 1 flow": 12.2,
            "bipartite, 2 flows": 8.8,
            "bipartite, 4 flows": 7.6,
            "bipartite, 8 flows": 5.08,
        },
    },
    "potts": {
        "3 states, J=0.1": {"AR base": 9.27, "AR flow": 9.124},
        "3 states, J=0.5": {"AR base": 3.79, "AR flow": 3.79},
        "4 states, J=0.1": {"AR base": 11.64, "AR flow": 10.45},
        "4 states, J=0.5": {"AR base": 5.87, "AR flow": 5.56},
        "5 states, J=0.1": {"AR base": 13.58, "AR flow": 10.25},
        "5 states, J=0.5": {"AR base": 7.94, "AR flow": 7.07},
    },
}


@dataclass(frozen=True)
class Settings:
    """Sizes and schedule. ``quick`` shrinks everything for a smoke test (its numbers mean
    nothing); the defaults are what ``results/discrete_flows_synthetic.md`` records."""

    quick: bool = False
    seed: int = 0
    steps: int = 4000
    batch_size: int = 256
    lr: float = 3e-3
    train_size: int = 50_000
    heldout_size: int = 20_000
    hidden: int = 128
    addition_steps: int = 3000
    addition_batch: int = 128
    addition_hidden: dict[int, int] = field(default_factory=lambda: {10: 64, 20: 64})
    addition_train: int = 100_000
    addition_heldout: int = 10_000
    exact_limit: int = 2_000_000  # enumerate spaces up to this size (10^6 outcomes: ~1 min)

    def __post_init__(self) -> None:
        for name in (
            "steps",
            "batch_size",
            "train_size",
            "heldout_size",
            "hidden",
            "addition_steps",
            "addition_batch",
            "addition_train",
            "addition_heldout",
        ):
            if getattr(self, name) < 1:
                raise LnfError(f"synthetic: {name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise LnfError(f"synthetic: lr must be > 0, got {self.lr}")

    @classmethod
    def make(cls, quick: bool = False, seed: int = 0, **overrides: int) -> Settings:
        """The recorded settings (or the quick ones), with ``overrides`` of any field."""
        if not quick:
            return replace(cls(seed=seed), **overrides)
        return replace(
            cls(
                quick=True,
                seed=seed,
                steps=30,
                batch_size=64,
                train_size=2000,
                heldout_size=1000,
                hidden=16,
                addition_steps=20,
                addition_batch=32,
                addition_hidden={10: 16, 20: 16},
                addition_train=1000,
                addition_heldout=500,
                exact_limit=20_000,
            ),
            **overrides,
        )


@dataclass
class Row:
    task: str
    setting: str
    model: str
    paper: float | None
    train_nll: float
    heldout_nll: float
    cross_entropy: float | None = None
    mass: float | None = None
    entropy: float | None = None
    seconds: float = 0.0


# ---------------------------------------------------------------- models


def vector_model(
    kind: str,
    length: int,
    num_classes: int,
    hidden: int,
    *,
    flows: int = 4,
    scale: bool = False,
    lstm_base: int = 0,
) -> DiscreteFlow:
    """The four models of Table 1 over vectors ``(B, D, 1, K)``. ``lstm_base``: hidden
    units of an LSTM AR base instead of MADE (the paper's Potts base)."""
    K, P = num_classes, 2 if scale else 1

    def ar_base() -> AutoregressiveBase:
        net = (
            CausalLSTMNet(1, K, K, hidden=lstm_base)
            if lstm_base
            else MaskedMLP(length, 1, K, K, hidden=hidden, num_hidden=2)
        )
        return AutoregressiveBase(net, 1, K)

    if kind == "AR base":
        return DiscreteFlow(ar_base(), [])
    if kind == "AR flow":
        net = MaskedMLP(length, 1, K, P * K, hidden=hidden, num_hidden=2)
        return DiscreteFlow(
            ar_base(),
            [AutoregressiveFlow(net, K, scale=scale, reverse=True, logit_bound=LOGIT_BOUND)],
        )
    if kind == "factorised base":
        return DiscreteFlow(FactorizedBase(length, 1, K), [])
    if kind == "bipartite flow":
        layers = [
            BipartiteFlow(
                MLP(length, 1, K, P * K, hidden=hidden, num_hidden=2),
                K,
                parity=(i + 1) % 2,
                scale=scale,
                logit_bound=LOGIT_BOUND,
            )
            for i in range(flows)
        ]
        return DiscreteFlow(FactorizedBase(length, 1, K), layers)
    raise ValueError(kind)


class StepFactorizedBase(nn.Module):
    """Independent categoricals whose logits at position t are an MLP of the ``(B, T, C)``
    context at t (the factorised base of the addition task: p(s_t | a_t, b_t))."""

    def __init__(self, context_dim: int, hidden: int, num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.net = nn.Sequential(
            nn.Linear(context_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
        )

    def log_prob(self, x: Tensor, context: Tensor, mask: Tensor | None = None) -> Tensor:
        return categorical_log_prob(self.net(context)[:, :, None], x, mask)


class AdditionModel(nn.Module):
    """``p(s | a, b)`` over the sum's digits, most significant first. Every network sees
    the input digits of each position, one-hot ``(B, D, 20)``, as a per-position context:
    the AR base (a left-to-right LSTM, so position t sees the inputs at ``<= t`` and cannot
    know the carry coming from the right), the factorised base (an MLP of position t's two
    digits), and every flow layer (the right-to-left AR flow sees ``s_{>t}`` and the inputs
    at ``>= t``; a bipartite layer sees the untransformed half and all inputs)."""

    def __init__(self, length: int, hidden: int, *, autoregressive: bool, flows: int):
        super().__init__()
        ctx = dict(hidden=hidden, step_context_dim=20)
        if autoregressive:
            base: nn.Module = AutoregressiveBase(CausalLSTMNet(1, 10, 10, **ctx), 1, 10)
            layers = [
                AutoregressiveFlow(
                    CausalLSTMNet(1, 10, 10, **ctx), 10, reverse=True, logit_bound=LOGIT_BOUND
                )
                for _ in range(flows)
            ]
        else:
            base = StepFactorizedBase(20, hidden, 10)
            layers = [
                BipartiteFlow(
                    BiLSTMNet(1, 10, 10, **ctx), 10, parity=(i + 1) % 2, logit_bound=LOGIT_BOUND
                )
                for i in range(flows)
            ]
        self.flow = DiscreteFlow(base, layers)

    def log_prob(self, sums: Tensor, inputs: Tensor) -> Tensor:
        context = torch.cat([F.one_hot(inputs[..., 0], 10), F.one_hot(inputs[..., 1], 10)], -1)
        return self.flow.log_prob(F.one_hot(sums, 10).float()[:, :, None], context.float())


# ---------------------------------------------------------------- training


def one_hot(index: Tensor, length: int, num_classes: int) -> Tensor:
    """Flat outcome indices ``(N,)`` -> one-hot vectors ``(N, D, 1, K)``."""
    return F.one_hot(tasks.digits(index, length, num_classes), num_classes).float()[:, :, None]


def fit(
    nll: Callable[[Tensor], Tensor],
    model: nn.Module,
    n: int,
    steps: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
) -> None:
    """Adam on the mean NLL of random minibatches of a fixed set of ``n`` examples
    (``nll(indices)``), the learning rate decayed to zero on a cosine."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    )
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, n, (batch_size,), generator=generator)
        loss = nll(idx).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        sched.step()


def _chunks(n: int, size: int) -> Iterator[Tensor]:
    for start in range(0, n, size):
        yield torch.arange(start, min(start + size, n))


@torch.no_grad()
def mean_nll(nll: Callable[[Tensor], Tensor], n: int, chunk: int = 4096) -> float:
    return float(sum(nll(idx).double().sum() for idx in _chunks(n, chunk)) / n)


@torch.no_grad()
def exact_cross_entropy(
    model: DiscreteFlow, probs: Tensor, length: int, num_classes: int, chunk: int = 1 << 15
) -> tuple[float, float]:
    """``(-sum_x p(x) log q(x), sum_x q(x))`` over every outcome."""
    ce = mass = 0.0
    for idx in _chunks(len(probs), chunk):
        lp = model.log_prob(one_hot(idx, length, num_classes)).double()
        ce -= float((probs[idx] * lp).sum())
        mass += float(lp.exp().sum())
    return ce, mass


@torch.no_grad()
def model_probs(model: DiscreteFlow, length: int, num_classes: int) -> Tensor:
    """``q(x)`` for every outcome, in the task's order."""
    n = num_classes**length
    return torch.cat(
        [
            model.log_prob(one_hot(idx, length, num_classes)).double().exp()
            for idx in _chunks(n, 1 << 15)
        ]
    )


def train_vector_model(
    task: str,
    setting: str,
    kind: str,
    model: DiscreteFlow,
    probs: Tensor,
    length: int,
    num_classes: int,
    s: Settings,
    generator: torch.Generator,
) -> Row:
    """Fit ``model`` to a fixed sample of ``probs``; score it on that sample, a held-out
    one and exactly."""
    t0 = time.perf_counter()
    train = one_hot(tasks.draw(probs, s.train_size, generator), length, num_classes)
    heldout = one_hot(tasks.draw(probs, s.heldout_size, generator), length, num_classes)
    fit(
        lambda i: -model.log_prob(train[i]),
        model,
        s.train_size,
        s.steps,
        s.batch_size,
        s.lr,
        generator,
    )
    model.eval()
    ce = mass = None
    if len(probs) <= s.exact_limit:
        ce, mass = exact_cross_entropy(model, probs, length, num_classes)
    return Row(
        task,
        setting,
        kind,
        PAPER[task][setting].get(kind),
        train_nll=mean_nll(lambda i: -model.log_prob(train[i]), s.train_size),
        heldout_nll=mean_nll(lambda i: -model.log_prob(heldout[i]), s.heldout_size),
        cross_entropy=ce,
        mass=mass,
        entropy=tasks.entropy(probs),
        seconds=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------- the tasks


def run_full_rank(s: Settings, log: Callable[[str], None]) -> list[Row]:
    rows = []
    for D, K in ((2, 2), (5, 5), (5, 10), (10, 5)):
        setting = f"D={D}, K={K}"
        g = torch.Generator().manual_seed(s.seed * 1000 + D * 10 + K)
        probs = tasks.full_rank(D, K, g)
        for kind in ("AR base", "AR flow", "factorised base", "bipartite flow"):
            torch.manual_seed(s.seed)
            model = vector_model(kind, D, K, s.hidden)
            rows.append(train_vector_model("full-rank", setting, kind, model, probs, D, K, s, g))
            log(_line(rows[-1]))
    return rows


def run_ring(s: Settings, log: Callable[[str], None], png: Path | None) -> list[Row]:
    probs = tasks.gaussian_ring()
    rows, fitted = [], {}
    for kind, builder in (
        ("factorised base", lambda: vector_model("factorised base", 2, 90, s.hidden)),
        (
            "factorised base + 1 flow",
            lambda: vector_model("bipartite flow", 2, 90, s.hidden, flows=1, scale=True),
        ),
        ("AR base", lambda: vector_model("AR base", 2, 90, s.hidden)),
    ):
        g = torch.Generator().manual_seed(s.seed * 1000 + 90)
        torch.manual_seed(s.seed)
        model = builder()
        rows.append(train_vector_model("ring", "90 x 90", kind, model, probs, 2, 90, s, g))
        fitted[kind] = model
        log(_line(rows[-1]))
    if png is not None:
        plot_ring(
            png, probs, {k: model_probs(m, 2, 90) for k, m in fitted.items() if k != "AR base"}
        )
    return rows


def run_addition(s: Settings, log: Callable[[str], None]) -> list[Row]:
    rows = []
    for D in (10, 20):
        setting = f"D={D}"
        hidden = s.addition_hidden[D]
        g = torch.Generator().manual_seed(s.seed * 1000 + D)
        x_tr, y_tr = tasks.addition(s.addition_train, D, g)
        x_te, y_te = tasks.addition(s.addition_heldout, D, g)
        models = [("AR base", True, 0), ("AR flow", True, 1)]
        models += [
            (f"bipartite, {n} flow{'s' if n > 1 else ''}", False, n)
            for n in ((1, 2, 4) if D == 10 else (1, 2, 4, 8))
        ]
        for kind, ar, flows in models:
            torch.manual_seed(s.seed)
            model = AdditionModel(D, hidden, autoregressive=ar, flows=flows)
            rows.append(train_addition(setting, kind, model, (x_tr, y_tr), (x_te, y_te), s, g))
            log(_line(rows[-1]))
    return rows


def train_addition(
    setting: str,
    kind: str,
    model: AdditionModel,
    train: tuple[Tensor, Tensor],
    heldout: tuple[Tensor, Tensor],
    s: Settings,
    generator: torch.Generator,
) -> Row:
    t0 = time.perf_counter()

    def nll(data: tuple[Tensor, Tensor]) -> Callable[[Tensor], Tensor]:
        return lambda i: -model.log_prob(data[1][i], data[0][i])

    fit(nll(train), model, s.addition_train, s.addition_steps, s.addition_batch, s.lr, generator)
    model.eval()
    return Row(
        "addition",
        setting,
        kind,
        PAPER["addition"][setting].get(kind),
        train_nll=mean_nll(nll(train), min(s.addition_train, s.addition_heldout)),
        heldout_nll=mean_nll(nll(heldout), s.addition_heldout),
        entropy=0.0,
        seconds=time.perf_counter() - t0,
    )


def run_potts(s: Settings, log: Callable[[str], None]) -> list[Row]:
    rows = []
    for states in (3, 4, 5):
        for J in (0.1, 0.5):
            setting = f"{states} states, J={J}"
            probs = tasks.potts(3, states, J)
            for kind in ("AR base", "AR flow"):
                g = torch.Generator().manual_seed(s.seed * 1000 + states * 10 + int(J * 10))
                torch.manual_seed(s.seed)
                model = vector_model(kind, 9, states, s.hidden, lstm_base=32)
                rows.append(
                    train_vector_model("potts", setting, kind, model, probs, 9, states, s, g)
                )
                log(_line(rows[-1]))
    return rows


# ---------------------------------------------------------------- reporting


def _line(r: Row) -> str:
    paper = "-" if r.paper is None else f"{r.paper:g}"
    exact = "" if r.cross_entropy is None else f"  exact {r.cross_entropy:.3f}  H {r.entropy:.3f}"
    return (
        f"{r.task:9s} {r.setting:16s} {r.model:26s} paper {paper:>6s}  train "
        f"{r.train_nll:.3f}  held-out {r.heldout_nll:.3f}{exact}  ({r.seconds:.0f} s)"
    )


def _f(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def markdown(rows: list[Row], runs: dict[str, dict]) -> str:
    out = [
        "# Discrete Flows: the paper's synthetic experiments, reproduced",
        "",
        "Generated by `lnf synthetic` (`lnfmusic/experiments/synthetic.py`); do not edit "
        "by hand — the discussion is in `discrete_flows_synthetic_notes.md`.",
        "",
        "All numbers are nats per example. *train*: mean NLL on the training sample; "
        "*held-out*: on a fresh sample of the same distribution; *exact*: the model's "
        "cross-entropy against the true distribution over every outcome (spaces up to "
        "2 million outcomes); *H*: the true entropy (the floor of *exact*); *mass*: the "
        "model's total probability over the whole space.",
        "",
    ]
    for task in TASKS:
        sel = [r for r in rows if r.task == task]
        if not sel:
            continue
        meta = runs[task]
        out += [
            f"## {task}",
            "",
            f"- command: `{meta['command']}`",
            f"- commit: {meta['commit']}; hardware: {meta['hardware']}; "
            f"wall time {meta['seconds'] / 60:.1f} min",
            "",
        ]
        if task == "addition":
            out += [
                "| setting | model | paper | train | held-out | seconds |",
                "|---|---|---:|---:|---:|---:|",
            ]
            out += [
                f"| {r.setting} | {r.model} | {_f(r.paper)} | {_f(r.train_nll, 3)} | "
                f"{_f(r.heldout_nll, 3)} | {r.seconds:.0f} |"
                for r in sel
            ]
        else:
            out += [
                "| setting | model | paper | train | held-out | exact | H | mass | seconds |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|",
            ]
            out += [
                f"| {r.setting} | {r.model} | {_f(r.paper)} | {_f(r.train_nll, 3)} | "
                f"{_f(r.heldout_nll, 3)} | {_f(r.cross_entropy, 3)} | {_f(r.entropy, 3)} | "
                f"{_f(r.mass, 5)} | {r.seconds:.0f} |"
                for r in sel
            ]
        out.append("")
    return "\n".join(out)


def plot_ring(path: Path, data: Tensor, models: dict[str, Tensor]) -> None:
    """Data and model probabilities over the 90 x 90 cells, side by side (paper Figure 2)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise LnfError(
            "synthetic: the ring figure needs matplotlib (pip install "
            "'lnfmusic[plot]'), or pass --no-png"
        ) from e
    panels = {"data": data, **models}
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4))
    for ax, (name, p) in zip(axes, panels.items(), strict=True):
        ax.imshow(
            p.view(90, 90).T.numpy(),
            origin="lower",
            cmap="viridis",
            extent=(-2.25, 2.25, -2.25, 2.25),
        )
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _commit() -> str:
    """The checkout's short commit, ``+changes`` when tracked files differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
        ).stdout.strip()

    try:
        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "-uno")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def run(
    task_names: tuple[str, ...],
    settings: Settings,
    out_dir: Path | None,
    command: str,
    log: Callable[[str], None] = print,
    png: bool = True,
) -> list[Row]:
    """Run the named tasks; with ``out_dir``, write ``discrete_flows_synthetic.json`` and
    ``.md`` (and the ring figure ``.png``) there."""
    for name in task_names:
        if name not in TASKS:
            raise LnfError(f"synthetic: unknown task {name!r} (choose from {', '.join(TASKS)})")
    stem = None if out_dir is None else out_dir / "discrete_flows_synthetic"
    commit = _commit()  # the code that runs: read before any work, not when a task ends
    rows: list[Row] = []
    runs: dict[str, dict] = {}
    for name in TASKS:
        if name not in task_names:
            continue
        t0 = time.perf_counter()
        if name == "full-rank":
            rows += run_full_rank(settings, log)
        elif name == "ring":
            rows += run_ring(settings, log, stem.with_suffix(".png") if stem and png else None)
        elif name == "addition":
            rows += run_addition(settings, log)
        else:
            rows += run_potts(settings, log)
        runs[name] = {
            "command": command,
            "commit": commit,
            "hardware": describe_device("cpu"),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "seconds": time.perf_counter() - t0,
            "settings": asdict(settings),
        }
    if stem is not None:
        write(stem, rows, runs)
    return rows


def write(stem: Path, rows: list[Row], runs: dict[str, dict]) -> None:
    """Write ``stem.json`` and ``stem.md``, keeping the rows of tasks not run this time
    from an existing ``stem.json`` (so tasks can be rerun one at a time)."""
    path = stem.with_suffix(".json")
    if path.exists():
        try:
            old = json.loads(path.read_text())
            kept = [Row(**r) for r in old["rows"] if r["task"] not in runs]
            runs = {**{k: v for k, v in old["runs"].items() if k not in runs}, **runs}
        except (ValueError, KeyError, TypeError) as e:
            raise LnfError(
                f"{path}: not a results file of lnf synthetic ({e}); move it "
                "away or choose another --out-dir"
            ) from e
        rows = kept + rows
    rows = sorted(rows, key=lambda r: TASKS.index(r.task))
    stem.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"runs": runs, "rows": [asdict(r) for r in rows]}, indent=1) + "\n")
    tmp.replace(path)
    stem.with_suffix(".md").write_text(markdown(rows, runs))
