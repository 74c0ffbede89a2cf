"""Hooks of a real run: a command with the host in its environment; a failing hook stops the step by name."""

from __future__ import annotations

import sys

import pytest

from migrate.errors import UserError
from migrate.migration.hands import HookHands
from migrate.migration.plan_file import Hook, HostMove


def _move(tmp_path, code: str) -> HostMove:
    hook = Hook(command=(sys.executable, "-c", code))
    return HostMove("w1", "worker", "10.0.0.21", 3, "w1-talos", "10.0.9.21", provision=hook, decommission=hook)


def test_a_hook_sees_the_host_and_its_replacement(tmp_path):
    out = tmp_path / "seen"
    code = f"import os; open({str(out)!r}, 'w').write(os.environ['KS2T_HOST'] + ' ' + os.environ['KS2T_REPLACEMENT_ADDRESS'])"
    evidence = HookHands().provision(_move(tmp_path, code))
    assert out.read_text() == "w1 10.0.9.21" and evidence["exit_code"] == 0


def test_a_failing_hook_names_the_host_and_its_last_line(tmp_path):
    with pytest.raises(UserError) as caught:
        HookHands().decommission(_move(tmp_path, "import sys; print('disk busy', file=sys.stderr); sys.exit(3)"))
    assert "exit code 3: disk busy" in str(caught.value) and "w1" in str(caught.value)


def test_without_a_decommission_hook_the_host_is_left_for_a_person():
    move = HostMove("w1", "worker", None, 3, "w1-talos")
    assert HookHands().decommission(move)["by_hand"] is True
