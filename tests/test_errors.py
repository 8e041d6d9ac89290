"""``lnfmusic.errors.LnfError``: always a one-line message, the path put in front, and the
``path`` / ``message`` attributes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lnfmusic.errors import LnfError, first_line


def test_message_without_a_path() -> None:
    e = LnfError("dataset not found")
    assert str(e) == "dataset not found"
    assert e.message == "dataset not found"
    assert e.path is None
    assert e.args == ("dataset not found",)


@pytest.mark.parametrize(
    "raw,line",
    [
        ("first line\nsecond line", "first line second line"),
        ("  padded  ", "padded"),
        ("tabs\tand\r\nwindows\n\nbreaks", "tabs and windows breaks"),
        ("many     spaces", "many spaces"),
        ("trailing newline\n", "trailing newline"),
    ],
)
def test_message_is_always_one_line(raw: str, line: str) -> None:
    e = LnfError(raw)
    assert e.message == line
    assert str(e) == line
    assert "\n" not in str(e) and "\r" not in str(e)


def test_path_goes_in_front() -> None:
    e = LnfError("not a checkpoint", "runs/x/last.pt")
    assert str(e) == "runs/x/last.pt: not a checkpoint"
    assert e.path == "runs/x/last.pt"
    assert e.message == "not a checkpoint"


def test_path_like_is_stored_as_a_string() -> None:
    e = LnfError("bad\nfile", Path("/tmp") / "a b.pickle")
    assert e.path == "/tmp/a b.pickle" and isinstance(e.path, str)
    assert str(e) == "/tmp/a b.pickle: bad file"


def test_empty_path_is_not_put_in_front() -> None:
    e = LnfError("oops", "")
    assert e.path == ""
    assert str(e) == "oops"


def test_non_string_message_is_converted() -> None:
    e = LnfError(ValueError("inner\nreason"))  # type: ignore[arg-type]
    assert e.message == "inner reason"


def test_is_an_exception_that_can_be_caught_as_such() -> None:
    with pytest.raises(Exception, match=r"^p: m$"):
        raise LnfError("m", "p")


def test_first_line_quotes_a_reason_in_one_line() -> None:
    assert first_line(ValueError("bad\nvery long detail")) == "bad"
    assert first_line(KeyError()) == "KeyError"
    assert first_line(RuntimeError("x" * 300), 10) == "x" * 10
