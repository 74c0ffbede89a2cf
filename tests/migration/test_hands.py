"""Hooks of a real run: a command with the host in its environment, a playbook through ansible-runner with the
inventory and the same values as extra vars, a Kubespray checkout's reset.yml with its own Ansible; a failing hook
stops the step by name."""

from __future__ import annotations

import json
import shutil
import stat
import sys
from pathlib import Path

import pytest

from migrate.errors import UserError
from migrate.migration.hands import HookHands
from migrate.migration.plan_file import Hook, HostMove
from playbook_fixtures.pki import generate as fake
from tests.conftest import INVENTORIES


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
    assert HookHands().start_decommission(move).outcome()["by_hand"] is True  # nothing to start: known at once


def test_a_started_hook_runs_beside_the_caller_and_hands_over_its_failure(tmp_path):
    gate = tmp_path / "go"
    code = (f"import os, sys, time\nwhile not os.path.exists({str(gate)!r}): time.sleep(0.05)\n"
            "print('disk busy', file=sys.stderr); sys.exit(3)")
    running = HookHands().start_decommission(_move(tmp_path, code))
    running.wait(0.2)
    assert running.outcome() is None  # still running: the caller was not held up
    gate.write_text("")
    with pytest.raises(UserError, match="exit code 3: disk busy"):  # raised in the caller's thread, when it asks
        for _ in range(600):
            running.wait(0.1)
            running.outcome()


# --- playbook hooks, through ansible-runner with ansible_connection=local ---------------------------------------


SEEN = """- hosts: "{{ KS2T_HOST }}"
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        content: "{{ {'host': KS2T_HOST, 'replacement': KS2T_REPLACEMENT_ADDRESS, 'size': size,
                      'limit': ansible_limit | default(''), 'config': lookup('env', 'ANSIBLE_CONFIG'),
                      'skip_confirmation': skip_confirmation | default(None), 'node': node | default(None)} | to_json }}"
"""


def _inventory(tmp_path: Path) -> Path:
    """The demo inventory with w1 run locally; every other host is unreachable, so a play that strays fails."""
    inventory = shutil.copytree(INVENTORIES / "demo", tmp_path / "inventory")
    fake.local_node(inventory, "w1", tmp_path)
    return inventory / "hosts.yaml"


@pytest.mark.slow
def test_a_playbook_hook_runs_with_the_inventory_and_the_hosts_values_as_extra_vars(tmp_path):
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "boot.yml").write_text(SEEN)
    hook = Hook(playbook="hooks/boot.yml", extravars={"out": str(tmp_path), "size": "m5.large"})
    move = HostMove("w1", "worker", "10.0.10.21", 3, "w1-talos", "10.0.9.21", provision=hook)
    evidence = HookHands(plan_dir=tmp_path, inventory=_inventory(tmp_path)).provision(move)
    seen = json.loads((tmp_path / "w1.json").read_text())
    assert seen["host"] == "w1" and seen["replacement"] == "10.0.9.21" and seen["size"] == "m5.large"
    assert evidence["stats"]["w1"]["changed"] == 1 and evidence["playbook"].endswith("hooks/boot.yml")


@pytest.mark.slow
def test_kubesprays_reset_runs_limited_to_the_host_with_that_checkouts_ansible_and_config(tmp_path):
    checkout = tmp_path / "kubespray"
    (checkout / "venv" / "bin").mkdir(parents=True)
    (checkout / "reset.yml").write_text(SEEN.replace('"{{ KS2T_HOST }}"', "etcd:k8s_cluster:calico_rr"))
    (checkout / "ansible.cfg").write_text("[defaults]\nhost_key_checking = False\n")
    used = tmp_path / "used"
    wrapper = checkout / "venv" / "bin" / "ansible-playbook"  # stands in for the checkout's venv (its ansible-core)
    wrapper.write_text(f"#!/bin/sh\necho \"$@\" >> {used}\nexec {Path(sys.executable).parent / 'ansible-playbook'} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    hook = Hook(kubespray="reset.yml", directory="kubespray", ansible_playbook="kubespray/venv/bin/ansible-playbook",
                extravars={"out": str(tmp_path), "size": "-"})
    move = HostMove("w1", "worker", "10.0.10.21", 3, "w1-talos", decommission=hook)
    evidence = HookHands(plan_dir=tmp_path, inventory=_inventory(tmp_path)).decommission(move)
    seen = json.loads((tmp_path / "w1.json").read_text())
    assert seen["limit"] == "w1" and seen["skip_confirmation"] is True  # reset.yml targets the whole cluster
    assert seen["config"] == str((checkout / "ansible.cfg").resolve()) and "--limit w1" in used.read_text()
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["w1.json"] and evidence["limit"] == "w1"


def test_a_playbook_hook_without_an_inventory_or_a_missing_playbook_is_refused_by_name(tmp_path):
    move = HostMove("w1", "worker", None, 3, "w1-talos", decommission=Hook(playbook="nope.yml"))
    with pytest.raises(UserError, match="needs the inventory"):
        HookHands(plan_dir=tmp_path).decommission(move)
    with pytest.raises(UserError) as missing:
        HookHands(plan_dir=tmp_path, inventory=tmp_path / "hosts.yaml").decommission(move)
    assert "playbook not found" in missing.value.message and missing.value.where.endswith("nope.yml")
    kubespray = HostMove("w1", "worker", None, 3, "w1-talos", decommission=Hook(kubespray="reset.yml", directory="ks"))
    with pytest.raises(UserError, match="no reset.yml in the Kubespray checkout"):
        HookHands(plan_dir=tmp_path, inventory=tmp_path / "hosts.yaml").decommission(kubespray)
    assert HookHands(plan_dir=tmp_path).decommission(HostMove("w1", "worker", None, 3, "w1-talos",
                                                              decommission=Hook(manual=True)))["by_hand"] is True
