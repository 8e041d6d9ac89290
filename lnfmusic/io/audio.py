"""MIDI -> WAV with FluidSynth and a General MIDI soundfont (both optional).

FluidSynth is run as a program (``fluidsynth -ni -F out.wav ...``), so no Python binding is
needed. The soundfont is ``--soundfont`` when given, else ``$LNF_SOUNDFONT``, else the first
of the usual places (Debian's ``fluid-soundfont-gm`` installs
``/usr/share/sounds/sf2/FluidR3_GM.sf2``). The WAV is written to a temporary file next to the
target and renamed into place, so a failed render leaves nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import atomic_path

SOUNDFONT_PLACES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)
INSTALL_HINT = (
    "install FluidSynth and a soundfont (Debian/Ubuntu: apt-get install fluidsynth "
    "fluid-soundfont-gm; macOS: brew install fluid-synth)"
)
SAMPLE_RATE = 44_100


def find_fluidsynth() -> str:
    """The ``fluidsynth`` program on PATH, or a one-line :class:`LnfError` saying what to
    install."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise LnfError(f"--wav needs the fluidsynth program, which is not on PATH: {INSTALL_HINT}")
    return exe


def find_soundfont(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``explicit`` (checked to be a readable file), else ``$LNF_SOUNDFONT``, else the first
    soundfont found in :data:`SOUNDFONT_PLACES`."""
    if explicit is None:
        explicit = os.environ.get("LNF_SOUNDFONT") or None
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise LnfError("no such soundfont file", path)
        check_soundfont(path)
        return path
    for place in SOUNDFONT_PLACES:
        if Path(place).is_file():
            return Path(place)
    raise LnfError(
        "--wav needs a General MIDI soundfont and none was found in the usual places "
        f"({', '.join(SOUNDFONT_PLACES[:2])}, ...); pass --soundfont FILE or {INSTALL_HINT}"
    )


def check_soundfont(path: Path) -> None:
    """A one-line :class:`LnfError` unless ``path`` is a readable SoundFont 2 file (a RIFF
    file of form ``sfbk``); FluidSynth itself would render silence and exit 0."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError as e:
        raise LnfError(f"soundfont file cannot be read ({e.strerror or e})", path) from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise LnfError("not a SoundFont 2 (.sf2) file", path)


def render_wav(
    midi: str | os.PathLike[str],
    wav: str | os.PathLike[str],
    soundfont: str | os.PathLike[str],
    sample_rate: int = SAMPLE_RATE,
) -> None:
    """Render ``midi`` to ``wav`` (16-bit PCM) with FluidSynth, atomically."""
    exe = find_fluidsynth()
    wav = Path(wav)
    with atomic_path(wav) as tmp:
        tmp_wav = tmp.with_name(tmp.name + ".wav")
        cmd = [exe, "-ni", "-q", "-T", "wav", "-r", str(sample_rate), "-F", str(tmp_wav)]
        cmd += [str(soundfont), str(midi)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            failed = done.returncode != 0 or "error" in (done.stderr or "").lower()
            if failed or not tmp_wav.is_file() or tmp_wav.stat().st_size == 0:
                why = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
                raise LnfError(f"fluidsynth failed (exit {done.returncode}): {why[-1]}", wav)
            tmp_wav.replace(tmp)
        finally:
            tmp_wav.unlink(missing_ok=True)


def wav_rms(path: str | os.PathLike[str]) -> float:
    """Root-mean-square of a 16-bit PCM WAV's samples, in [0, 1] (0 is silence)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise LnfError(f"expected 16-bit samples, found {8 * w.getsampwidth()}-bit", path)
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    if data.size == 0:
        return 0.0
    return float(np.sqrt(np.mean((data.astype(np.float64) / 32768.0) ** 2)))
