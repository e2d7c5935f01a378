"""Every `moodtunes` command explains itself: each parameter has help text, and flags show no value type.

The commands are found by walking the click command tree Typer builds (``typer.main.get_command``; Typer ships
its own copy of click, so groups are recognised by their ``commands``)."""

from __future__ import annotations

import pytest
import typer.core
import typer.main
from typer.testing import CliRunner

from moodtunes.cli.main import app

runner = CliRunner()


def _commands(command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """The command and, for a group, every command below it, each with its path of names."""
    found = [(path, command)]
    if isinstance(command, typer.core.TyperGroup):
        for name, sub in command.commands.items():
            found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_the_walk_finds_every_command():
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"recommend", "evaluate", "chat", "run", "train emotion", "train ensemble", "train catalog",
            "catalog import", "catalog label", "catalog build", "db upgrade", "report feedback"} <= paths


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "moodtunes" for p, _ in COMMANDS])
def test_every_command_and_parameter_has_help(path, command):
    assert (command.help or "").strip(), f"{' '.join(path)} has no help"
    missing = [param.name for param in command.params if not (getattr(param, "help", None) or "").strip()]
    assert not missing, f"{' '.join(path) or 'moodtunes'}: no help for {missing}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "moodtunes" for p, _ in COMMANDS])
def test_help_output_shows_no_bool_metavar(path, command):
    result = runner.invoke(app, [*path, "--help"], prog_name="moodtunes", terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "Usage: moodtunes" in result.output
    assert "<bool>" not in result.output, result.output
    for param in command.params:  # each option is listed, with its help text
        if isinstance(param, typer.core.TyperOption) and not param.hidden:
            assert param.opts[0] in result.output
            assert param.help.split()[0] in result.output
