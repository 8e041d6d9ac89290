"""``lnfmusic.cli.main``: ``lnf --version``, the command list in ``lnf --help``, ``-h`` on
every command and subcommand, and the ``lnf`` program name of :func:`main`."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

import lnfmusic
from lnfmusic.cli.common import LnfGroup
from lnfmusic.cli.main import cli, main

COMMANDS = [
    "data",
    "train",
    "evaluate",
    "sample",
    "text-sample",
    "variations",
    "interpolate",
    "export",
    "synthetic",
]


def walk(cmd: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from walk(sub, (*path, name))


ALL_PATHS = list(walk(cli))


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"lnf, version {lnfmusic.__version__}\n"


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = result.stdout.split("Commands:", 1)[1].split()
    for name in COMMANDS:
        assert name in listed, f"{name} missing from `lnf --help`"


def test_the_group_has_exactly_these_commands() -> None:
    assert isinstance(cli, LnfGroup)
    assert sorted(cli.commands) == sorted(COMMANDS)


def test_command_tree_is_walked() -> None:
    assert ("data",) in ALL_PATHS and ("data", "list") in ALL_PATHS
    assert len(ALL_PATHS) > len(COMMANDS) + 1


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: " ".join(p) or "lnf")
@pytest.mark.parametrize("option", ["-h", "--help"])
def test_help_on_every_command(path: tuple[str, ...], option: str) -> None:
    result = CliRunner().invoke(cli, [*path, option])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    assert " ".join(path) in result.stdout.splitlines()[0]
    assert "Options:" in result.stdout
    assert result.stderr == ""


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["trian"])
    assert result.exit_code == 2
    assert "No such command 'trian'" in result.stderr


def test_main_uses_the_lnf_program_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["whatever", "export", "-h"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("Usage: lnf export [OPTIONS] CHECKPOINT OUT")
