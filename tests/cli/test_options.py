"""One option spelling across verbs: -o/--output is the format, --out the file or directory; old spellings
work for one release with a warning on stderr, and --help says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest

from migrate.cli import cli
from migrate.cli.plan import plan
from migrate.cli.report import report
from migrate.cli.snapshot import snapshot
from tests.conftest import INVENTORIES


def verbs() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    found = []
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        subs = command.commands.values() if isinstance(command, click.Group) else [command]
        found += [(f"{name} {sub.name}" if sub is not command else name, sub) for sub in subs]
    return found


@pytest.mark.parametrize("name, command", verbs(), ids=lambda v: v if isinstance(v, str) else "")
def test_o_is_the_format_and_out_the_destination_in_every_verb(name, command):
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        if "-o" in param.opts:
            assert "--output" in param.opts and isinstance(param.type, click.Choice), name
        if "--out" in param.opts:
            assert param.opts == ["--out"], f"{name}: --out takes no short spelling ({param.opts})"


@pytest.mark.parametrize("command, old, new, warned", [
    (plan, ["inv", "-O", "plan/"], ["inv", "--out", "plan/"], ["-O"]),
    (plan, ["inv", "-Oplan/", "-o", "json"], ["inv", "--out", "plan/", "-o", "json"], ["-O"]),
    (report, ["p/", "--format=html", "-o", "r.html"], ["p/", "--output", "html", "--out", "r.html"], ["--format", "-o"]),
    (report, ["p/", "-f", "csv", "-o", "json"], ["p/", "--output", "csv", "-o", "json"], ["-f"]),
    (snapshot, ["-o", "prod.json"], ["--out", "prod.json"], ["-o"]),
    (snapshot, ["-o", "json", "--out", "x.json"], ["-o", "json", "--out", "x.json"], []),
    (plan, ["inv", "--", "-O"], ["inv", "--", "-O"], []),
])
def test_old_spellings_become_the_new_ones(command, old, new, warned, capsys):
    assert command.modern(old) == new
    said = [line.split()[1] for line in capsys.readouterr().err.splitlines() if "deprecated" in line]
    assert said == warned


def k2t(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrate", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "100"})


def test_plan_with_the_old_O_still_writes_and_warns_once(tmp_path):
    result = k2t("plan", str(INVENTORIES / "demo"), "-O", str(tmp_path / "plan"), "-o", "json")
    assert result.returncode in (0, 1) and json.loads(result.stdout)["out"] == str(tmp_path / "plan")
    assert result.stderr.count("-O is deprecated") == 1 and f"use --out {tmp_path / 'plan'}" in result.stderr


@pytest.mark.parametrize("verb, spelling", [("plan", "-O (now --out)"), ("snapshot", "-o with a file name (now --out)"),
                                            ("report", "--format (now --output)")])
def test_help_names_the_deprecated_spellings(verb, spelling):
    result = k2t(verb, "--help")
    assert result.returncode == 0 and spelling in " ".join(result.stdout.split())
