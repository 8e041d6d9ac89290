"""One exception type for every user-facing failure.

The CLI turns an :class:`LnfError` into a single line on stderr and a non-zero exit,
so library code raises it (never ``sys.exit``) with the offending file named.
"""

from __future__ import annotations

from os import PathLike


def first_line(e: BaseException, limit: int = 160) -> str:
    """An exception's message cut to its first line (at most ``limit`` characters), or its
    type's name when it has none: the reason quoted in a one-line error."""
    text = str(e).strip()
    return (text.splitlines()[0][:limit] if text else "") or type(e).__name__


class LnfError(Exception):
    """A problem the user can fix: bad input file, missing dataset, wrong checkpoint...

    Args:
        message: what is wrong, in one line.
        path: the file or folder concerned; it is put in front of the message.
    """

    def __init__(self, message: str, path: str | PathLike[str] | None = None):
        self.path = None if path is None else str(path)
        self.message = " ".join(str(message).split())  # always one line
        super().__init__(f"{self.path}: {self.message}" if self.path else self.message)
