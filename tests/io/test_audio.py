"""WAV rendering with FluidSynth: finding the program and a soundfont, rendering, RMS.

The rendering test needs the real ``fluidsynth`` and a soundfont (Debian: ``apt-get install
fluidsynth fluid-soundfont-gm``, which ``.ci/run`` does); without them it is skipped, unless
``LNF_REQUIRE_FLUIDSYNTH`` is set (as in CI), when it fails.
"""

from __future__ import annotations

import os
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from lnfmusic.errors import LnfError
from lnfmusic.io import audio
from lnfmusic.io.midi import write_midi


def need_fluidsynth() -> Path:
    try:
        audio.find_fluidsynth()
        return audio.find_soundfont()
    except LnfError as e:
        if os.environ.get("LNF_REQUIRE_FLUIDSYNTH"):
            pytest.fail(f"LNF_REQUIRE_FLUIDSYNTH is set but: {e}")
        pytest.skip(f"FluidSynth or a soundfont is missing ({e})")


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(samples.astype("<i2").tobytes())


def test_rms_of_silence_and_of_a_square_wave(tmp_path: Path) -> None:
    write_wav(tmp_path / "quiet.wav", np.zeros(800))
    write_wav(tmp_path / "square.wav", np.tile([16384, -16384], 400))
    assert audio.wav_rms(tmp_path / "quiet.wav") == 0.0
    assert audio.wav_rms(tmp_path / "square.wav") == pytest.approx(0.5)


def test_missing_program_and_soundfont_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LnfError, match="fluidsynth program.*apt-get install fluidsynth"):
        audio.find_fluidsynth()
    with pytest.raises(LnfError, match="no such soundfont file") as e:
        audio.find_soundfont(tmp_path / "nope.sf2")
    assert str(tmp_path / "nope.sf2") in str(e.value)
    monkeypatch.setattr(audio, "SOUNDFONT_PLACES", (str(tmp_path / "a.sf2"),))
    monkeypatch.delenv("LNF_SOUNDFONT", raising=False)
    with pytest.raises(LnfError, match="--soundfont FILE"):
        audio.find_soundfont()
    (tmp_path / "a.sf2").write_bytes(b"RIFF\0\0\0\0sfbk")
    assert audio.find_soundfont() == tmp_path / "a.sf2"
    monkeypatch.setenv("LNF_SOUNDFONT", str(tmp_path / "b.sf2"))
    with pytest.raises(LnfError, match="no such soundfont"):
        audio.find_soundfont()


def test_a_file_that_is_not_a_soundfont_is_refused_before_rendering(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"not a soundfont at all")
    with pytest.raises(LnfError, match="not a SoundFont 2") as e:
        audio.find_soundfont(bad)
    assert str(bad) in str(e.value)


def test_a_failing_render_leaves_nothing(tmp_path: Path) -> None:
    if shutil.which("fluidsynth") is None:
        need_fluidsynth()
    (tmp_path / "a.mid").write_bytes(b"MThd but not really a MIDI file")
    soundfont = need_fluidsynth()
    with pytest.raises(LnfError, match="fluidsynth failed") as e:
        audio.render_wav(tmp_path / "a.mid", tmp_path / "a.wav", soundfont)
    assert str(tmp_path / "a.wav") in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid"]


def test_real_fluidsynth_renders_sound(tmp_path: Path) -> None:
    soundfont = need_fluidsynth()
    roll = np.zeros((8, 88), dtype=np.uint8)
    roll[:, [39, 43, 46]] = 1  # a C major chord for 4 beats
    write_midi(roll, tmp_path / "c.mid", steps_per_beat=2, bpm=120)
    audio.render_wav(tmp_path / "c.mid", tmp_path / "c.wav", soundfont)
    with wave.open(str(tmp_path / "c.wav"), "rb") as w:
        seconds = w.getnframes() / w.getframerate()
    assert seconds >= 2.0  # 4 beats at 120 bpm, plus the release
    assert audio.wav_rms(tmp_path / "c.wav") > 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mid", "c.wav"]
