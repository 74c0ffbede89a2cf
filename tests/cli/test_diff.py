"""`kubespray2talos diff` driven as a user would: real inventories, real plans, the twin for --live."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from migrate.cli import cli
from tests.conftest import INVENTORIES, shared_path


def run(*args: str):
    result = CliRunner().invoke(cli, ["diff", *map(str, args)], catch_exceptions=False)
    return result


def run_json(*args: str) -> tuple[int, dict]:
    result = run(*args, "--output", "json")
    return result.exit_code, json.loads(result.stdout)


def copy_of_demo(tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(INVENTORIES / "demo", target)
    return target


def _edit(inventory: Path, old: str, new: str) -> None:
    path = inventory / "group_vars" / "k8s_cluster" / "k8s-cluster.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_same_inventory_twice_is_equal_exit_0():
    code, data = run_json(INVENTORIES / "demo", INVENTORIES / "demo")
    assert code == 0 and data["equal"] is True and data["changes"] == []


def test_one_group_vars_edit_shows_exactly_that_change(tmp_path):
    edited = copy_of_demo(tmp_path)
    _edit(edited, "kube_pods_subnet: 10.233.64.0/18", "kube_pods_subnet: 10.233.128.0/18")
    code, data = run_json(INVENTORIES / "demo", edited)
    assert code == 1
    (change,) = data["changes"]
    assert change["path"] == "network.pod_subnets"
    assert (change["before"], change["after"]) == (["10.233.64.0/18"], ["10.233.128.0/18"])
    assert (change["area"], change["severity"]) == ("network", "breaking")


def test_fail_on_breaking_ignores_risky_changes(tmp_path):
    edited = copy_of_demo(tmp_path)
    _edit(edited, "kube_proxy_mode: ipvs", "kube_proxy_mode: iptables")
    assert run(INVENTORIES / "demo", edited, "--fail-on", "breaking").exit_code == 0
    assert run(INVENTORIES / "demo", edited, "--fail-on", "risky").exit_code == 1


def test_markdown_output_is_a_review_comment(tmp_path):
    edited = copy_of_demo(tmp_path)
    _edit(edited, "kube_service_addresses: 10.233.0.0/18", "kube_service_addresses: 10.96.0.0/18")
    result = run(INVENTORIES / "demo", edited, "--output", "markdown")
    assert result.exit_code == 1
    md = result.stdout
    assert md.startswith("### kubespray2talos diff")
    assert "#### network" in md and "| breaking | `network.service_subnets` |" in md
    assert "ClusterIPs the new API server does not own" in md


def test_trouble_is_exit_2_with_one_message(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {
        "neither a plan": (empty, INVENTORIES / "demo"),
        "no such file": (tmp_path / "nope", INVENTORIES / "demo"),
        "needs two things": (INVENTORIES / "demo",),
    }
    for message, args in cases.items():
        proc = subprocess.run(
            [sys.executable, "-m", "migrate", "diff", *map(str, args)], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr
        assert proc.stdout == ""


def test_plan_dir_against_itself_from_talos_gen_config(tmp_path):
    gen = shared_path("talos", "gen-config-reference", "v1.13")
    plan = tmp_path / "plan"
    plan.mkdir()
    shutil.copy(gen / "base-controlplane.yaml", plan / "controlplane.yaml")
    shutil.copy(gen / "base-worker.yaml", plan / "worker.yaml")
    assert run(plan, plan).exit_code == 0
    other = tmp_path / "other"
    shutil.copytree(plan, other)
    shutil.copy(gen / "overrides-controlplane.yaml", other / "controlplane.yaml")
    code, data = run_json(plan, other)
    assert code == 1
    paths = {c["path"]: c for c in data["changes"]}
    assert paths["network.dns_domain"]["severity"] == "breaking"
    assert data["before"]["kind"] == data["after"]["kind"] == "plan"
    text = json.dumps(data)
    for secret in ("secretboxEncryptionSecret", "45yd2Ke+sytiICojDf8aibTfgt99nzJmO53cjDqrCto="):
        assert secret not in text


def test_help_teaches_with_examples():
    result = CliRunner().invoke(cli, ["diff", "--help"])
    assert result.exit_code == 0
    for text in ("INVENTORY PLAN_DIR", "--live", "--fail-on", "Examples:", "Exit code"):
        assert text in result.output
