"""``lnfmusic.cli.common``: :class:`LnfGroup` turns an ``LnfError`` into one ``error:`` line
(exit 1, no traceback) and Ctrl-C into exit 130, in commands and nested groups; ``fail``;
the shared ``--device`` and ``--data-dir`` options."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import torch
from click.testing import CliRunner, Result

from lnfmusic.cli.common import LnfGroup, data_dir_option, device_option, fail
from lnfmusic.cli.main import cli
from lnfmusic.errors import LnfError


def build() -> click.Group:
    @click.group(cls=LnfGroup)
    def top() -> None:
        """A test group."""

    @top.command()
    @click.option("--path", default=None)
    def broken(path: str | None) -> None:
        click.echo("partial result")
        raise LnfError("the file is\nnot what\twas expected", path)

    @top.command()
    def ctrl_c() -> None:
        raise KeyboardInterrupt

    @top.command()
    def other() -> None:
        raise ValueError("a programming error")

    @top.command()
    def fine() -> None:
        click.echo("ok")

    @top.command()
    @click.argument("message")
    def failing(message: str) -> None:
        fail(message)

    @top.group()
    def plain() -> None:
        """A nested plain click group."""

    @plain.command("deep")
    def plain_deep() -> None:
        raise LnfError("deep in a plain group")

    @top.group(cls=LnfGroup)
    def nested() -> None:
        """A nested LnfGroup."""

    @nested.group(cls=LnfGroup)
    def inner() -> None:
        """Two levels down."""

    @inner.command("deep")
    def inner_deep() -> None:
        raise LnfError("two groups down", "some/file.pt")

    @inner.command("stop")
    def inner_stop() -> None:
        raise KeyboardInterrupt

    @top.command()
    @device_option
    def dev(device: str) -> None:
        click.echo(f"device={device}")

    @top.command()
    @data_dir_option
    def data(data_dir: Path | None) -> None:
        click.echo(f"{type(data_dir).__name__} {data_dir}")

    return top


def invoke(*args: str) -> Result:
    return CliRunner().invoke(build(), list(args))


def assert_one_error_line(result: Result, text: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr == f"error: {text}\n"
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_working_command_is_untouched() -> None:
    result = invoke("fine")
    assert result.exit_code == 0
    assert (result.stdout, result.stderr) == ("ok\n", "")


def test_lnf_error_becomes_one_stderr_line_and_exit_1() -> None:
    result = invoke("broken")
    assert_one_error_line(result, "the file is not what was expected")
    assert result.stdout == "partial result\n"  # what went to stdout before stays there


def test_lnf_error_path_is_in_the_line() -> None:
    result = invoke("broken", "--path", "data/x.pickle")
    assert_one_error_line(result, "data/x.pickle: the file is not what was expected")


def test_a_path_with_a_newline_still_gives_one_line() -> None:
    result = invoke("broken", "--path", "odd\nname")
    assert_one_error_line(result, "odd name: the file is not what was expected")


def test_lnf_error_in_a_nested_plain_group() -> None:
    assert_one_error_line(invoke("plain", "deep"), "deep in a plain group")


def test_lnf_error_in_nested_lnf_groups() -> None:
    assert_one_error_line(invoke("nested", "inner", "deep"), "some/file.pt: two groups down")


@pytest.mark.parametrize("args", [["ctrl-c"], ["nested", "inner", "stop"]])
def test_keyboard_interrupt_exits_130(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 130
    assert result.stderr == "interrupted\n"
    assert "Traceback" not in result.output


def test_other_exceptions_are_not_swallowed() -> None:
    result = invoke("other")
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)
    assert "error:" not in result.stderr


def test_fail_prints_one_line_and_exits_1() -> None:
    assert_one_error_line(invoke("failing", "  many\n  lines\n here "), "many lines here")


def test_fail_outside_click_raises_system_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        fail("a\nb")
    assert info.value.code == 1
    assert capsys.readouterr().err == "error: a b\n"


def test_device_option_resolves_cpu() -> None:
    result = invoke("dev", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert result.stdout == "device=cpu\n"


def test_device_option_auto_is_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert invoke("dev").stdout == "device=cpu\n"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert invoke("dev").stdout == "device=cuda\n"


def test_device_option_junk_is_a_one_line_error() -> None:
    result = invoke("dev", "--device", "gpu")
    assert_one_error_line(result, "device 'gpu': expected auto, cpu or cuda[:N]")
    assert result.stdout == ""


def test_device_option_cuda_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = invoke("dev", "--device", "cuda:0")
    assert_one_error_line(result, "device 'cuda:0': CUDA is not available on this machine")


def test_data_dir_option_gives_a_path(tmp_path: Path) -> None:
    result = invoke("data", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{type(tmp_path).__name__} {tmp_path}\n"
    assert invoke("data").stdout == "NoneType None\n"


def test_data_dir_option_may_not_exist_yet(tmp_path: Path) -> None:
    result = invoke("data", "--data-dir", str(tmp_path / "later"))
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("later\n")


def test_data_dir_option_rejects_a_file(tmp_path: Path) -> None:
    file = tmp_path / "f.txt"
    file.write_text("x")
    result = invoke("data", "--data-dir", str(file))
    assert result.exit_code == 2
    assert "is a file" in result.stderr


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["trian"], ("No such command 'trian'", "'lnf --help'")),
        (["--bogus"], ("No such option '--bogus'", "'lnf --help'")),
        (["train", "--bogus"], ("No such option '--bogus'", "'lnf train --help'")),
        (["sample", "--temperature", "nan"], ("'--temperature'", "'lnf sample --help'")),
        (
            ["evaluate", "--elbo-samples", "0", "x.pt"],
            ("'--elbo-samples'", "'lnf evaluate --help'"),
        ),
        (["data", "verify"], ("Missing argument 'NAME'", "'lnf data verify --help'")),
        (["synthetic", "--train-size", "0"], ("'--train-size'", "'lnf synthetic --help'")),
    ],
)
def test_usage_errors_are_one_line_naming_the_help_with_status_2(args, names) -> None:
    result = CliRunner().invoke(cli, args, prog_name="lnf")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert all(n in result.stderr for n in names), result.stderr
    assert result.stdout == "" and "Usage:" not in result.stderr
