"""``lnfmusic.cli.options``: click types from field specs (choices, int ranges, finite float
ranges), the generated ``--kebab-case`` options, and that ``lnf train --help`` has a flag
for every settable field of the train config and of every model family."""

from __future__ import annotations

import re
from dataclasses import dataclass

import click
import pytest
from click.testing import CliRunner

from lnfmusic import options
from lnfmusic.cli.options import (
    FiniteFloatRange,
    Int64Range,
    click_type,
    field_options,
    flag,
    param_name,
    split_param,
)
from lnfmusic.options import Spec, option


def int_spec(**bounds: float) -> Spec:
    return Spec("n", int, False, 1, "a count", **bounds)


def float_spec(**bounds: float) -> Spec:
    return Spec("x", float, False, 0.5, "a value", **bounds)


# ----------------------------------------------------------------------------------------
# click_type()


def test_choices_give_a_click_choice() -> None:
    t = click_type(Spec("mode", str, True, None, "", choices=("af", "scf", "none")))
    assert isinstance(t, click.Choice)
    assert tuple(t.choices) == ("af", "scf", "none")


def test_a_plain_string_is_click_string() -> None:
    assert click_type(Spec("s", str, False, "", "")) is click.STRING


@pytest.mark.parametrize(
    "bounds,expected",
    [
        ({}, (None, None, False, False)),
        ({"ge": 1}, (1, None, False, False)),
        ({"gt": 0}, (0, None, True, False)),
        ({"le": 9}, (None, 9, False, False)),
        ({"lt": 10}, (None, 10, False, True)),
        ({"ge": 0, "le": 5}, (0, 5, False, False)),
        ({"gt": 0, "lt": 5}, (0, 5, True, True)),
        ({"ge": 2, "lt": 7}, (2, 7, False, True)),
    ],
)
def test_int_bounds_give_an_int_range(
    bounds: dict[str, float], expected: tuple[float | None, float | None, bool, bool]
) -> None:
    t = click_type(int_spec(**bounds))
    assert type(t) is Int64Range
    assert (*t.declared, t.min_open, t.max_open) == expected


@pytest.mark.parametrize("value", [str(2**63), str(-(2**63) - 1), str(2**70)])
def test_an_int_flag_beyond_64_bits_is_a_usage_error_saying_so(value: str) -> None:
    t = click_type(int_spec(ge=1))
    with pytest.raises(click.BadParameter, match="does not fit in 64 bits"):
        t.convert(value, None, None)
    assert t.convert(str(2**63 - 1), None, None) == 2**63 - 1


def test_the_64_bit_cap_is_not_shown_in_help() -> None:
    assert click_type(int_spec(ge=1))._describe_range() == "x>=1"


@pytest.mark.parametrize(
    "bounds,expected",
    [
        ({}, (None, None, False, False)),
        ({"gt": 0}, (0, None, True, False)),
        ({"ge": 0, "lt": 1}, (0, 1, False, True)),
        ({"gt": 0, "le": 1}, (0, 1, True, False)),
    ],
)
def test_float_bounds_give_a_finite_float_range(
    bounds: dict[str, float], expected: tuple[float | None, float | None, bool, bool]
) -> None:
    t = click_type(float_spec(**bounds))
    assert type(t) is FiniteFloatRange
    assert (t.min, t.max, t.min_open, t.max_open) == expected


def run_one(param_type: click.ParamType, value: str) -> click.testing.Result:
    @click.command()
    @click.option("--v", type=param_type, required=True)
    def cmd(v: object) -> None:
        click.echo(repr(v))

    return CliRunner().invoke(cmd, ["--v", value])


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_finite_float_range_rejects_non_finite_values(value: str) -> None:
    for bounds in ({}, {"ge": 0}):
        result = run_one(click_type(float_spec(**bounds)), value)
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--v'" in result.stderr


def test_plain_click_float_range_lets_nan_through() -> None:
    # the reason FiniteFloatRange exists
    result = run_one(click.FloatRange(min=0), "nan")
    assert result.exit_code == 0 and result.stdout.strip() == "nan"


@pytest.mark.parametrize(
    "bounds,value,ok",
    [
        ({"gt": 0}, "1e-3", True),
        ({"gt": 0}, "0", False),
        ({"ge": 0}, "0", True),
        ({"ge": 0, "lt": 1}, "1", False),
        ({"ge": 0, "lt": 1}, "0.999", True),
        ({"ge": 0, "le": 1}, "1", True),
        ({}, "abc", False),
    ],
)
def test_finite_float_range_checks_the_bounds(
    bounds: dict[str, float], value: str, ok: bool
) -> None:
    result = run_one(click_type(float_spec(**bounds)), value)
    assert result.exit_code == (0 if ok else 2), result.output
    if ok:
        assert float(result.stdout) == float(value)


@pytest.mark.parametrize(
    "bounds,value,ok",
    [({"ge": 1}, "1", True), ({"ge": 1}, "0", False), ({"gt": 1}, "1", False), ({}, "1.5", False)],
)
def test_int_range_checks_the_bounds(bounds: dict[str, float], value: str, ok: bool) -> None:
    result = run_one(click_type(int_spec(**bounds)), value)
    assert result.exit_code == (0 if ok else 2), result.output


def test_choice_rejects_other_values() -> None:
    t = click_type(Spec("m", str, False, "a", "", choices=("a", "b")))
    assert run_one(t, "b").stdout.strip() == "'b'"
    assert run_one(t, "c").exit_code == 2


# ----------------------------------------------------------------------------------------
# Names and field_options()


def test_flag_and_param_names() -> None:
    assert flag("kl_zero_epochs") == "--kl-zero-epochs"
    assert flag("lr") == "--lr"
    assert param_name("train", "kl_zero_epochs") == "train__kl_zero_epochs"
    assert split_param("model__latent_dim") == ("model", "latent_dim")
    assert split_param(param_name("train", "a_b")) == ("train", "a_b")


@dataclass
class Small:
    latent_dim: int = option(4, "size of z", ge=1)
    nlsq_alpha: float = option(0.9, "the bound", gt=0, lt=1)
    hidden_flow: str | None = option(None, "flow in hidden", choices=("af", "none"))


def small_command() -> click.Command:
    @click.command()
    @field_options("model", options.specs(Small), lambda name: f" [{name}]")
    def cmd(**kwargs: object) -> None:
        for key in sorted(kwargs):
            click.echo(f"{key}={kwargs[key]!r}")

    return cmd


def test_field_options_add_one_kebab_option_per_spec() -> None:
    cmd = small_command()
    params = [p for p in cmd.params if isinstance(p, click.Option)]
    assert [p.opts for p in params] == [["--latent-dim"], ["--nlsq-alpha"], ["--hidden-flow"]]
    assert [p.name for p in params] == [
        "model__latent_dim",
        "model__nlsq_alpha",
        "model__hidden_flow",
    ]
    assert all(p.default is None for p in params)
    assert isinstance(params[0].type, click.IntRange)
    assert isinstance(params[1].type, FiniteFloatRange)
    assert isinstance(params[2].type, click.Choice)


def test_field_options_help_is_capitalised_with_the_note() -> None:
    params = {p.name: p for p in small_command().params}
    assert params["model__latent_dim"].help == "Size of z [latent_dim]."
    assert params["model__nlsq_alpha"].help == "The bound [nlsq_alpha]."


def test_field_options_defaults_are_none_and_values_are_typed() -> None:
    runner = CliRunner()
    result = runner.invoke(small_command(), [])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "model__hidden_flow=None",
        "model__latent_dim=None",
        "model__nlsq_alpha=None",
    ]
    result = runner.invoke(
        small_command(), ["--latent-dim", "7", "--nlsq-alpha", "0.5", "--hidden-flow", "none"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "model__hidden_flow='none'",
        "model__latent_dim=7",
        "model__nlsq_alpha=0.5",
    ]
    result = runner.invoke(small_command(), ["--nlsq-alpha", "1"])
    assert result.exit_code == 2


# ----------------------------------------------------------------------------------------
# Consistency of `lnf train` with the configs


@pytest.fixture(scope="module")
def train_help() -> str:
    from lnfmusic.cli.main import cli

    result = CliRunner().invoke(cli, ["train", "--help"])
    assert result.exit_code == 0, result.output
    return result.stdout


def has_flag(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag(name))}(?![\w-])", text) is not None


def test_train_help_has_a_flag_for_every_train_field(train_help: str) -> None:
    from lnfmusic.config import TrainConfig

    specs = options.specs(TrainConfig)
    assert len(specs) > 10
    missing = [s.name for s in specs if s.cli and not has_flag(train_help, s.name)]
    assert not missing, f"no flag in `lnf train --help` for train fields {missing}"
    extra = [s.name for s in specs if not s.cli and has_flag(train_help, s.name)]
    assert not extra, f"cli=False train fields with a flag: {extra}"


def test_train_help_has_a_flag_for_every_model_field(train_help: str) -> None:
    from lnfmusic.model import registry
    from lnfmusic.model.config import DATA_FIELDS

    families = registry.families()
    assert {"lnf", "lstm"} <= set(families)
    assert families["lnf"].config.variant_field == "prior"
    missing, unwanted = [], []
    for family in families.values():
        fixed = {*DATA_FIELDS, family.config.variant_field}
        for spec in options.specs(family.config):
            wanted = spec.cli and spec.name not in fixed
            if wanted and not has_flag(train_help, spec.name):
                missing.append(f"{family.name}.{spec.name}")
            if not wanted and has_flag(train_help, spec.name):
                unwanted.append(f"{family.name}.{spec.name}")
    assert not missing, f"no flag in `lnf train --help` for {missing}"
    assert not unwanted, f"flags that should not exist: {unwanted}"


def test_train_flags_are_the_generated_parameters() -> None:
    from lnfmusic.cli.train_cmd import train
    from lnfmusic.config import TrainConfig

    params = {p.name: p for p in train.params}
    for spec in options.specs(TrainConfig):
        p = params[param_name("train", spec.name)]
        assert p.opts == [flag(spec.name)] and p.default is None
    assert params["model__nlsq_alpha"].opts == ["--nlsq-alpha"]
    assert "model__prior" not in params
    assert not any("--prior" in p.opts for p in train.params)
