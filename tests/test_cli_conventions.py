"""The `tac` CLI's conventions, over every command: POSIX usage lines, flags shown as flags,
`--json` wherever a command reports, shell completion."""

import json

import pytest
import typer.main
from typer.testing import CliRunner

from tac.cli import app
from tests.conftest import run_tac

REPORTING = [("weights",), ("sensitivity",), ("submission", "build"), ("submission", "check"), ("steer",),
             ("demo", "run"), ("eval",), ("score",), ("runs", "list"), ("runs", "show"), ("runs", "compare"),
             ("plot",), ("hosts", "check"), ("lossy", "eval")]  # fmt: skip


def commands(group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer vendors its own click: no isinstance)
            yield from commands(command, (*path, name))
        else:
            yield (*path, name)


ALL = sorted(commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path", ALL, ids=" ".join)
def test_every_help_has_a_posix_usage_line_and_flags_without_a_type(path):
    done = CliRunner().invoke(app, [*path, "--help"], terminal_width=120)
    assert done.exit_code == 0, done.output
    usage = next(line for line in done.output.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage, usage
    assert "<bool>" not in done.output
    if path in REPORTING:
        assert "--json" in done.output


def test_json_reports_parse_and_completion_is_offered():
    done = run_tac("sensitivity", "--seg", "0.01", "--pose", "0.3", "--bytes", "900000", "--json")
    data = json.loads(done.stdout)
    assert data["score"] == pytest.approx(sum(data["terms"].values()))
    assert data["terms"]["seg"] == pytest.approx(1.0) and data["sensitivity"]["per_seg"] == 100.0
    weights = json.loads(run_tac("weights", "--json").stdout)
    assert (
        weights["kind"] == "stand-in"
        and weights["loads"]
        and len(weights["segnet"]["sha256"]) == 64
    )
    assert "complete" in run_tac("--show-completion", "bash").stdout
    assert len(ALL) > 30 and set(REPORTING) <= set(ALL)  # the walk found the commands
