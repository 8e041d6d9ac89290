"""Bad input through the CLI, as a hostile new user would give it (issue 15): every case
must exit non-zero with exactly one line on stderr (``error: ...``) that names the option or
file, never a traceback, and must leave every file it could touch as it was.

One table per failure class of the issue; each row is ``(id, command line, words the
message must hold)``. ``{root}`` and the other braces are filled in from the fixture.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import mido
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from lnfmusic.checkpoint import export_checkpoint, load_checkpoint, save_checkpoint
from lnfmusic.cli.main import cli
from lnfmusic.config import preset
from lnfmusic.data.dataset import load_dataset
from lnfmusic.io.midi import write_midi
from lnfmusic.train.loop import fit
from tests.helpers import train_tiny, write_jsb_like

# line lengths of the text data: train and valid use these, the test lines 17 (never seen)
TEXT_LENGTHS = (5, 10, 20)
TEST_LENGTH = 17


def _line(n: int, i: int) -> str:
    return "".join("abc "[(i + k) % 4] for k in range(n)).strip().ljust(n, "a")


def write_text(path: Path) -> Path:
    """40 lines over the characters 'abc ': lines 18, 38 go to valid, 19, 39 to test
    (``split_of_lines``); the test lines have a length no train or valid line has."""
    lines = [_line(TEST_LENGTH if i % 20 == 19 else TEXT_LENGTHS[i % 3], i) for i in range(40)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data, a tiny text run (a complete run directory), a tiny music checkpoint, a MIDI
    piece, a TOML file per bad value, and damaged checkpoints."""
    root = tmp_path_factory.mktemp("adversarial")
    torch.manual_seed(0)
    text = write_text(root / "lines.txt")
    data = load_dataset(f"text:{text}")
    config = preset("tiny", "text", "lstm")
    config.train.epochs = 1
    fit(config, data, root / "run", progress=False)  # all of the data: --resume accepts it
    jsb = write_jsb_like(root / "jsb")
    train_tiny("jsb", "lstm", root / "music", jsb)
    roll = np.zeros((8, 88), np.uint8)
    roll[:, [39, 43, 46]] = 1
    write_midi(roll, root / "piece.mid")
    (root / "out").mkdir()
    (root / "folder.txt").mkdir()
    (root / "not_a_checkpoint.pt").write_text("hello")
    (root / "long.txt").write_text("ab" * 6000 + "\n" + "ab\n" * 30)
    new_chars = root / "new_chars.txt"
    new_chars.write_text(text.read_text() + "xyz\n")
    export_checkpoint(root / "run" / "last.pt", root / "export.pt")
    ckpt = load_checkpoint(root / "run" / "last.pt")
    save_checkpoint(root / "no_model.pt", {k: v for k, v in ckpt.items() if k != "model"})
    nan = {**ckpt, "model": {k: v.clone() for k, v in ckpt["model"].items()}}
    next(v for v in nan["model"].values() if v.is_floating_point()).fill_(float("nan"))
    save_checkpoint(root / "nan.pt", nan)
    big = {**ckpt, "model": {k: v.clone() for k, v in ckpt["model"].items()}}
    next(v for v in big["model"].values() if v.is_floating_point()).mul_(0).add_(1e6)
    save_checkpoint(root / "big.pt", big)
    mid = mido.MidiFile(type=2)
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=64)]))
    (root / "midi2").mkdir()
    for i in range(3):
        mid.save(str(root / "midi2" / f"t{i}.mid"))
    (root / "empty_midi").mkdir()
    for name, table in TOML.items():
        (root / f"{name}.toml").write_text(table + "\n")
    return root


TOML = {
    "lr_nan": "[train]\nlr = nan",
    "lr_inf": "[train]\nlr = inf",
    "batch_zero": "[train]\nbatch_size = 0",
    "hidden_huge": "[model]\nhidden_size = 1e300",
    "hidden_int_huge": f"[model]\nhidden_size = {2**64}",
    "dropout_neg": "[model]\ndropout = -0.5",
    "decay_neg": "[train]\nweight_decay = -1",
    "seed_huge": f"[train]\nseed = {2**70}",
    "kl_nan": "[train]\nkl_zero_epochs = nan",
    "lr_int_huge": f"[train]\nlr = {10**400}",
}

TRAIN = ["train", "--dataset", "text:{root}/lines.txt", "--model", "lstm", "--preset", "tiny"]
TRAIN_INTO = [*TRAIN, "--run-dir", "{root}/out/new", "--device", "cpu", "--no-progress"]
SAMPLE = ["sample", "--checkpoint", "{root}/music/last.pt", "--out", "{root}/out/s_{{i}}.mid"]
TEXT = ["text-sample", "--checkpoint", "{root}/run/last.pt", "--device", "cpu"]
EVAL = ["evaluate", "{root}/run/last.pt", "--device", "cpu", "--no-progress"]
PIECE = "{root}/piece.mid"
VARY = ["variations", PIECE, "--checkpoint", "{root}/music/last.pt", "--out", "{root}/out/v.mid"]
INTERP = ["interpolate", PIECE, PIECE, "--checkpoint", "{root}/music/last.pt"]
INTERP = [*INTERP, "--out", "{root}/out/i_{{i}}.mid"]
BIG = str(2**64)

CASES: list[tuple[str, list[str], list[str]]] = [
    # class 1: values without range or finiteness, in flags, TOML files and --set
    ("lr-nan", [*TRAIN_INTO, "--lr", "nan"], ["--lr", "nan"]),
    ("lr-inf", [*TRAIN_INTO, "--lr", "inf"], ["--lr"]),
    ("lr-huge", [*TRAIN_INTO, "--lr", "1e300"], ["--lr"]),
    ("lr-negative", [*TRAIN_INTO, "--lr", "-1"], ["--lr"]),
    ("batch-zero", [*TRAIN_INTO, "--batch-size", "0"], ["--batch-size"]),
    ("hidden-64-bit", [*TRAIN_INTO, "--hidden-size", BIG], ["--hidden-size", "64 bits"]),
    ("hidden-huge", [*TRAIN_INTO, "--hidden-size", "100000"], ["--hidden-size"]),
    ("epochs-huge", [*TRAIN_INTO, "--epochs", "99999999999"], ["--epochs"]),
    ("dropout-one", [*TRAIN_INTO, "--dropout", "1"], ["--dropout"]),
    ("kl-nan", [*TRAIN_INTO, "--kl-zero-epochs", "nan"], ["--kl-zero-epochs"]),
    ("seed-negative", [*TRAIN_INTO, "--seed", "-1"], ["--seed"]),
    ("seed-64-bit", [*TRAIN_INTO, "--seed", BIG], ["--seed"]),
    ("threads-64-bit", [*TRAIN_INTO, "--threads", BIG], ["--threads"]),
    *[
        (f"toml-{name}", [*TRAIN_INTO, "--config", f"{{root}}/{name}.toml"], [f"{name}.toml"])
        for name in TOML
    ],
    ("set-lr-inf", [*TRAIN_INTO, "--set", "train.lr=inf"], ["train.lr=inf", "lr"]),
    ("set-lr-nan", [*TRAIN_INTO, "--set", "train.lr=nan"], ["lr"]),
    ("set-hidden-64", [*TRAIN_INTO, "--set", f"model.hidden_size={BIG}"], ["hidden_size"]),
    ("set-batch-float", [*TRAIN_INTO, "--set", "train.batch_size=1e300"], ["batch_size"]),
    ("set-no-equals", [*TRAIN_INTO, "--set", "train.lr"], ["train.lr", "KEY=VALUE"]),
    ("set-unknown", [*TRAIN_INTO, "--set", "train.nope=1"], ["nope"]),
    ("sample-temp-nan", [*SAMPLE, "--temperature", "nan"], ["--temperature"]),
    ("sample-temp-huge", [*SAMPLE, "--temperature", "1e300"], ["--temperature"]),
    ("sample-temp-zero", [*SAMPLE, "--temperature", "0"], ["--temperature"]),
    ("sample-num-zero", [*SAMPLE, "--num", "0"], ["--num"]),
    ("sample-num-huge", [*SAMPLE, "--num", BIG], ["--num"]),
    ("sample-seed-64", [*SAMPLE, "--seed", BIG], ["--seed"]),
    ("sample-seed-plus-num", [*SAMPLE, "--seed", str(2**63 - 1), "--num", "2"], ["seed"]),
    ("sample-length-neg", [*SAMPLE, "--length", "-1"], ["--length"]),
    ("sample-threshold", [*SAMPLE, "--threshold", "1.5"], ["--threshold"]),
    ("sample-bpm-nan", [*SAMPLE, "--bpm", "nan"], ["--bpm"]),
    ("sample-bpm-inf", [*SAMPLE, "--bpm", "inf"], ["--bpm"]),
    ("sample-bpm-tiny", [*SAMPLE, "--bpm", "5e-324"], ["bpm"]),
    ("sample-bpm-huge", [*SAMPLE, "--bpm", "1e300"], ["bpm"]),
    ("sample-program", [*SAMPLE, "--program", "128"], ["--program"]),
    ("sample-transpose", [*SAMPLE, "--transpose", "1e300"], ["--transpose"]),
    ("text-temp-neg-inf", [*TEXT, "--temperature", "-inf"], ["--temperature"]),
    ("text-num-zero", [*TEXT, "--num", "0"], ["--num"]),
    ("eval-samples-zero", [*EVAL, "--samples", "0"], ["--samples"]),
    ("eval-samples-huge", [*EVAL, "--samples", "1e300"], ["--samples"]),
    ("eval-samples-64", [*EVAL, "--samples", BIG], ["--samples"]),
    ("eval-elbo-zero", [*EVAL, "--elbo-samples", "0"], ["--elbo-samples"]),
    ("eval-batch-nan", [*EVAL, "--batch-size", "nan"], ["--batch-size"]),
    ("eval-seed-neg", [*EVAL, "--seed", "-1"], ["--seed"]),
    ("vary-temp-inf", [*VARY, "--temperature", "inf"], ["--temperature"]),
    ("vary-temp-huge", [*VARY, "--temperature", "1e300"], ["--temperature"]),
    ("interp-steps-one", [*INTERP, "--steps", "1"], ["--steps"]),
    ("interp-steps-64", [*INTERP, "--steps", BIG], ["--steps"]),
    ("interp-length-64", [*INTERP, "--length", BIG], ["--length"]),
    # class 2: files that exist but cannot be read, folders where files belong
    ("text-missing", [*TRAIN_INTO[:2], "text:{root}/nope.txt", *TRAIN_INTO[3:]], ["nope.txt"]),
    ("text-folder", [*TRAIN_INTO[:2], "text:{root}/folder.txt", *TRAIN_INTO[3:]], ["folder"]),
    ("text-device", [*TRAIN_INTO[:2], "text:/dev/zero", *TRAIN_INTO[3:]], ["/dev/zero"]),
    ("config-device", [*TRAIN_INTO, "--config", "/dev/zero"], ["/dev/zero", "regular"]),
    ("config-missing", [*TRAIN_INTO, "--config", "{root}/nope.toml"], ["nope.toml"]),
    ("config-folder", [*TRAIN_INTO, "--config", "{root}/folder.txt"], ["folder.txt"]),
    ("eval-not-ckpt", ["evaluate", "{root}/not_a_checkpoint.pt"], ["not_a_checkpoint.pt", "zip"]),
    ("sample-ckpt-missing", [*SAMPLE[:2], "{root}/nope.pt", *SAMPLE[3:]], ["nope.pt"]),
    ("export-into-folder", ["export", "{root}/run/last.pt", "{root}/out"], ["out"]),
    # outputs that are inputs of the same call: writing them would destroy them
    ("export-onto-itself", ["export", "{root}/run/last.pt", "{root}/run/last.pt"], ["input"]),
    ("sample-onto-ckpt", [*SAMPLE[:4], "{root}/music/last.pt"], ["last.pt", "input"]),
    ("text-onto-ckpt", [*TEXT, "--out", "{root}/run/last.pt"], ["last.pt", "input"]),
    ("vary-onto-piece", [*VARY[:5], PIECE], ["piece.mid", "input"]),
    ("eval-json-onto-ckpt", [*EVAL, "--json", "{root}/run/last.pt"], ["last.pt", "input"]),
    ("interp-concat-piece", [*INTERP, "--concat", PIECE], ["piece.mid", "input"]),
    # output names that cannot be files
    ("sample-out-empty", [*SAMPLE[:4], ""], ["--out", "file name"]),
    ("sample-out-folder", [*SAMPLE[:4], "{root}/out/"], ["--out", "file name"]),
    ("sample-out-dot", [*SAMPLE[:4], "."], ["--out", "file name"]),
    ("text-out-root", [*TEXT, "--out", "/"], ["--out", "file name"]),
    ("sample-name-too-long", [*SAMPLE[:4], "{root}/out/" + "x" * 300], ["too long"]),
    ("eval-name-too-long", ["evaluate", "{root}/" + "x" * 300 + ".pt"], ["too long"]),
    # class 4: a checkpoint with non-finite weights
    ("eval-nan", ["evaluate", "{root}/nan.pt", "--no-progress"], ["nan.pt", "non-finite"]),
    ("text-nan", [*TEXT[:2], "{root}/nan.pt", *TEXT[3:]], ["nan.pt", "non-finite"]),
    ("export-nan", ["export", "{root}/nan.pt", "{root}/out/e.pt"], ["nan.pt", "non-finite"]),
    ("export-half-big", ["export", "{root}/big.pt", "{root}/out/e.pt", "--half"], ["float16"]),
    # class 5: runs and run directories
    ("fresh-over-run", [*TRAIN_INTO[:-5], "--run-dir", "{root}/run"], ["run", "--overwrite"]),
    ("resume-and-overwrite", [*TRAIN_INTO, "--resume", "--overwrite"], ["--resume"]),
    ("resume-nothing", [*TRAIN_INTO, "--resume"], ["last.pt"]),
    (
        "resume-other-data",
        [
            *TRAIN_INTO[:2],
            "text:{root}/new_chars.txt",
            *TRAIN_INTO[3:-5],
            "--run-dir",
            "{root}/run",
            "--resume",
        ],
        ["last.pt", "resume"],
    ),
    # class 6: checkpoint against data, partial checkpoints
    (
        "eval-new-chars",
        [*EVAL[:1], "{root}/run/last.pt"],  # the file is edited in the test (see below)
        ["lines.txt", "vocabulary", "xyz"],
    ),
    ("eval-no-model", ["evaluate", "{root}/no_model.pt"], ["no_model.pt", "lacks model"]),
    ("sample-no-model", [*TEXT[:2], "{root}/no_model.pt"], ["no_model.pt", "lacks model"]),
    ("export-no-model", ["export", "{root}/no_model.pt", "{root}/out/e.pt"], ["lacks model"]),
    # class 8: work that never ends
    ("one-huge-line", [*TRAIN_INTO[:2], "text:{root}/long.txt", *TRAIN_INTO[3:]], ["10000"]),
    ("text-length-huge", [*TEXT, "--length", "100000"], ["100000"]),
    ("sample-length-huge", [*SAMPLE, "--length", "100000"], ["100000"]),
    # class 9: MIDI folders
    ("midi-type-2", [*TRAIN_INTO[:2], "midi:{root}/midi2", *TRAIN_INTO[3:]], ["type-2"]),
    ("midi-none", [*TRAIN_INTO[:2], "midi:{root}/empty_midi", *TRAIN_INTO[3:]], ["empty_midi"]),
    # class 10/11: messages that name the right thing, usage errors
    ("roll-png-no-i", [*SAMPLE, "--num", "2", "--roll-png", "{root}/out/r.png"], ["--roll-png"]),
    ("unknown-option", [*TRAIN_INTO, "--learning-rate", "1"], ["--learning-rate"]),
    ("unknown-command", ["trian"], ["trian"]),
    ("model-flag-wrong-family", [*TRAIN_INTO, "--flow-layers", "2"], ["--flow-layers"]),
]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time, and every folder (a
    temporary file created and removed again changes a folder's time, not its content)."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else ()
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("case,args,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_naming_it_and_changes_nothing(
    root: Path, case: str, args: list[str], words: list[str], tmp_path: Path
) -> None:
    args = [a.format(root=root) for a in args]
    words = [w.format(root=root) for w in words]
    text = root / "lines.txt"
    if case == "eval-new-chars":  # the data file gained characters since training
        shutil.copy(text, tmp_path / "lines.txt")
        shutil.copy(root / "new_chars.txt", text)
    before = snapshot(root)
    try:
        result = CliRunner().invoke(cli, args, env={"LNF_DATA_DIR": str(root / "nodata")})
    finally:
        if case == "eval-new-chars":
            shutil.copy(tmp_path / "lines.txt", text)
    err = result.stderr
    assert result.exit_code not in (0, None), (case, result.output)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"{case}: {result.exception!r}"
    assert "Traceback" not in result.output
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (case, err)
    assert all(w in lines[0] for w in words), (case, lines[0], words)
    after = snapshot(root)
    if case == "eval-new-chars":
        before.pop("lines.txt"), after.pop("lines.txt")
    assert after == before, case


def test_a_full_disk_during_export_is_one_line_and_writes_nothing(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*args, **kwargs):
        raise RuntimeError(f"[enforce fail at inline_container.cc] . {errno.ENOSPC}")

    monkeypatch.setattr(torch, "save", full_disk)
    before = snapshot(root)
    result = CliRunner().invoke(cli, ["export", str(root / "run/last.pt"), str(root / "out/e.pt")])
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
    assert "e.pt" in result.stderr and "Traceback" not in result.output
    assert snapshot(root) == before


def test_resuming_from_a_sampling_only_export_names_what_it_lacks(root: Path, tmp_path: Path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(root / "export.pt", run / "last.pt")
    before = snapshot(run)
    args = [a.format(root=root) for a in TRAIN_INTO[:-5]]
    result = CliRunner().invoke(cli, [*args, "--run-dir", str(run), "--resume"])
    assert result.exit_code == 1, result.output
    assert len(result.stderr.splitlines()) == 1
    assert "lacks optimizer" in result.stderr and "export" in result.stderr
    assert snapshot(run) == before


def test_overwrite_replaces_an_earlier_run_and_resume_still_continues(root, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    args = [a.format(root=root) for a in TRAIN_INTO[:-5]]
    base = [*args, "--run-dir", str(run), "--device", "cpu", "--no-progress", "--epochs", "2"]
    resumed = CliRunner().invoke(cli, [*base, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert (run / "metrics.jsonl").read_text().count("\n") == 2
    fresh = CliRunner().invoke(cli, [*base, "--epochs", "1", "--overwrite"])
    assert fresh.exit_code == 0, fresh.output
    assert "overwriting the earlier run" in fresh.stderr
    assert (run / "metrics.jsonl").read_text().count("\n") == 1


def test_a_test_length_never_seen_in_training_gives_a_finite_likelihood(root: Path) -> None:
    """Class 7: the test lines are 17 characters, no train or valid line is."""
    result = CliRunner().invoke(
        cli, ["evaluate", str(root / "run/last.pt"), "--device", "cpu", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "inf" not in result.stdout and "nan" not in result.stdout.lower()
    assert "note:" not in result.stderr
    assert "p(T) > 0 for T in 1..25" in " ".join(result.stdout.split())  # stated


def test_a_checkpoint_from_before_smoothing_keeps_its_numbers_and_counts_zero_p_t(
    root: Path, tmp_path: Path
) -> None:
    """A text checkpoint written before issue 15 stores a plain histogram without its rule:
    it keeps it (the test lines' length 17, never seen, has p(T) = 0 although it is inside
    1..20), and the note counts those lines without calling them longer than the support."""
    ckpt = load_checkpoint(root / "run/last.pt")
    counts = np.bincount(np.asarray(TEXT_LENGTHS) - 1, minlength=max(TEXT_LENGTHS))
    ckpt["dataset"]["length_prior"] = {
        "probs": (counts / counts.sum()).tolist(),
        "counts": counts.tolist(),
    }
    torch.save(ckpt, tmp_path / "old.pt")
    result = CliRunner().invoke(
        cli, ["evaluate", str(tmp_path / "old.pt"), "--device", "cpu", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "inf" in result.stdout and "histogram over 1..20" in " ".join(result.stdout.split())
    note = " ".join(result.stderr.split())
    assert "note: 2 of the 2 test sequences" in note and "probability 0" in note, note
    assert "longer" not in note


@pytest.mark.parametrize(
    "edit,words",
    [
        (lambda c: c["dataset"]["length_prior"].update(probs=[0.0] * 3), ["cannot continue"]),
        (lambda c: c.pop("optimizer"), ["lacks optimizer"]),
        (lambda c: c["config"].pop("train"), ["cannot continue", "train"]),
        (lambda c: c.update(model={"nope": torch.zeros(1)}), ["cannot continue"]),
        (lambda c: c.update(rng=[1, 2]), ["cannot continue"]),
    ],
)
def test_resuming_an_edited_checkpoint_names_what_is_wrong(root: Path, tmp_path: Path, edit, words):
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    ckpt = load_checkpoint(run / "last.pt")
    edit(ckpt)
    save_checkpoint(run / "last.pt", ckpt)
    before = snapshot(run)
    args = [a.format(root=root) for a in TRAIN_INTO[:-5]]
    result = CliRunner().invoke(cli, [*args, "--run-dir", str(run), "--resume", "--no-progress"])
    assert result.exit_code == 1, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert all(w in result.stderr for w in words), result.stderr
    assert snapshot(run) == before


def test_a_full_disk_while_writing_samples_is_one_line_and_leaves_nothing(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save = mido.MidiFile.save

    def full_disk(self, filename=None, file=None):  # in-memory writes (pretty_midi's) work
        if filename is not None:
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(self, file=file)

    monkeypatch.setattr(mido.MidiFile, "save", full_disk)
    before = snapshot(root)
    args = [a.format(root=root) for a in SAMPLE]  # no --seed: a fresh one is drawn
    result = CliRunner().invoke(cli, [*args, "--num", "2", "--device", "cpu"])
    assert result.exit_code == 1, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "No space left on device" in result.stderr and "s_0.mid" in result.stderr
    assert snapshot(root) == before


def test_a_full_disk_while_writing_the_evaluation_json_is_one_line(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_text = Path.write_text

    def full_disk(self, *args, **kwargs):
        if self.name.endswith(".tmp"):  # the atomic writes' temporary files
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    before = snapshot(root)
    args = [a.format(root=root) for a in EVAL]
    result = CliRunner().invoke(cli, [*args, "--json", str(root / "out" / "r.json")])
    assert result.exit_code == 1, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "No space left on device" in result.stderr and "r.json" in result.stderr
    assert snapshot(root) == before


@pytest.mark.parametrize(
    "args",
    [
        ["sample", "--out", "{models}/default.pt"],
        ["sample", "--checkpoint", "default", "--out", "{models}/default.pt"],
        ["variations", PIECE, "--out", "{models}/default.pt"],
        ["interpolate", PIECE, PIECE, "--out", "{root}/out/j_{{i}}.mid"]
        + ["--concat", "{models}/default.pt"],
        ["text-sample", "--out", "{models}/default-text.pt"],
        ["text-sample", "--checkpoint", "default-text", "--out", "{models}/default-text.pt"],
    ],
    ids=["sample", "sample-named", "variations", "interpolate-concat", "text", "text-named"],
)
def test_an_output_onto_the_default_or_a_named_shipped_model_is_refused(
    root: Path, tmp_path: Path, args: list[str]
) -> None:
    """The checkpoint read is the shipped default (no --checkpoint) or one named by its stem:
    the outputs are checked against that file, not against the option's text."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(root / "music" / "last.pt", models / "default.pt")
    shutil.copy(root / "run" / "last.pt", models / "default-text.pt")
    before = snapshot(tmp_path)
    args = [a.format(root=root, models=models) for a in args] + ["--device", "cpu"]
    result = CliRunner().invoke(cli, args, env={"LNF_MODEL_DIR": str(models)})
    assert result.exit_code == 1, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "input of this command" in result.stderr and "default" in result.stderr
    assert snapshot(tmp_path) == before
