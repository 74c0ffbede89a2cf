"""Defect 8: a vault password file that is a script is run, as ansible-playbook runs it, by every verb."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import INVENTORIES
from tests.hostile.conftest import HOSTILE, assert_clean_failure, k2t_here

SCRIPTS = HOSTILE / "vault-script"


def test_inspect_runs_an_executable_password_file_like_ansible(tmp_path: Path) -> None:
    run = k2t_here("inspect", INVENTORIES / "vault-file", "--vault-password-file", SCRIPTS / "vault-pass.sh", "-o", "json")
    assert run.code == 0, run.err
    with_text = k2t_here("inspect", INVENTORIES / "vault-file", "--vault-password-file", INVENTORIES / "vault-file.pass",
                    "-o", "json")
    assert json.loads(run.out)["spec"] == json.loads(with_text.out)["spec"]


def test_a_failing_password_script_is_one_message(tmp_path: Path) -> None:
    run = k2t_here("inspect", INVENTORIES / "vault-file", "--vault-password-file", SCRIPTS / "vault-fails.sh")
    assert_clean_failure(run, "vault-fails.sh", "gave no password")
