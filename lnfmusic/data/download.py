"""Atomic, checksum-verified downloads (urllib only, no extra dependencies).

The bytes go to a temporary file beside the destination; only when the download is complete
and its sha256 matches is the file renamed into place. On any failure nothing is left behind
(not even folders created for the file) and an existing destination is untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from lnfmusic.data import registry
from lnfmusic.errors import LnfError
from lnfmusic.progress import progress_bar

CHUNK = 1 << 16
TIMEOUT_S = 60.0
USER_AGENT = "lnfmusic-downloader"
BASE_URL_ENV = "LNF_DATA_URL"  # a mirror: files are fetched from $LNF_DATA_URL/<file name>


class ChecksumError(LnfError):
    """The downloaded bytes do not have the expected sha256 (nothing was written)."""


@contextlib.contextmanager
def _staged(dest: Path) -> Iterator[Path]:
    """A temporary file beside ``dest`` renamed onto it on success; on failure the temporary
    file and every folder created for it are removed."""
    created = [p for p in [dest.parent, *dest.parent.parents] if not p.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        for folder in created:  # innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _progress(console: Console, enabled: bool) -> Progress:
    return progress_bar(console, enabled and console.is_terminal, transfer=True, transient=True)


def download(
    url: str,
    dest: str | os.PathLike[str],
    sha256: str | None,
    console: Console | None = None,
    *,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
) -> Path:
    """Fetch ``url`` to ``dest`` atomically, checking ``sha256`` (hex) when given.

    A rich progress bar goes to ``console`` (default: a new stderr console).

    Raises:
        ChecksumError: the bytes do not match ``sha256`` (the error names ``dest``).
        LnfError: a network or HTTP failure (the error names ``url``).
    """
    dest = Path(dest)
    console = console or Console(stderr=True)
    h = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            size = response.headers.get("Content-Length")
            total = int(size) if size and size.isdigit() else None
            with _staged(dest) as tmp, open(tmp, "wb") as out:
                with _progress(console, progress) as bar:
                    task = bar.add_task(dest.name, total=total)
                    received = 0
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        received += len(chunk)
                        bar.advance(task, len(chunk))
                if total is not None and received != total:
                    raise LnfError(f"download failed: ended after {received} of {total} bytes", url)
                actual = h.hexdigest()
                if sha256 is not None and actual != sha256.lower():
                    raise ChecksumError(
                        f"sha256 mismatch for the download from {url}: expected "
                        f"{sha256[:12]}..., got {actual[:12]}...; nothing was written",
                        dest,
                    )
    except LnfError:
        raise
    except urllib.error.HTTPError as e:
        raise LnfError(f"download failed: HTTP {e.code} {e.reason}", url) from None
    except urllib.error.URLError as e:
        raise LnfError(f"download failed: {e.reason}", url) from None
    except (OSError, ValueError) as e:  # timeouts, connection resets, malformed URLs
        raise LnfError(f"download failed: {e}", url) from None
    return dest


def _download_form(
    form: tuple[registry.DataFile, ...],
    dest_dir: Path,
    base_url: str | None,
    force: bool,
    progress: bool,
    console: Console,
) -> list[Path]:
    paths = []
    for entry in form:
        dest = dest_dir / entry.name
        if not force and registry.file_status(dest, entry) == registry.STATUS_OK:
            console.print(f"already present (sha256 ok): {dest}")
            paths.append(dest)
            continue
        urls = (base_url.rstrip("/") + "/" + entry.name,) if base_url else entry.urls
        for k, url in enumerate(urls):
            try:
                download(url, dest, entry.sha256, console, progress=progress)
                break
            except ChecksumError:
                raise  # a server handing out wrong bytes: stop, do not try elsewhere
            except LnfError as e:
                if k == len(urls) - 1:
                    raise
                console.print(f"{e}; trying the next URL")
        console.print(f"downloaded (sha256 ok): {dest}")
        paths.append(dest)
    return paths


def download_dataset(
    name: str,
    dest_dir: str | os.PathLike[str] = "datasets",
    *,
    base_url: str | None = None,
    form: int | None = None,
    force: bool = False,
    progress: bool = True,
    console: Console | None = None,
) -> list[Path]:
    """Download a verifiable form of dataset ``name`` into ``dest_dir``; the file paths.

    Forms are tried in :meth:`~lnfmusic.data.registry.DatasetInfo.download_forms` order (or
    only form number ``form``); each file at its URLs in order (canonical first, then
    mirrors). ``base_url`` (default ``$LNF_DATA_URL``) replaces the URLs by
    ``base_url/<file name>``. Files already present with the right sha256 are kept unless
    ``force``. A network failure moves on to the next form; a checksum mismatch stops.

    Raises:
        ChecksumError: a downloaded file has the wrong sha256.
        LnfError: a bad ``form`` index, or every form failed (all reasons in one line).
    """
    info = registry.get_info(name)
    console = console or Console(stderr=True)
    base_url = base_url or os.environ.get(BASE_URL_ENV) or None
    if form is not None:
        if not 0 <= form < len(info.forms):
            raise LnfError(f"dataset {name!r} has forms 0..{len(info.forms) - 1}, not {form}")
        forms = [info.forms[form]]
    else:
        forms = info.download_forms()
    if not forms:
        raise LnfError(f"dataset {name!r} has no verifiable download; see datasets/README.md")
    errors = []
    for files in forms:
        try:
            return _download_form(files, Path(dest_dir), base_url, force, progress, console)
        except ChecksumError:
            raise
        except LnfError as e:
            console.print(f"{e}")
            errors.append(str(e))
    raise LnfError(f"could not download {name!r}: {' ; '.join(errors)}")
