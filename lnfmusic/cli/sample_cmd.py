"""``lnf sample`` (fresh or primed MIDI), ``lnf variations``, ``lnf interpolate`` and
``lnf text-sample``.

Every output gets a JSON sidecar (``song.mid`` -> ``song.mid.json``) that holds what
regenerates it exactly (checkpoint sha256, seed, length, every setting, a command line).
Without ``--seed`` a fresh seed is drawn and printed.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lnfmusic.cli.common import device_option, stderr
from lnfmusic.cli.options import FiniteFloatRange, Int64Range, spec_option
from lnfmusic.config import MAX_TEMPERATURE, SampleConfig
from lnfmusic.errors import LnfError
from lnfmusic.io.atomic import check_file_name
from lnfmusic.io.midi import MAX_BPM, MIN_BPM

if TYPE_CHECKING:
    import numpy as np

    from lnfmusic.checkpoint import ModelBundle

CHECKPOINT_HELP = (
    "Checkpoint file, or the name of a shipped model (e.g. default)  [default: the shipped "
    "models/default.pt]"
)
TRANSPOSE_HELP = (
    "Semitones to move the input by before the model sees it (the output is moved back), or "
    "auto: its estimated key to C major/minor when the model's data was all in C (JSB, "
    "Nottingham, Piano-midi, MuseData), else 0."
)


def _sample_option(name: str, help: str | None = None):
    """A flag for a :class:`SampleConfig` field, with its type, range and default."""
    return spec_option(SampleConfig, name, help=help)


def _checkpoint_option(help: str = CHECKPOINT_HELP):
    return click.option("--checkpoint", type=str, default=None, help=help)


def _load(checkpoint: str | None, device: str, kind: str) -> ModelBundle:
    from lnfmusic.checkpoint import load_model
    from lnfmusic.sample import require_kind, resolve_checkpoint

    bundle = load_model(resolve_checkpoint(checkpoint, kind), device)
    require_kind(bundle, kind)
    return bundle


def _checkpoint_file(checkpoint: str | None, kind: str) -> Path | None:
    """The file ``checkpoint`` stands for (None: the shipped default; a shipped model's
    name), for the check that no output overwrites it; what does not resolve is left to
    :func:`_load` to report."""
    from lnfmusic.sample import resolve_checkpoint

    try:
        return resolve_checkpoint(checkpoint, kind)
    except LnfError:
        return None


def output_paths(
    out: str, num: int, option: str = "--out", example: str = "song_{i}.mid"
) -> list[Path]:
    """``out`` for one sample; ``out`` with ``{i}`` replaced by 0..num-1 for several
    (``option`` names the flag in the error)."""
    if "{i}" not in out:
        if num > 1:
            raise LnfError(f"--num {num} needs '{{i}}' in {option} (e.g. {example})", out)
        paths = [Path(out)]
    else:
        paths = [Path(out.replace("{i}", str(i))) for i in range(num)]
    for path in paths:
        check_file_name(path, option)
    return paths


def midi_summary(path: Path) -> tuple[int, float]:
    """Number of notes and duration in seconds of a written MIDI file."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    return sum(len(inst.notes) for inst in pm.instruments), float(pm.get_end_time())


def sidecar_path(path: Path) -> Path:
    """Where the JSON sidecar of an output goes: ``song.mid`` -> ``song.mid.json``."""
    return path.with_name(path.name + ".json")


def _check_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise LnfError("--roll-png needs matplotlib: pip install 'lnfmusic[plot]'") from None


def _parse_transpose(ctx: click.Context, param: click.Parameter, value: str) -> int | str:
    if value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither auto nor a whole number") from None
    if not -48 <= n <= 48:
        raise click.BadParameter(f"{n} is outside -48..48 semitones")
    return n


def _transpose_option(func):
    return click.option(
        "--transpose",
        default="auto",
        show_default=True,
        callback=_parse_transpose,
        help=TRANSPOSE_HELP,
    )(func)


def _render_options(func):
    """Tempo, instrument, articulation, piano-roll PNG, WAV and soundfont flags."""
    opts = [
        click.option(
            "--bpm",
            type=FiniteFloatRange(min=MIN_BPM, min_open=True, max=MAX_BPM),
            default=120.0,
            show_default=True,
            help="Tempo in beats per minute.",
        ),
        click.option(
            "--program",
            type=click.IntRange(0, 127),
            default=0,
            show_default=True,
            help="General MIDI program (0 = acoustic grand piano).",
        ),
        click.option(
            "--articulation",
            type=click.Choice(["hold", "restrike"]),
            default="hold",
            show_default=True,
            help="hold: consecutive active steps merge into one note; restrike: one note per step.",
        ),
        click.option(
            "--roll-png",
            type=str,
            default=None,
            help="Also draw the piano roll to this PNG ({i} for several; needs matplotlib).",
        ),
        click.option(
            "--wav",
            type=str,
            default=None,
            help="Also render audio to this WAV ({i} for several; needs FluidSynth and a "
            "General MIDI soundfont).",
        ),
        click.option(
            "--soundfont",
            type=str,
            default=None,
            help="Soundfont for --wav  [default: $LNF_SOUNDFONT, else the usual places, e.g. "
            "/usr/share/sounds/sf2/FluidR3_GM.sf2].",
        ),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


@dataclass
class Render:
    """How pieces become files: MIDI settings and the optional PNG / WAV outputs."""

    bpm: float
    program: int
    articulation: str
    roll_png: str | None
    wav: str | None
    soundfont: str | None

    def settings(self) -> dict[str, Any]:
        return {"bpm": self.bpm, "program": self.program, "articulation": self.articulation}

    def flags(self) -> list[str]:
        return ["--bpm", repr(self.bpm), "--program", str(self.program)] + [
            "--articulation",
            self.articulation,
        ]


@dataclass
class Outputs:
    """Every file one call writes, checked before any work is done."""

    midi: list[Path]
    png: list[Path] | None
    wav: list[Path] | None
    soundfont: Path | None

    @classmethod
    def prepare(
        cls, out: str, num: int, render: Render, inputs: tuple[str | Path | None, ...] = ()
    ) -> Outputs:
        """Checked: one file per output, writable, none of them an input (``inputs``: the
        checkpoint, pieces) of the call."""
        from lnfmusic.io.atomic import check_not_inputs, check_writable

        midi = output_paths(out, num)
        png = None
        if render.roll_png is not None:
            png = output_paths(render.roll_png, num, "--roll-png", "roll_{i}.png")
        wav = None if render.wav is None else output_paths(render.wav, num, "--wav", "song_{i}.wav")
        if render.soundfont is not None and wav is None:
            raise LnfError("--soundfont is only used with --wav")
        every = midi + [sidecar_path(p) for p in midi] + (png or []) + (wav or [])
        if len(set(map(str, every))) < len(every):
            raise LnfError("two outputs of this call would go to the same file")
        for path in every:
            check_writable(path)
        check_not_inputs(every, inputs)
        if png is not None:
            _check_matplotlib()
        soundfont = None
        if wav is not None:
            from lnfmusic.io.audio import find_fluidsynth, find_soundfont

            find_fluidsynth()
            soundfont = find_soundfont(render.soundfont)
        return cls(midi, png, wav, soundfont)


def _announce_seed(config: SampleConfig, given: int | None) -> None:
    if given is None:
        stderr.print(f"seed {config.seed} (drawn fresh; pass --seed {config.seed} to redo this)")


def _write_pieces(
    bundle: ModelBundle,
    rolls: list[np.ndarray],
    outputs: Outputs,
    render: Render,
    shift: int,
    record: Callable[[int, np.ndarray], dict[str, Any]],
) -> None:
    """Write each roll (moved back by ``-shift``) as MIDI, its sidecar (``record(i, roll)``:
    the settings that regenerate it), and the optional PNG and WAV; one line per piece."""
    from lnfmusic.data.keys import transpose
    from lnfmusic.io.atomic import write_text_atomic
    from lnfmusic.io.midi import write_midi
    from lnfmusic.sample import manifest

    meta = bundle.dataset.meta
    steps_per_beat = int(meta.get("steps_per_beat", 2) or 2)
    pitch_offset = int(meta.get("pitch_offset", 21))
    for i, (roll, path) in enumerate(zip(rolls, outputs.midi, strict=True)):
        settings = record(i, roll)
        moved = transpose(roll, -shift, drop=True) if shift else roll
        dropped = int(roll.sum()) - int(moved.sum())
        write_midi(  # atomic
            moved,
            path,
            steps_per_beat=steps_per_beat,
            bpm=render.bpm,
            program=render.program,
            articulation=render.articulation,
            pitch_offset=pitch_offset,
        )
        files = {"midi": str(path)}
        notes, seconds = midi_summary(path)
        seed = settings["seed"]
        line = f"wrote {path}: {len(roll)} steps, {notes} notes, {seconds:.1f} s, seed {seed}"
        if dropped:
            line += f" ({dropped} note-steps moved off the keyboard by --transpose were dropped)"
        if outputs.png is not None:
            from lnfmusic.io.plot import save_roll_png

            save_roll_png(
                moved,
                outputs.png[i],
                pitch_offset=pitch_offset,
                steps_per_beat=steps_per_beat,
                title=f"{path.name} (seed {settings['seed']})",
            )
            files["png"] = str(outputs.png[i])
            line += f"; roll {outputs.png[i]}"
        if outputs.wav is not None:
            from lnfmusic.io.audio import render_wav

            assert outputs.soundfont is not None
            render_wav(path, outputs.wav[i], outputs.soundfont)
            files["wav"] = str(outputs.wav[i])
            line += f"; audio {outputs.wav[i]}"
        record_ = manifest(bundle, **settings, **render.settings())
        record_["files"] = files
        if outputs.wav is not None:
            record_["soundfont"] = str(outputs.soundfont)
        write_text_atomic(sidecar_path(path), json.dumps(record_, indent=1) + "\n")
        click.echo(line)


def _command(*words: Any) -> str:
    return shlex.join(["lnf", *map(str, words)])


def _threshold_flags(config: SampleConfig) -> list[str]:
    return [] if config.threshold is None else ["--threshold", repr(config.threshold)]


@click.command()
@_checkpoint_option()
@click.option(
    "--out", required=True, help="MIDI file to write; use {i} for several samples (song_{i}.mid)."
)
@_sample_option("num")
@_sample_option(
    "length",
    "Length T in time steps (with --primer: the whole piece)  [default: drawn from the "
    "training pieces' lengths (longer than the primer)]",
)
@_sample_option("temperature")
@_sample_option("threshold", "Play a note when p > THRESHOLD instead of sampling it.")
@_render_options
@_sample_option("seed", "Sample i uses seed SEED + i  [default: a fresh seed, printed].")
@click.option(
    "--primer",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Continue this MIDI file: the output starts with its notes unchanged.",
)
@click.option(
    "--primer-steps",
    type=Int64Range(min=1),
    default=None,
    help="Use only the first K steps of the primer  [default: all of it].",
)
@_transpose_option
@device_option
def sample(
    checkpoint: str | None,
    out: str,
    num: int,
    length: int | None,
    temperature: float,
    threshold: float | None,
    bpm: float,
    program: int,
    articulation: str,
    roll_png: str | None,
    wav: str | None,
    soundfont: str | None,
    seed: int | None,
    primer: Path | None,
    primer_steps: int | None,
    transpose: int | str,
    device: str,
) -> None:
    """Generate music from a checkpoint and write MIDI (and a JSON sidecar per file).

    With --primer, continue a piece: its latents are inferred by the encoder and the
    following ones drawn from the prior given them (LNF), or the LSTM reads it and goes on.
    """
    from lnfmusic.sample import continue_sequence, read_piece, sample_music, with_seed

    if primer is None and primer_steps is not None:
        raise LnfError("--primer-steps needs --primer")
    config = with_seed(SampleConfig(num, length, temperature, threshold, seed))
    render = Render(bpm, program, articulation, roll_png, wav, soundfont)
    outputs = Outputs.prepare(out, num, render, (_checkpoint_file(checkpoint, "music"), primer))
    bundle = _load(checkpoint, device, "music")
    shift, prefix = 0, None
    if primer is not None:
        prefix, shift = read_piece(bundle, primer, transpose, primer_steps)
        if shift:
            stderr.print(f"primer moved by {shift:+d} semitones into the model's key (C)")
    with stderr.status(f"sampling {num} piece(s) from {bundle.path} on {device}"):
        if prefix is None:
            rolls = sample_music(bundle, config)
        else:
            rolls = continue_sequence(bundle, prefix, config, "music")

    def record(i: int, roll: np.ndarray) -> dict[str, Any]:
        s = config.seed + i
        words = ["sample", "--checkpoint", bundle.path, "--seed", s, "--length", len(roll)]
        words += ["--temperature", repr(temperature), *_threshold_flags(config), *render.flags()]
        extra: dict[str, Any] = {}
        if primer is not None:
            extra = {"primer": primer, "primer_steps": len(prefix), "transpose": shift}
            words += ["--primer", primer, "--primer-steps", len(prefix), "--transpose", shift]
        return {
            "command": "sample",
            "seed": s,
            "length": len(roll),
            "temperature": temperature,
            "threshold": threshold,
            **extra,
            "reproduce": _command(*words, "--out", outputs.midi[i]),
        }

    _write_pieces(bundle, rolls, outputs, render, shift, record)
    _announce_seed(config, seed)  # after the writes: a failed one is the only line


@click.command()
@click.argument("piece", type=click.Path(path_type=Path, dir_okay=False))
@_checkpoint_option()
@click.option(
    "--out", required=True, help="MIDI files to write; use {i} for several (var_{i}.mid)."
)
@_sample_option("num", "Number of variations.")
@click.option(
    "--temperature",
    type=FiniteFloatRange(min=0, max=MAX_TEMPERATURE),
    default=1.0,
    show_default=True,
    help="Spread of the posterior draw (0: its mean, 1: q(z|x) itself; larger: further).",
)
@_sample_option("threshold", "Play a note when p > THRESHOLD instead of sampling it.")
@_render_options
@_sample_option("seed", "Variation i uses seed SEED + i  [default: a fresh seed, printed].")
@_transpose_option
@device_option
def variations(
    piece: Path,
    checkpoint: str | None,
    out: str,
    num: int,
    temperature: float,
    threshold: float | None,
    bpm: float,
    program: int,
    articulation: str,
    roll_png: str | None,
    wav: str | None,
    soundfont: str | None,
    seed: int | None,
    transpose: int | str,
    device: str,
) -> None:
    """Variations of a MIDI PIECE that keep its length and shape: its latents are drawn
    from the encoder's posterior q(z|x) (spread scaled by --temperature) and decoded."""
    from lnfmusic.sample import read_piece
    from lnfmusic.sample import variations as make_variations

    config = with_seed_any(num, None, temperature, threshold, seed)
    render = Render(bpm, program, articulation, roll_png, wav, soundfont)
    outputs = Outputs.prepare(out, num, render, (_checkpoint_file(checkpoint, "music"), piece))
    bundle = _load(checkpoint, device, "music")
    roll, shift = read_piece(bundle, piece, transpose)
    with stderr.status(f"drawing {num} variation(s) of {piece} on {device}"):
        rolls = make_variations(bundle, roll, config)

    def record(i: int, r: np.ndarray) -> dict[str, Any]:
        s = config.seed + i
        words = ["variations", piece, "--checkpoint", bundle.path, "--seed", s]
        words += ["--temperature", repr(temperature), *_threshold_flags(config), *render.flags()]
        words += ["--transpose", shift]
        return {
            "command": "variations",
            "piece": piece,
            "transpose": shift,
            "seed": s,
            "length": len(r),
            "temperature": temperature,
            "threshold": threshold,
            "reproduce": _command(*words, "--out", outputs.midi[i]),
        }

    _write_pieces(bundle, rolls, outputs, render, shift, record)
    _announce_seed(config, seed)  # after the writes: a failed one is the only line


def with_seed_any(
    num: int, length: int | None, temperature: float, threshold: float | None, seed: int | None
) -> SampleConfig:
    """A validated :class:`SampleConfig` with a seed, where a temperature of 0 is allowed
    (the posterior mean): validated with temperature 1, then set."""
    from dataclasses import replace

    from lnfmusic.sample import with_seed

    return replace(
        with_seed(SampleConfig(num, length, 1.0, threshold, seed)), temperature=temperature
    )


@click.command()
@click.argument("first", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("second", type=click.Path(path_type=Path, dir_okay=False))
@_checkpoint_option()
@click.option("--out", required=True, help="MIDI files to write, with {i} (interp_{i}.mid).")
@click.option(
    "--steps",
    type=click.IntRange(min=2, max=1000),
    default=5,
    show_default=True,
    help="Pieces from FIRST (0) to SECOND (steps - 1), both ends included.",
)
@click.option(
    "--length",
    type=Int64Range(min=1),
    default=None,
    help="Crop both pieces to this many steps  [default: the shorter one's length].",
)
@_sample_option("threshold", "Play a note when p > THRESHOLD instead of sampling it.")
@_render_options
@_sample_option("seed", "Piece i draws its notes with seed SEED + i  [default: fresh, printed].")
@click.option(
    "--concat",
    type=str,
    default=None,
    help="Also write all pieces one after another into this one MIDI file.",
)
@_transpose_option
@device_option
def interpolate(
    first: Path,
    second: Path,
    checkpoint: str | None,
    out: str,
    steps: int,
    length: int | None,
    threshold: float | None,
    bpm: float,
    program: int,
    articulation: str,
    roll_png: str | None,
    wav: str | None,
    soundfont: str | None,
    seed: int | None,
    concat: str | None,
    transpose: int | str,
    device: str,
) -> None:
    """Interpolate between two MIDI pieces in the prior's base space: both are cropped to
    a common length, encoded, mapped to the flow's base noise, joined by a spherical path
    and decoded, one piece per point."""
    import numpy as np

    from lnfmusic.io.atomic import check_not_inputs, check_writable
    from lnfmusic.io.midi import write_midi
    from lnfmusic.sample import interpolate as make_path
    from lnfmusic.sample import read_piece

    if "{i}" not in out:
        raise LnfError(f"--steps {steps} pieces need '{{i}}' in --out (e.g. interp_{{i}}.mid)", out)
    config = with_seed_any(steps, length, 1.0, threshold, seed)
    render = Render(bpm, program, articulation, roll_png, wav, soundfont)
    inputs = (_checkpoint_file(checkpoint, "music"), first, second)
    outputs = Outputs.prepare(out, steps, render, inputs)
    if concat is not None:
        if str(Path(concat)) in {str(p) for p in outputs.midi}:
            raise LnfError("--concat must differ from every --out file", concat)
        check_writable(concat)
        check_not_inputs([concat], inputs)
    bundle = _load(checkpoint, device, "music")
    a, shift_a = read_piece(bundle, first, transpose)
    b, shift_b = read_piece(bundle, second, transpose)
    with stderr.status(f"interpolating {first} -> {second} in {steps} pieces on {device}"):
        rolls = make_path(bundle, a, b, steps, config)
    # both pieces were moved into the model's key; the path is written in the first one's
    shift = shift_a

    def record(i: int, r: np.ndarray) -> dict[str, Any]:
        words = ["interpolate", first, second, "--checkpoint", bundle.path, "--steps", steps]
        words += ["--length", len(r), "--seed", config.seed, *_threshold_flags(config)]
        words += [*render.flags(), "--transpose", "auto" if transpose == "auto" else transpose]
        return {
            "command": "interpolate",
            "first": first,
            "second": second,
            "transpose": [shift_a, shift_b],
            "t": i / (steps - 1),
            "seed": config.seed + i,
            "length": len(r),
            "threshold": threshold,
            "reproduce": _command(*words, "--out", out),
        }

    _write_pieces(bundle, rolls, outputs, render, shift, record)
    if concat is not None:
        from lnfmusic.data.keys import transpose as move

        joined = np.concatenate([move(r, -shift, drop=True) for r in rolls])
        meta = bundle.dataset.meta
        write_midi(
            joined,
            concat,
            steps_per_beat=int(meta.get("steps_per_beat", 2) or 2),
            bpm=bpm,
            program=program,
            articulation=articulation,
            pitch_offset=int(meta.get("pitch_offset", 21)),
        )
        click.echo(f"wrote {concat}: all {steps} pieces, {len(joined)} steps")
    _announce_seed(config, seed)  # after the writes: a failed one is the only line


@click.command("text-sample")
@_checkpoint_option(
    "Text checkpoint file, or the name of a shipped model  [default: the shipped "
    "models/default-text.pt]"
)
@_sample_option("num", "Number of samples (one per line).")
@_sample_option(
    "length",
    "Length in characters, with --prefix the whole line  [default: drawn from the training "
    "lines' lengths]",
)
@_sample_option("temperature")
@_sample_option("seed", "Sample i uses seed SEED + i  [default: a fresh seed, printed].")
@click.option(
    "--prefix",
    type=str,
    default=None,
    help="Continue this text (models causal in time: LNF and the LSTM baseline).",
)
@click.option(
    "--out",
    default="-",
    show_default=True,
    help="File to write (with a JSON sidecar FILE.json), or - for stdout.",
)
@device_option
def text_sample(
    checkpoint: str | None,
    num: int,
    length: int | None,
    temperature: float,
    seed: int | None,
    prefix: str | None,
    out: str,
    device: str,
) -> None:
    """Generate text from a checkpoint (one sample per line)."""
    from lnfmusic.io.atomic import check_not_inputs, check_writable, write_text_atomic
    from lnfmusic.sample import (
        continue_sequence,
        decode_text,
        encode_prefix,
        manifest,
        sample_text,
        with_seed,
    )

    config = with_seed(SampleConfig(num, length, temperature, None, seed))
    if out != "-":
        check_file_name(Path(out), "--out")
        for path in (Path(out), sidecar_path(Path(out))):
            check_writable(path)
        check_not_inputs([out, sidecar_path(Path(out))], [_checkpoint_file(checkpoint, "text")])
    bundle = _load(checkpoint, device, "text")
    with stderr.status(f"sampling {num} line(s) from {bundle.path} on {device}"):
        if prefix is None:
            texts = sample_text(bundle, config)
        else:
            ids = continue_sequence(bundle, encode_prefix(bundle, prefix), config, "text")
            texts = [decode_text(s, bundle.dataset.meta) for s in ids]
    body = "".join(t.replace("\n", " ") + "\n" for t in texts)
    if out == "-":
        _announce_seed(config, seed)
        sys.stdout.write(body)
        sys.stdout.flush()
        return
    write_text_atomic(out, body)
    samples = []
    for i, t in enumerate(texts):
        words = ["text-sample", "--checkpoint", bundle.path, "--seed", config.seed + i]
        words += ["--length", len(t), "--temperature", repr(temperature)]
        if prefix is not None:
            words += ["--prefix", prefix]
        samples.append({"seed": config.seed + i, "length": len(t), "reproduce": _command(*words)})
    record = manifest(
        bundle,
        command="text-sample",
        seed=config.seed,
        num=num,
        temperature=temperature,
        prefix=prefix,
        samples=samples,
    )
    write_text_atomic(sidecar_path(Path(out)), json.dumps(record, indent=1) + "\n")
    _announce_seed(config, seed)
    stderr.print(
        f"wrote {num} sample(s) to {out} (seeds {config.seed}..{config.seed + num - 1}); "
        f"settings in {sidecar_path(Path(out))}"
    )
