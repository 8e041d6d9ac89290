"""Typed, documented configuration fields: one declaration gives the default, the help text,
the allowed values and the checks.

A config dataclass declares each field with :func:`option`::

    lr: float = option(1e-3, "Adam learning rate", gt=0)

From that one line come the TOML and ``key=value`` parsing (:func:`coerce`), the validation
of a whole config (:func:`check`), and the generated command-line flags (``lnfmusic.cli``).
Errors name the library's parameter (``train.lr``), never a command-line flag.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any

from lnfmusic.errors import LnfError

# Every int option is a signed 64-bit value (torch, numpy and seeds take no more), whatever
# bounds its declaration gives.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def option(
    default: Any,
    help: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple[str, ...] | None = None,
    cli: bool = True,
) -> Any:
    """A dataclass field with its help text and allowed values (bounds are inclusive for
    ``ge``/``le``, exclusive for ``gt``/``lt``; ``choices`` for strings). ``cli=False``
    keeps it out of the generated command-line flags (it stays settable from TOML)."""
    meta = {"help": help, "ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices, "cli": cli}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Spec:
    """What a field accepts: its type (``int``, ``float``, ``str`` or ``bool``), whether
    ``None`` is allowed, its bounds or choices, and its help text."""

    name: str
    type: type
    nullable: bool
    default: Any
    help: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] | None = None
    cli: bool = True

    def describe(self) -> str:
        """The allowed values in words: ``an int >= 1``, ``one of nlsq, affine``..."""
        if self.choices is not None:
            text = f"one of {', '.join(self.choices)}"
        else:
            text = {int: "an int", float: "a finite float", str: "a string", bool: "true/false"}[
                self.type
            ]
            bounds = [
                f"{words} {_fmt(v)}"
                for words, v in (
                    ("at least", self.ge),
                    ("greater than", self.gt),
                    ("at most", self.le),
                    ("less than", self.lt),
                )
                if v is not None
            ]
            if bounds:
                text += ", " + " and ".join(bounds)
        return text + (" (or none)" if self.nullable else "")


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(v)


def specs(cls: type) -> list[Spec]:
    """The :class:`Spec` of every field of the dataclass ``cls``, in declaration order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = typing.get_args(hint)
        nullable = type(None) in args
        base = next((a for a in args if a is not type(None)), hint) if args else hint
        meta = f.metadata
        default = f.default if f.default is not dataclasses.MISSING else None
        out.append(
            Spec(
                f.name,
                base,
                nullable,
                default,
                meta.get("help", ""),
                meta.get("ge"),
                meta.get("gt"),
                meta.get("le"),
                meta.get("lt"),
                meta.get("choices"),
                meta.get("cli", True),
            )
        )
    return out


def coerce(spec: Spec, value: Any) -> Any:
    """``value`` as the field's type (an int is accepted for a float), checked against the
    field's bounds and choices; raises ``ValueError`` with a one-line reason."""
    if value is None:
        if spec.nullable:
            return None
        raise ValueError(f"{spec.name} must be {spec.describe()} (got None)")
    if spec.type is float and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:  # an int beyond any float
            raise ValueError(
                f"{spec.name} must be {spec.describe()} (got {_shown(value)})"
            ) from None
    elif type(value) is not spec.type:
        raise ValueError(f"{spec.name} must be {spec.describe()} (got {_shown(value)})")
    wrong = (
        (spec.type is float and not math.isfinite(value))
        or (spec.choices is not None and value not in spec.choices)
        or (spec.ge is not None and not value >= spec.ge)
        or (spec.gt is not None and not value > spec.gt)
        or (spec.le is not None and not value <= spec.le)
        or (spec.lt is not None and not value < spec.lt)
    )
    if wrong:
        raise ValueError(f"{spec.name} must be {spec.describe()} (got {_shown(value)})")
    if spec.type is int and not INT_MIN <= value <= INT_MAX:
        raise ValueError(
            f"{spec.name} must be {spec.describe()} within 64 bits (got {_shown(value)})"
        )
    return value


def _shown(value: Any, limit: int = 40) -> str:
    """``repr(value)``, shortened in the middle when long (a 400-digit integer...)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 2 :]}"


def parse(spec: Spec, text: str) -> Any:
    """A value written as text (``key=value`` overrides): ``none``/``null``, ``true``/
    ``false``, numbers and strings; then :func:`coerce`."""
    raw = text.strip()
    value: Any
    if spec.choices is not None and raw in spec.choices:
        value = raw  # a choice named "none" stays a string
    elif raw.lower() in ("none", "null"):
        value = None
    elif spec.type is bool and raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    elif spec.type is int:
        try:
            value = int(raw)
        except ValueError:
            value = raw
    elif spec.type is float:
        try:
            value = float(raw)
        except ValueError:
            value = raw
    else:
        value = raw
    return coerce(spec, value)


def check(obj: Any, prefix: str = "") -> None:
    """Check every field of the dataclass instance ``obj``; the first bad one is an
    :class:`LnfError` naming it as ``prefix + name``."""
    for spec in specs(type(obj)):
        try:
            coerce(spec, getattr(obj, spec.name))
        except ValueError as e:
            raise LnfError(f"{prefix}{e}") from None


def set_field(obj: Any, name: str, value: Any, *, text: bool = False) -> None:
    """Set field ``name`` of the dataclass ``obj`` to ``value`` (parsed first when ``text``),
    checked; unknown names and bad values raise ``ValueError``."""
    by_name = {s.name: s for s in specs(type(obj))}
    if name not in by_name:
        raise ValueError(f"unknown option {name!r} (known: {', '.join(sorted(by_name))})")
    spec = by_name[name]
    setattr(obj, name, parse(spec, value) if text else coerce(spec, value))
