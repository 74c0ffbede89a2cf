"""Running shipped playbooks through ansible-runner: progress, per-host stats, failures as UserError."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migrate.ansible import run_playbook
from migrate.errors import UserError
from playbook_fixtures.pki import generate as fake
from tests.conftest import INVENTORIES


@pytest.fixture
def demo_inventory(tmp_path: Path) -> Path:
    return Path(shutil.copytree(INVENTORIES / "demo", tmp_path / "inventory"))


@pytest.mark.slow
def test_a_failed_task_names_host_and_task_and_progress_is_streamed(demo_inventory: Path, tmp_path: Path):
    empty_node = tmp_path / "node"  # a host that is not a control plane: no /etc/kubernetes/ssl
    empty_node.mkdir()
    fake.local_node(demo_inventory, "cp1", empty_node)
    lines: list[str] = []
    with pytest.raises(UserError) as info:
        run_playbook(
            "fetch_pki.yml",
            demo_inventory / "hosts.yaml",
            extravars={"ks2t_out": str(tmp_path / "out")},
            progress=lines.append,
        )
    assert info.value.where == "cp1"
    assert "task 'Check that this node holds the Kubernetes CA' failed" in info.value.message
    assert "no ca.crt in /etc/kubernetes/ssl or /etc/kubernetes/pki on cp1" in info.value.message
    assert any(line.startswith("play: Fetch the Kubernetes CAs") for line in lines)
    assert "  task: Find the Kubernetes certificate directory" in lines
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_an_unreachable_host_is_reported_with_its_stats(demo_inventory: Path, tmp_path: Path):
    # nothing listens on port 1: ssh fails at once, Ansible calls the host unreachable
    fake.local_node(demo_inventory, "cp1", tmp_path, ansible_connection="ssh", ansible_host="127.0.0.1", ansible_port=1)
    result = run_playbook(
        "fetch_pki.yml",
        demo_inventory / "hosts.yaml",
        extravars={"ks2t_out": str(tmp_path / "out")},
        progress=lambda _: None,
        check=False,
    )
    assert not result.ok and result.rc != 0
    assert result.failures[0].host == "cp1" and result.failures[0].unreachable
    assert result.stats["cp1"].unreachable == 1 and result.stats["cp1"].ok == 0


def test_refuses_before_running_anything(tmp_path: Path):
    with pytest.raises(UserError, match="no playbook named 'nope.yml'"):
        run_playbook("nope.yml", INVENTORIES / "demo" / "hosts.yaml")
    with pytest.raises(UserError, match="vault password file not found"):
        run_playbook("fetch_pki.yml", INVENTORIES / "demo" / "hosts.yaml", vault_password_file=tmp_path / "missing")
