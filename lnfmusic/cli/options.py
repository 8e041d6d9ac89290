"""Command-line flags generated from the config dataclasses' fields (their help text,
types, ranges and choices), so that flags, TOML files and the library agree by
construction."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from lnfmusic import options

F = TypeVar("F", bound=Callable[..., Any])

MAX_THREADS = 1024  # --threads


class FiniteFloatRange(click.FloatRange):
    """A float in range that is also finite (click's FloatRange lets NaN through)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        value = super().convert(value, param, ctx)
        if not math.isfinite(value):
            self.fail(f"{value} is not a finite number", param, ctx)
        return value


class Int64Range(click.IntRange):
    """An int in range that also fits in 64 bits (the library's limit on every int); the
    help shows only the declared bounds."""

    def __init__(self, min: int | None = None, max: int | None = None, **kwargs: Any):
        self.declared = (min, max)
        super().__init__(
            options.INT_MIN if min is None else min,
            options.INT_MAX if max is None else max,
            **kwargs,
        )

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.INT.convert(value, param, ctx)
        if not options.INT_MIN <= number <= options.INT_MAX:
            self.fail(f"{number} does not fit in 64 bits", param, ctx)
        return super().convert(number, param, ctx)

    def _describe_range(self) -> str:
        low, high = self.declared
        shown = click.IntRange(low, high, min_open=self.min_open, max_open=self.max_open)
        return shown._describe_range()


def click_type(spec: options.Spec) -> click.ParamType:
    """The click type of a field: a choice, or an int/float range from its bounds."""
    if spec.choices is not None:
        return click.Choice(spec.choices)
    if spec.type is bool:
        return click.BOOL
    # the tighter bound of each side (a field may give both an inclusive and a strict one)
    low_open = spec.gt is not None and (spec.ge is None or spec.gt >= spec.ge)
    high_open = spec.lt is not None and (spec.le is None or spec.lt <= spec.le)
    kwargs = {
        "min": spec.gt if low_open else spec.ge,
        "max": spec.lt if high_open else spec.le,
        "min_open": low_open,
        "max_open": high_open,
    }
    if spec.type is int:
        return Int64Range(**kwargs)
    if spec.type is float:
        return FiniteFloatRange(**kwargs)
    return click.STRING


def sentence(text: str) -> str:
    """A field's help text as a sentence: capitalised, with a full stop."""
    return f"{text[:1].upper()}{text[1:]}."


def spec_option(cls: type, name: str, flag: str | None = None, help: str | None = None):
    """A flag for field ``name`` of the config dataclass ``cls`` with the field's type,
    range and default (``--name`` unless ``flag`` is given); the parameter is ``name``."""
    spec = next(s for s in options.specs(cls) if s.name == name)
    return click.option(
        flag or "--" + name.replace("_", "-"),
        name,
        type=click_type(spec),
        default=spec.default,
        show_default=spec.default is not None,
        help=help or sentence(spec.help),
    )


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def param_name(section: str, name: str) -> str:
    """The click parameter (keyword argument) of ``section.name``: ``train__lr``."""
    return f"{section}__{name}"


def split_param(param: str) -> tuple[str, str]:
    section, _, name = param.partition("__")
    return section, name


def field_options(
    section: str, specs: Sequence[options.Spec], note: Callable[[str], str]
) -> Callable[[F], F]:
    """Add one ``--kebab-name`` option per field (``None`` = not given) except those declared
    ``cli=False``, named :func:`param_name`; ``note(name)`` is appended to each help text."""

    def decorate(func: F) -> F:
        for spec in reversed([s for s in specs if s.cli]):
            func = click.option(
                flag(spec.name),
                param_name(section, spec.name),
                type=click_type(spec),
                default=None,
                show_default=False,
                help=sentence(spec.help + note(spec.name)),
            )(func)
        return func

    return decorate
