"""An inventory directory is read as `ansible-playbook -i DIR` reads it (issue 16 item 8), on real inventories."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from migrate.errors import UserError
from migrate.kubespray import load_cluster
from migrate.kubespray.ansible_runtime import ansible_loader
from migrate.kubespray.inventory_dir import directory_inventory
from tests.conftest import shared_path

HOSTS = """\
all:
  hosts:
    cp1: {ansible_host: 10.1.0.11, ip: 10.1.0.11}
  children:
    kube_control_plane: {hosts: {cp1: }}
    etcd: {hosts: {cp1: }}
    kube_node: {hosts: {cp1: }}
"""


def real_world(case: str) -> Path:
    return shared_path("kubespray", "real-world", case)


def expected(case: str) -> dict:
    return json.loads(shared_path("kubespray", "expected", f"{case}.json").read_text())


def test_wire_directory_loads_both_inventory_files_whatever_their_names():
    """wire's offline/ holds 99-static (INI, no extension) and staging.yml (YAML): Ansible loads both, in name order."""
    case = "wireapp__wire-server-deploy__offline"
    resolved = load_cluster(real_world(case))
    assert [p.name for p in resolved.sources] == ["99-static", "staging.yml"]
    assert not any("not loaded" in w for w in resolved.warnings)
    # the Kubernetes hosts and their ip are what Kubespray computed from 99-static; staging.yml adds none
    oracle = expected(case)
    for group in ("kube-node", "kube-master", "etcd"):
        ours = resolved.groups[{"kube-node": "kube_node", "kube-master": "kube_control_plane"}.get(group, group)]
        assert set(ours) == set(oracle["groups"][group])
    assert {h: resolved.hosts[h]["ip"] for h in oracle["hosts"]} == {h: v["ip"] for h, v in oracle["hosts"].items()}


def test_the_vault_password_script_named_in_ansible_cfg_is_not_an_inventory(tmp_path):
    """ilyasotkov: ansible.cfg names ansible_vault_pass (a script) as vault_password_file; ansible.cfg also
    ignores .ini. Only inventory.yml is read, and the password script is never called an inventory."""
    copy = tmp_path / "ansible"
    shutil.copytree(real_world("ilyasotkov__baremetal-k8s__ansible"), copy)
    script = copy / "ansible_vault_pass"
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IWUSR)
    (copy / "old.ini").write_text("[kube_node]\nghost ansible_host=10.9.9.9\n")  # ansible.cfg ignores .ini
    found = directory_inventory(copy, ansible_loader())
    assert [p.name for p in found.files] == ["inventory.yml"]
    assert found.skipped == ()
    resolved = load_cluster(copy)
    assert "ghost" not in resolved.hosts
    assert not any("ansible_vault_pass" in w or "not loaded" in w for w in resolved.warnings)


def test_files_ansible_cannot_parse_are_skipped_and_said_once(tmp_path):
    (tmp_path / "hosts.yaml").write_text(HOSTS)
    (tmp_path / "NOTES").write_text("remember to rotate the certificates before the upgrade, see the wiki\n")
    (tmp_path / "README.md").write_text("# ignored by extension, never mentioned\n")
    (tmp_path / "make-inventory").write_text("#!/bin/sh\necho '{}'\n")
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "kube-scheduler+merge.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "workers").write_text("[kube_node]\nw1 ansible_host=10.1.0.21 ip=10.1.0.21\n")
    resolved = load_cluster(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in resolved.sources] == ["extra/workers", "hosts.yaml"]
    assert resolved.spec.node("w1").ip == "10.1.0.21"  # sub-directories are inventories too, as for Ansible
    skipped = [w for w in resolved.warnings if "not loaded" in w]
    assert len(skipped) == 2
    assert any("NOTES" in w and "not an inventory" in w for w in skipped)
    assert any("make-inventory" in w and "script" in w for w in skipped)
    assert not any("README" in w or "patches" in w for w in resolved.warnings)


def test_a_generated_inventory_is_refused_at_its_line():
    """ctnr-io keeps TypeScript that generates the inventory (inventory.ini.ts): nothing Ansible can read."""
    with pytest.raises(UserError) as info:
        load_cluster(real_world("ctnr-io__ha-lean-cluster__root"))
    assert "inventory.ini.ts:1" in str(info.value)


def test_the_vault_password_file_given_is_never_parsed(tmp_path):
    (tmp_path / "hosts.yaml").write_text(HOSTS)
    password = tmp_path / "secret"
    password.write_text("not-an-inventory-line = yes = no\n")
    found = directory_inventory(tmp_path, ansible_loader(), password)
    assert [p.name for p in found.files] == ["hosts.yaml"] and found.skipped == ()
