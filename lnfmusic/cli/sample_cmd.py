"""``lnf sample`` (MIDI) and ``lnf text-sample``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lnfmusic.cli.common import device_option, stderr
from lnfmusic.cli.options import FiniteFloatRange, spec_option
from lnfmusic.config import SampleConfig
from lnfmusic.errors import LnfError

if TYPE_CHECKING:
    from lnfmusic.checkpoint import ModelBundle

CHECKPOINT_HELP = "Checkpoint to sample from  [default: the shipped models/default.pt]"


def _sample_option(name: str, help: str | None = None):
    """A flag for a :class:`SampleConfig` field, with its type, range and default."""
    return spec_option(SampleConfig, name, help=help)


def _load(checkpoint: Path | None, device: str, kind: str) -> ModelBundle:
    from lnfmusic.checkpoint import load_model
    from lnfmusic.sample import default_checkpoint_path, require_kind

    bundle = load_model(
        checkpoint if checkpoint is not None else default_checkpoint_path(kind), device
    )
    require_kind(bundle, kind)
    return bundle


def output_paths(
    out: str, num: int, option: str = "--out", example: str = "song_{i}.mid"
) -> list[Path]:
    """``out`` for one sample; ``out`` with ``{i}`` replaced by 0..num-1 for several
    (``option`` names the flag in the error)."""
    if "{i}" not in out:
        if num > 1:
            raise LnfError(f"--num {num} needs '{{i}}' in {option} (e.g. {example})", out)
        return [Path(out)]
    return [Path(out.replace("{i}", str(i))) for i in range(num)]


def midi_summary(path: Path) -> tuple[int, float]:
    """Number of notes and duration in seconds of a written MIDI file."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    return sum(len(inst.notes) for inst in pm.instruments), float(pm.get_end_time())


def _warn_length(bundle: ModelBundle, length: int | None) -> None:
    """A note on stderr when ``--length`` is beyond every length the model's p(T) allows."""
    if length is None:
        return
    longest = bundle.dataset.length_prior.max_length
    limit = bundle.model.max_generate_length
    if length > longest and (limit is None or length <= limit):  # else generating refuses
        stderr.print(
            f"note: --length {length} is beyond the longest length of the model's p(T) "
            f"({longest}); positions past it reuse the last position embedding"
        )


def _check_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise LnfError("--roll-png needs matplotlib: pip install 'lnfmusic[plot]'") from None


@click.command()
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=CHECKPOINT_HELP,
)
@click.option(
    "--out", required=True, help="MIDI file to write; use {i} for several samples (song_{i}.mid)."
)
@_sample_option("num")
@_sample_option("length", "Length T in time steps  [default: drawn from the model's p(T)]")
@_sample_option("temperature")
@_sample_option("threshold", "Play a note when p > THRESHOLD instead of sampling it.")
@click.option(
    "--bpm",
    type=FiniteFloatRange(min=0, min_open=True),
    default=120.0,
    help="Tempo in beats per minute.",
)
@click.option(
    "--program",
    type=click.IntRange(0, 127),
    default=0,
    help="General MIDI program (0 = acoustic grand piano).",
)
@click.option(
    "--articulation",
    type=click.Choice(["hold", "restrike"]),
    default="hold",
    help="hold: consecutive active steps merge into one note; restrike: one note per step.",
)
@_sample_option("seed", "Sample i uses seed SEED + i.")
@click.option(
    "--roll-png",
    type=str,
    default=None,
    help="Also draw the piano roll to this PNG ({i} for several; needs matplotlib).",
)
@device_option
def sample(
    checkpoint: Path | None,
    out: str,
    num: int,
    length: int | None,
    temperature: float,
    threshold: float | None,
    bpm: float,
    program: int,
    articulation: str,
    seed: int,
    roll_png: str | None,
    device: str,
) -> None:
    """Generate music from a checkpoint and write MIDI."""
    from lnfmusic.io.atomic import check_writable
    from lnfmusic.io.midi import write_midi
    from lnfmusic.sample import sample_music

    config = SampleConfig(num, length, temperature, threshold, seed)
    config.validate()
    paths = output_paths(out, num)
    pngs = None if roll_png is None else output_paths(roll_png, num, "--roll-png", "roll_{i}.png")
    for path in paths + (pngs or []):
        check_writable(path)
    if pngs is not None:
        _check_matplotlib()
    bundle = _load(checkpoint, device, "music")
    _warn_length(bundle, length)
    with stderr.status(f"sampling {num} piece(s) from {bundle.path} on {device}"):
        rolls = sample_music(bundle, config)
    meta = bundle.dataset.meta
    steps_per_beat = int(meta.get("steps_per_beat", 2) or 2)
    pitch_offset = int(meta.get("pitch_offset", 21))
    for i, (roll, path) in enumerate(zip(rolls, paths, strict=True)):
        write_midi(  # atomic
            roll,
            path,
            steps_per_beat=steps_per_beat,
            bpm=bpm,
            program=program,
            articulation=articulation,
            pitch_offset=pitch_offset,
        )
        notes, seconds = midi_summary(path)
        line = f"wrote {path}: {len(roll)} steps, {notes} notes, {seconds:.1f} s, seed {seed + i}"
        if pngs is not None:
            from lnfmusic.io.plot import save_roll_png

            save_roll_png(
                roll,
                pngs[i],
                pitch_offset=pitch_offset,
                steps_per_beat=steps_per_beat,
                title=f"{path.name} (seed {seed + i})",
            )
            line += f"; roll {pngs[i]}"
        click.echo(line)


@click.command("text-sample")
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Text checkpoint to sample from.",
)
@_sample_option("num", "Number of samples (one per line).")
@_sample_option("length", "Length in characters  [default: drawn from the model's p(T)]")
@_sample_option("temperature")
@_sample_option("seed", "Sample i uses seed SEED + i.")
@click.option("--out", default="-", help="File to write, or - for stdout.")
@device_option
def text_sample(
    checkpoint: Path | None,
    num: int,
    length: int | None,
    temperature: float,
    seed: int,
    out: str,
    device: str,
) -> None:
    """Generate text from a checkpoint (one sample per line)."""
    from lnfmusic.io.atomic import check_writable, write_text_atomic
    from lnfmusic.sample import sample_text

    config = SampleConfig(num, length, temperature, None, seed)
    config.validate()
    if out != "-":
        check_writable(out)
    bundle = _load(checkpoint, device, "text")
    _warn_length(bundle, length)
    with stderr.status(f"sampling {num} line(s) from {bundle.path} on {device}"):
        texts = sample_text(bundle, config)
    body = "".join(t.replace("\n", " ") + "\n" for t in texts)
    if out == "-":
        sys.stdout.write(body)
        sys.stdout.flush()
    else:
        write_text_atomic(out, body)
        stderr.print(f"wrote {num} sample(s) to {out} (seeds {seed}..{seed + num - 1})")
