"""``lnfmusic.options``: field metadata (:func:`option`), :func:`specs` resolved from the
annotations, :func:`coerce` (types, bounds, finiteness, choices, ``None``), text
:func:`parse`, whole-config :func:`check` and :func:`set_field`."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional  # noqa: UP035 - Optional is tested on purpose

import pytest

from lnfmusic import options
from lnfmusic.errors import LnfError
from lnfmusic.options import Spec, check, coerce, option, parse, set_field, specs


@dataclass
class Sample:
    """One field of each kind the library uses."""

    count: int = option(3, "how many", ge=1)
    rate: float = option(0.5, "a rate", gt=0, lt=1)
    scale: float = option(1.0, "a scale", ge=0, le=10)
    name: str = option("abc", "a free string")
    mode: str = option("fast", "a mode", choices=("fast", "slow"))
    flow: str | None = option(None, "a flow", choices=("af", "none"))
    limit: int | None = option(None, "an optional limit", ge=1)
    flag: bool = option(False, "a switch")
    hidden: int = option(7, "not on the command line", cli=False)


@dataclass
class Old:
    """``Optional[X]`` spelt the old way and a field without ``option()``."""

    value: Optional[float] = option(None, "old-style optional")  # noqa: UP045
    plain: int = 4
    factory: list[int] = dataclasses.field(default_factory=list)


def by_name(cls: type = Sample) -> dict[str, Spec]:
    return {s.name: s for s in specs(cls)}


def spec(name: str) -> Spec:
    return by_name()[name]


# ----------------------------------------------------------------------------------------
# option() and specs()


def test_option_stores_help_bounds_choices_and_cli_in_the_field_metadata() -> None:
    f = option(2.0, "help text", ge=0, lt=5, cli=False)
    assert isinstance(f, dataclasses.Field)
    assert f.default == 2.0
    assert dict(f.metadata) == {
        "help": "help text",
        "ge": 0,
        "gt": None,
        "le": None,
        "lt": 5,
        "choices": None,
        "cli": False,
    }


def test_specs_follow_declaration_order() -> None:
    assert [s.name for s in specs(Sample)] == [f.name for f in dataclasses.fields(Sample)]


def test_specs_resolve_types_from_string_annotations() -> None:
    s = by_name()
    # the module uses ``from __future__ import annotations``: the hints are strings
    assert isinstance(Sample.__annotations__["count"], str)
    assert (s["count"].type, s["rate"].type, s["name"].type, s["flag"].type) == (
        int,
        float,
        str,
        bool,
    )
    assert s["limit"].type is int and s["flow"].type is str


def test_specs_mark_x_or_none_as_nullable_and_only_those() -> None:
    s = by_name()
    assert {n for n, sp in s.items() if sp.nullable} == {"flow", "limit"}
    old = by_name(Old)
    assert old["value"].type is float and old["value"].nullable


def test_specs_carry_default_help_bounds_choices_and_cli() -> None:
    s = by_name()
    assert s["count"] == Spec("count", int, False, 3, "how many", ge=1)
    assert (s["rate"].gt, s["rate"].lt, s["rate"].ge, s["rate"].le) == (0, 1, None, None)
    assert (s["scale"].ge, s["scale"].le) == (0, 10)
    assert s["mode"].choices == ("fast", "slow") and s["mode"].default == "fast"
    assert s["hidden"].cli is False and s["count"].cli is True
    assert s["name"].help == "a free string"


def test_specs_of_fields_without_option_metadata() -> None:
    old = by_name(Old)
    assert old["plain"] == Spec("plain", int, False, 4, "")
    assert old["factory"].default is None  # a default_factory has no plain default


def test_describe_lists_bounds_choices_and_none() -> None:
    s = by_name()
    assert s["count"].describe() == "an int, at least 1"
    assert s["rate"].describe() == "a finite float, greater than 0 and less than 1"
    assert s["scale"].describe() == "a finite float, at least 0 and at most 10"
    assert s["mode"].describe() == "one of fast, slow"
    assert s["flow"].describe() == "one of af, none (or none)"
    assert s["limit"].describe() == "an int, at least 1 (or none)"
    assert s["flag"].describe() == "true/false"


# ----------------------------------------------------------------------------------------
# coerce()


def test_coerce_accepts_an_int_for_a_float_and_returns_a_float() -> None:
    out = coerce(spec("rate"), 0.25)
    assert out == 0.25
    out = coerce(spec("scale"), 3)
    assert out == 3.0 and type(out) is float


@pytest.mark.parametrize("field", ["count", "rate", "scale", "limit"])
def test_coerce_rejects_bools_for_numbers(field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field} must be"):
        coerce(spec(field), True)


@pytest.mark.parametrize(
    "field,value",
    [
        ("count", 2.0),
        ("count", "2"),
        ("rate", "0.5"),
        ("name", 3),
        ("flag", 1),
        ("flag", "true"),
        ("mode", 1),
    ],
)
def test_coerce_rejects_the_wrong_type(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"^{field} must be"):
        coerce(spec(field), value)


def test_coerce_keeps_right_values_and_types() -> None:
    assert coerce(spec("count"), 5) == 5
    assert coerce(spec("name"), "") == ""
    assert coerce(spec("flag"), True) is True
    assert coerce(spec("mode"), "slow") == "slow"


@pytest.mark.parametrize(
    "field,value,ok",
    [
        ("count", 1, True),  # ge: inclusive
        ("count", 0, False),
        ("rate", 0.0, False),  # gt: exclusive
        ("rate", 1e-12, True),
        ("rate", 1.0, False),  # lt: exclusive
        ("rate", 0.999, True),
        ("scale", 0, True),  # ge inclusive
        ("scale", -1e-9, False),
        ("scale", 10, True),  # le: inclusive
        ("scale", 10.0001, False),
    ],
)
def test_coerce_bounds(field: str, value: float, ok: bool) -> None:
    if ok:
        assert coerce(spec(field), value) == value
    else:
        with pytest.raises(ValueError, match=f"^{field} must be .* \\(got {value!r}"):
            coerce(spec(field), value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_coerce_rejects_non_finite_floats(value: float) -> None:
    unbounded = Spec("x", float, False, 0.0, "")
    with pytest.raises(ValueError, match="^x must be a finite float"):
        coerce(unbounded, value)
    with pytest.raises(ValueError, match="^scale must be"):
        coerce(spec("scale"), value)


def test_coerce_choices() -> None:
    assert coerce(spec("flow"), "none") == "none"
    with pytest.raises(ValueError, match=r"^mode must be one of fast, slow \(got 'medium'\)$"):
        coerce(spec("mode"), "medium")
    with pytest.raises(ValueError, match="^mode must be"):
        coerce(spec("mode"), "FAST")


def test_coerce_none_only_when_nullable() -> None:
    assert coerce(spec("limit"), None) is None
    assert coerce(spec("flow"), None) is None
    for field in ("count", "rate", "name", "mode", "flag"):
        with pytest.raises(ValueError, match=f"^{field} must be .*\\(got None\\)$"):
            coerce(spec(field), None)


def test_coerce_nullable_still_checks_a_given_value() -> None:
    with pytest.raises(ValueError, match="^limit must be an int, at least 1 \\(or none\\)"):
        coerce(spec("limit"), 0)
    with pytest.raises(ValueError, match="^flow must be"):
        coerce(spec("flow"), "scf")


def test_coerce_errors_are_one_line_and_name_the_field() -> None:
    for field, value in [("count", -1), ("rate", math.nan), ("mode", "x\ny"), ("limit", 0.5)]:
        with pytest.raises(ValueError) as info:
            coerce(spec(field), value)
        text = str(info.value)
        assert text.startswith(f"{field} must be ")
        assert "\n" not in text


# ----------------------------------------------------------------------------------------
# parse()


@pytest.mark.parametrize("text", ["none", "None", "null", "NULL", "  none  "])
def test_parse_none_and_null_give_none_for_nullable_fields(text: str) -> None:
    assert parse(spec("limit"), text) is None


def test_parse_none_for_a_required_field_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^count must be .*\(got None\)$"):
        parse(spec("count"), "none")
    with pytest.raises(ValueError, match=r"^name must be .*\(got None\)$"):
        parse(spec("name"), "null")


def test_parse_a_choice_named_none_stays_a_string() -> None:
    assert parse(spec("flow"), "none") == "none"
    assert parse(spec("flow"), " none ") == "none"
    assert parse(spec("flow"), "null") is None  # not a choice: the missing value
    assert parse(spec("flow"), "af") == "af"


def test_parse_a_real_config_choice_named_none() -> None:
    from lnfmusic.model.lnf.config import LNFConfig

    hidden = by_name(LNFConfig)["hidden_flow"]
    assert hidden.nullable and "none" in hidden.choices
    assert parse(hidden, "none") == "none"
    assert parse(hidden, "null") is None


def test_parse_ints() -> None:
    out = parse(spec("count"), " 12 ")
    assert out == 12 and type(out) is int
    for bad in ("1.5", "1e3", "twelve", "", "true"):
        with pytest.raises(ValueError, match="^count must be an int"):
            parse(spec("count"), bad)
    with pytest.raises(ValueError, match=r"\(got 0\)$"):
        parse(spec("count"), "0")


@pytest.mark.parametrize("text,value", [("1e-3", 1e-3), ("0.5", 0.5), (".25", 0.25), ("3", 3.0)])
def test_parse_floats(text: str, value: float) -> None:
    out = parse(spec("scale"), text)
    assert out == value and type(out) is float


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "Infinity", "abc", "1,5"])
def test_parse_rejects_non_finite_and_non_numeric_floats(text: str) -> None:
    with pytest.raises(ValueError, match="^scale must be a finite float"):
        parse(spec("scale"), text)


def test_parse_bools_and_strings() -> None:
    assert parse(spec("flag"), "true") is True
    assert parse(spec("flag"), "FALSE") is False
    with pytest.raises(ValueError, match="^flag must be true/false"):
        parse(spec("flag"), "1")
    assert parse(spec("name"), "  hello world ") == "hello world"
    assert parse(spec("name"), "3") == "3"
    assert parse(spec("mode"), "slow") == "slow"
    with pytest.raises(ValueError, match="^mode must be one of"):
        parse(spec("mode"), "Slow")


# ----------------------------------------------------------------------------------------
# check() and set_field()


def test_check_passes_a_valid_config() -> None:
    check(Sample())
    check(Sample(limit=3, flow="none", rate=0.1), "x.")


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"count": 0}, "count"),
        ({"rate": math.nan}, "rate"),
        ({"mode": "medium"}, "mode"),
        ({"limit": 0}, "limit"),
        ({"flag": "yes"}, "flag"),
        ({"hidden": None}, "hidden"),
    ],
)
def test_check_raises_an_lnf_error_prefixed_with_the_field(
    changes: dict[str, Any], field: str
) -> None:
    obj = Sample(**changes)
    with pytest.raises(LnfError) as info:
        check(obj, "train.")
    message = str(info.value)
    assert message.startswith(f"train.{field} must be ")
    assert "\n" not in message
    with pytest.raises(LnfError, match=f"^{field} must be "):
        check(obj)


def test_check_reports_the_first_bad_field_in_declaration_order() -> None:
    with pytest.raises(LnfError, match="^m.rate must be"):
        check(Sample(rate=2.0, mode="bad"), "m.")


def test_check_does_not_change_the_object() -> None:
    obj = Sample(scale=2)  # an int where a float is declared: accepted, left as it is
    check(obj)
    assert obj.scale == 2 and type(obj.scale) is int


def test_set_field_coerces_and_sets() -> None:
    obj = Sample()
    set_field(obj, "scale", 4)
    assert obj.scale == 4.0 and type(obj.scale) is float
    set_field(obj, "limit", None)
    assert obj.limit is None


def test_set_field_parses_text() -> None:
    obj = Sample()
    set_field(obj, "rate", "1e-3", text=True)
    set_field(obj, "limit", "none", text=True)
    set_field(obj, "flow", "none", text=True)
    set_field(obj, "count", "9", text=True)
    assert (obj.rate, obj.limit, obj.flow, obj.count) == (1e-3, None, "none", 9)


def test_set_field_without_text_does_not_parse() -> None:
    obj = Sample()
    with pytest.raises(ValueError, match="^count must be"):
        set_field(obj, "count", "9")
    assert obj.count == 3


def test_set_field_bad_value_leaves_the_field_unchanged() -> None:
    obj = Sample(rate=0.3)
    with pytest.raises(ValueError, match="^rate must be"):
        set_field(obj, "rate", "1.5", text=True)
    assert obj.rate == 0.3


def test_set_field_unknown_name_lists_the_known_ones() -> None:
    obj = Sample()
    with pytest.raises(ValueError, match="^unknown option 'cnt'") as info:
        set_field(obj, "cnt", 1)
    known = str(info.value).split("(known: ", 1)[1].rstrip(")").split(", ")
    assert known == sorted(f.name for f in dataclasses.fields(Sample))
    assert not hasattr(obj, "cnt")


def test_check_message_is_the_coerce_message_behind_the_prefix() -> None:
    obj = Sample(count=-2)
    with pytest.raises(ValueError) as plain:
        options.coerce(spec("count"), -2)
    with pytest.raises(LnfError) as wrapped:
        options.check(obj, "p.")
    assert str(wrapped.value) == f"p.{plain.value}"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**70])
def test_ints_beyond_64_bits_are_refused_whatever_the_declared_bounds(value: int) -> None:
    with pytest.raises(ValueError, match="within 64 bits"):
        coerce(Spec("n", int, False, 0, ""), value)
    assert coerce(Spec("n", int, False, 0, ""), 2**63 - 1) == 2**63 - 1


def test_an_int_too_large_for_a_float_is_a_value_error_not_an_overflow() -> None:
    with pytest.raises(ValueError, match="finite float"):
        coerce(spec("rate"), 10**400)
