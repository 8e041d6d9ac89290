"""``lnf sample`` and ``lnf text-sample`` end to end on tiny checkpoints trained here."""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

import pretty_midi
import pytest
import torch
from click.testing import CliRunner

from lnfmusic.cli.main import cli
from tests.helpers import train_tiny, write_jsb_like, write_text_lines


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sample")
    data_dir = write_jsb_like(root / "data")
    text = write_text_lines(root / "lines.txt")
    torch.manual_seed(0)
    return {
        "music": train_tiny("jsb", "iaf-scf", root / "music", data_dir),
        "lstm": train_tiny("jsb", "lstm", root / "lstm", data_dir),
        "text": train_tiny(f"text:{text}", "lstm", root / "text"),
    }


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def check_midi(path: Path) -> list[pretty_midi.Note]:
    pm = pretty_midi.PrettyMIDI(str(path))
    notes = [n for inst in pm.instruments for n in inst.notes]
    assert all(21 <= n.pitch <= 108 for n in notes)
    assert all(n.end > n.start for n in notes)
    return notes


@pytest.mark.parametrize("name", ["music", "lstm"])
def test_sample_writes_valid_midi(checkpoints: dict, tmp_path: Path, name: str) -> None:
    out = tmp_path / "song.mid"
    code, stdout, err = run(
        "sample",
        "--checkpoint",
        str(checkpoints[name]),
        "--out",
        str(out),
        "--seed",
        "3",
        "--length",
        "12",
        "--device",
        "cpu",
    )
    assert code == 0, err
    notes = check_midi(out)
    assert notes, "an untrained model at p ~ 0.5 plays notes"
    assert f"wrote {out}" in stdout and "12 steps" in stdout
    assert f"{len(notes)} notes" in stdout and "seed 3" in stdout


def test_several_samples_need_and_use_the_i_pattern(checkpoints: dict, tmp_path: Path) -> None:
    pattern = str(tmp_path / "s_{i}.mid")
    code, stdout, err = run(
        "sample",
        "--checkpoint",
        str(checkpoints["music"]),
        "--out",
        pattern,
        "--num",
        "3",
        "--seed",
        "5",
        "--device",
        "cpu",
    )
    assert code == 0, err
    for i in range(3):
        check_midi(tmp_path / f"s_{i}.mid")
        assert f"seed {5 + i}" in stdout
    code, _, err = run(
        "sample",
        "--checkpoint",
        str(checkpoints["music"]),
        "--out",
        str(tmp_path / "x.mid"),
        "--num",
        "2",
    )
    assert code == 1 and err.startswith("error:") and err.count("\n") == 1 and "{i}" in err
    assert not (tmp_path / "x.mid").exists()


def test_same_seed_same_file_and_restrike_has_at_least_as_many_notes(
    checkpoints: dict, tmp_path: Path
) -> None:
    args = [
        "sample",
        "--checkpoint",
        str(checkpoints["music"]),
        "--length",
        "12",
        "--seed",
        "1",
        "--device",
        "cpu",
        "--threshold",
        "0.5",
    ]
    for name in ("a", "b"):
        assert run(*args, "--out", str(tmp_path / f"{name}.mid"))[0] == 0
    assert run(*args, "--out", str(tmp_path / "r.mid"), "--articulation", "restrike")[0] == 0
    a, b = check_midi(tmp_path / "a.mid"), check_midi(tmp_path / "b.mid")
    assert [(n.pitch, n.start, n.end) for n in a] == [(n.pitch, n.start, n.end) for n in b]
    assert len(check_midi(tmp_path / "r.mid")) >= len(a)


def test_default_checkpoint_from_model_dir(
    checkpoints: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "default.pt").write_bytes(checkpoints["music"].read_bytes())
    monkeypatch.setenv("LNF_MODEL_DIR", str(models))
    code, _, err = run("sample", "--out", str(tmp_path / "d.mid"), "--device", "cpu")
    assert code == 0, err
    check_midi(tmp_path / "d.mid")


def test_text_sample_to_stdout_and_file(checkpoints: dict, tmp_path: Path) -> None:
    code, out, err = run(
        "text-sample",
        "--checkpoint",
        str(checkpoints["text"]),
        "--num",
        "3",
        "--length",
        "12",
        "--seed",
        "4",
        "--device",
        "cpu",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3 and all(len(line) == 12 for line in lines)
    target = tmp_path / "t.txt"
    code, _, err = run(
        "text-sample",
        "--checkpoint",
        str(checkpoints["text"]),
        "--num",
        "3",
        "--length",
        "12",
        "--seed",
        "4",
        "--out",
        str(target),
        "--device",
        "cpu",
    )
    assert code == 0, err
    assert target.read_text(encoding="utf-8") == out


def test_wrong_kind_and_bad_files_are_one_line_errors(checkpoints: dict, tmp_path: Path) -> None:
    code, _, err = run(
        "sample", "--checkpoint", str(checkpoints["text"]), "--out", str(tmp_path / "x.mid")
    )
    assert code == 1 and err.count("\n") == 1 and "text checkpoint" in err
    assert not (tmp_path / "x.mid").exists()
    code, _, err = run("text-sample", "--checkpoint", str(checkpoints["music"]))
    assert code == 1 and err.count("\n") == 1 and "music checkpoint" in err
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    for args in (["sample", "--out", str(tmp_path / "y.mid")], ["text-sample"]):
        code, _, err = run(*args, "--checkpoint", str(bad))
        assert code == 1 and err.startswith("error:") and err.count("\n") == 1
        assert "bad.pt" in err


def test_roll_png(checkpoints: dict, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "roll.png"
    code, out, err = run(
        "sample",
        "--checkpoint",
        str(checkpoints["music"]),
        "--out",
        str(tmp_path / "p.mid"),
        "--roll-png",
        str(png),
        "--device",
        "cpu",
    )
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(png) in out


def test_unwritable_outputs_are_one_line_errors_before_sampling(
    checkpoints: dict, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = [
        ("sample", "--checkpoint", str(checkpoints["music"]), "--out", str(folder)),
        ("sample", "--checkpoint", str(checkpoints["music"]), "--out", str(blocker / "x.mid")),
        (
            "sample",
            "--checkpoint",
            str(checkpoints["music"]),
            "--out",
            str(tmp_path / "ok.mid"),
            "--roll-png",
            str(folder),
        ),
        ("text-sample", "--checkpoint", str(checkpoints["text"]), "--out", str(blocker / "t")),
    ]
    for args in cases:
        code, _, err = run(*args)
        assert code == 1 and err.startswith("error:") and err.count("\n") == 1, err
        assert "Traceback" not in err
    assert not (tmp_path / "ok.mid").exists(), "nothing is written when an output is bad"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "folder"]
    assert not list(folder.iterdir())


def test_several_samples_name_the_option_that_lacks_the_i_pattern(
    checkpoints: dict, tmp_path: Path
) -> None:
    for args, option in (
        (["--out", str(tmp_path / "s.mid")], "--out"),
        (
            ["--out", str(tmp_path / "s{i}.mid"), "--roll-png", str(tmp_path / "r.png")],
            "--roll-png",
        ),
    ):
        code, _, err = run("sample", "--checkpoint", str(checkpoints["music"]), "--num", "2", *args)
        assert code == 1 and err.count("\n") == 1
        assert f"needs '{{i}}' in {option} " in err, err
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------------------
# Fresh seeds, sidecars, primers, variations, interpolation, audio (issue 13)


def sidecar(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".json").read_text())


def redo(record: dict, out: Path) -> tuple[int, str, str]:
    """Run a sidecar's ``reproduce`` command line, writing to ``out`` instead."""
    words = shlex.split(record["reproduce"])
    assert words[0] == "lnf"
    words[words.index("--out") + 1] = str(out)
    return run(*words[1:])


def test_two_calls_differ_print_their_seeds_and_the_sidecar_redoes_each_byte_for_byte(
    checkpoints: dict, tmp_path: Path
) -> None:
    seeds = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.mid"
        code, stdout, err = run(
            "sample", "--checkpoint", str(checkpoints["music"]), "--out", str(out)
        )
        assert code == 0, err
        seed = sidecar(out)["seed"]
        assert f"seed {seed} (drawn fresh; pass --seed {seed}" in err and f"seed {seed}" in stdout
        seeds.append(seed)
    assert (
        seeds[0] != seeds[1]
        and (tmp_path / "a.mid").read_bytes() != (tmp_path / "b.mid").read_bytes()
    )
    record = sidecar(tmp_path / "a.mid")
    assert (
        record["checkpoint"]["sha256"]
        == hashlib.sha256(checkpoints["music"].read_bytes()).hexdigest()
    )
    assert {"lnfmusic", "torch", "length", "temperature", "threshold", "bpm", "program"} <= set(
        record
    )
    assert record["articulation"] == "hold" and record["files"] == {"midi": str(tmp_path / "a.mid")}
    code, _, err = redo(record, tmp_path / "again.mid")
    assert code == 0, err
    assert (tmp_path / "again.mid").read_bytes() == (tmp_path / "a.mid").read_bytes()
    # --seed alone (lengths drawn again under the same seed) gives the same file too
    code, _, err = run("sample", "--checkpoint", str(checkpoints["music"]), "--seed", str(seeds[0]),
                       "--out", str(tmp_path / "seed.mid"))  # fmt: skip
    assert code == 0 and "drawn fresh" not in err
    assert (tmp_path / "seed.mid").read_bytes() == (tmp_path / "a.mid").read_bytes()


@pytest.fixture(scope="module")
def samples() -> Path:
    """The real MIDI files of ``../shared/data/midi_samples`` (required in CI)."""
    import os

    env = os.environ.get("LNF_DATA_DIR")
    folder = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
    folder = folder / "midi_samples"
    if not (folder / "jsb_chorales_train_2.mid").is_file():
        if os.environ.get("LNF_REQUIRE_DATA"):
            pytest.fail(f"{folder} has no sample MIDI files")
        pytest.skip(f"{folder} has no sample MIDI files")
    return folder


SHIPPED = Path(__file__).resolve().parents[2] / "models" / "default.pt"


def roll(path: Path, steps_per_beat: int = 1):
    from lnfmusic.io.midi import midi_to_roll

    return midi_to_roll(path, steps_per_beat=steps_per_beat)


@pytest.mark.parametrize("transpose", ["auto", "0"])
def test_a_primed_sample_starts_with_the_primer(
    samples: Path, tmp_path: Path, transpose: str
) -> None:
    primer = samples / "nottingham_train_reels_simple_chords_32.mid"  # G major: auto moves it
    out = tmp_path / "p.mid"
    code, stdout, err = run("sample", "--checkpoint", str(SHIPPED), "--primer", str(primer),
                            "--primer-steps", "12", "--transpose", transpose, "--seed", "1",
                            "--out", str(out))  # fmt: skip
    assert code == 0, err
    got, want = roll(out), roll(primer)
    assert len(got) > 12 and (got[:12] == want[:12]).all()
    record = sidecar(out)
    assert record["primer"]["sha256"] == hashlib.sha256(primer.read_bytes()).hexdigest()
    assert record["primer_steps"] == 12 and (record["transpose"] != 0) == (transpose == "auto")
    code, _, err = redo(record, tmp_path / "again.mid")
    assert code == 0, err
    assert (tmp_path / "again.mid").read_bytes() == out.read_bytes()


def test_variations_keep_length_and_interpolation_writes_every_piece(
    samples: Path, tmp_path: Path
) -> None:
    a, b = samples / "jsb_chorales_train_2.mid", samples / "jsb_chorales_train_10.mid"
    code, stdout, err = run("variations", str(a), "--checkpoint", str(SHIPPED), "--num", "2",
                            "--temperature", "0.5", "--seed", "0",
                            "--out", str(tmp_path / "v_{i}.mid"))  # fmt: skip
    assert code == 0, err
    for i in range(2):
        assert len(roll(tmp_path / f"v_{i}.mid")) == len(roll(a))
        assert sidecar(tmp_path / f"v_{i}.mid")["seed"] == i
    code, stdout, err = run("interpolate", str(a), str(b), "--checkpoint", str(SHIPPED),
                            "--steps", "3", "--out", str(tmp_path / "i_{i}.mid"),
                            "--concat", str(tmp_path / "all.mid"))  # fmt: skip
    assert code == 0, err
    L = min(len(roll(a)), len(roll(b)))
    assert [len(roll(tmp_path / f"i_{i}.mid")) for i in range(3)] == [L] * 3
    assert [sidecar(tmp_path / f"i_{i}.mid")["t"] for i in range(3)] == [0.0, 0.5, 1.0]
    assert len(roll(tmp_path / "all.mid")) == 3 * L


def test_wav_is_audible(checkpoints: dict, tmp_path: Path) -> None:
    import os

    from lnfmusic.io.audio import wav_rms

    code, stdout, err = run("sample", "--checkpoint", str(checkpoints["music"]), "--seed", "0",
                            "--length", "12", "--out", str(tmp_path / "s.mid"),
                            "--wav", str(tmp_path / "s.wav"))  # fmt: skip
    if code == 1 and ("fluidsynth" in err.lower() or "soundfont" in err.lower()):
        if os.environ.get("LNF_REQUIRE_FLUIDSYNTH"):
            pytest.fail(err)
        pytest.skip(f"FluidSynth is not installed here: {err.strip()}")
    assert code == 0, err
    assert wav_rms(tmp_path / "s.wav") > 1e-3
    assert sidecar(tmp_path / "s.mid")["files"]["wav"] == str(tmp_path / "s.wav")


def write_notes(path: Path, pitches: list[int], drum: bool = False) -> Path:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0, is_drum=drum)
    inst.notes = [pretty_midi.Note(90, p, 0.5 * i, 0.5 * i + 0.5) for i, p in enumerate(pitches)]
    if pitches:
        pm.instruments.append(inst)
    pm.write(str(path))
    return path


def test_bad_generation_inputs_are_one_line_errors_and_write_nothing(
    checkpoints: dict, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "text.mid").write_text("not MIDI")
    empty = write_notes(inputs / "empty.mid", [])
    drums = write_notes(inputs / "drums.mid", [36, 38, 42], drum=True)
    low = write_notes(inputs / "low.mid", [10, 60, 64])
    long = write_notes(inputs / "long.mid", [60, 64, 67] * 20)  # 60 steps at 2 per beat
    ok = write_notes(inputs / "ok.mid", [60, 64, 67, 72])
    out = tmp_path / "out"
    music, text = str(checkpoints["music"]), str(checkpoints["text"])
    sample = ("sample", "--checkpoint", music, "--out", str(out / "s.mid"))
    cases = [
        ((*sample, "--primer", str(inputs / "text.mid")), "text.mid"),
        ((*sample, "--primer", str(empty)), "empty.mid"),
        ((*sample, "--primer", str(drums)), "drum"),
        ((*sample, "--primer", str(low)), "pitch 10"),
        ((*sample, "--primer", str(long)), "nothing is left to continue"),
        ((*sample, "--primer", str(inputs / "missing.mid")), "missing.mid"),
        ((*sample, "--primer", str(ok), "--primer-steps", "99"), "--primer-steps 99"),
        ((*sample, "--primer-steps", "3"), "--primer-steps needs --primer"),
        ((*sample, "--primer", str(ok), "--transpose", "up"), "--transpose"),
        ((*sample, "--primer", str(ok), "--transpose", "99"), "--transpose"),
        ((*sample, "--primer", str(ok), "--length", "4"), "--length 4 must exceed"),
        ((*sample, "--length", "500"), "length 500 is beyond"),
        ((*sample, "--wav", str(out / "s.wav"), "--soundfont", str(inputs / "no.sf2")), "no.sf2"),
        ((*sample, "--wav", str(out / "s.wav"), "--soundfont", str(ok)), "not a SoundFont"),
        ((*sample, "--soundfont", str(ok)), "--soundfont is only used with --wav"),
        (
            (
                "sample",
                "--checkpoint",
                music,
                "--out",
                str(out / "s{i}.mid"),
                "--num",
                "2",
                "--wav",
                str(out / "s.wav"),
            ),
            "'{i}' in --wav",
        ),  # fmt: skip
        (("sample", "--checkpoint", "nosuchmodel", "--out", str(out / "s.mid")), "nosuchmodel"),
        (
            (
                "variations",
                str(ok),
                "--checkpoint",
                str(checkpoints["lstm"]),
                "--out",
                str(out / "v.mid"),
            ),
            "needs a model with latents",
        ),  # fmt: skip
        (("variations", str(drums), "--checkpoint", music, "--out", str(out / "v.mid")), "drum"),
        (
            (
                "variations",
                str(ok),
                "--checkpoint",
                music,
                "--out",
                str(out / "v.mid"),
                "--temperature",
                "nan",
            ),
            "--temperature",
        ),  # fmt: skip
        (
            ("interpolate", str(ok), str(long), "--checkpoint", music, "--out", str(out / "i.mid")),
            "'{i}' in --out",
        ),  # fmt: skip
        (
            (
                "interpolate",
                str(ok),
                str(ok),
                "--checkpoint",
                music,
                "--out",
                str(out / "i{i}.mid"),
                "--steps",
                "1",
            ),
            "--steps",
        ),  # fmt: skip
        (
            (
                "interpolate",
                str(ok),
                str(ok),
                "--checkpoint",
                music,
                "--out",
                str(out / "i{i}.mid"),
                "--concat",
                str(out / "i0.mid"),
            ),
            "--concat",
        ),  # fmt: skip
        (("text-sample", "--checkpoint", text, "--prefix", "\u00e9t\u00e9"), "unknown character"),
        (("text-sample", "--checkpoint", text, "--prefix", "a" * 40), "at most"),
    ]
    for args, needle in cases:
        code, stdout, err = run(*args)
        assert code in (1, 2), (args, err)
        assert err.count("\n") == 1 and "Traceback" not in err, (args, err)
        assert needle in err, (needle, err)
        assert not out.exists(), (args, sorted(out.rglob("*")))
