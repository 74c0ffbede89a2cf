"""`kubespray2talos migrate` and `rehearse` as a user runs them: plan the demo, then a dry run against a served
twin of the demo cluster, the typed confirmation, bad input, and a rehearsal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrate.clock import SystemClock
from migrate.cluster.twin import Twin, serve_in_thread
from tests.conftest import CLUSTERS, FIXTURES, INVENTORIES, REPO


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrate", *map(str, args)], capture_output=True, text=True,
                          input=stdin, cwd=REPO, timeout=180, check=False)


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plan") / "plan"
    run = cli("plan", INVENTORIES / "demo", "--pki", FIXTURES / "pki" / "demo", "--out", out)
    assert run.returncode in (0, 1), run.stderr
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    twin = Twin.from_snapshot(CLUSTERS / "demo.json", SystemClock())
    handle = serve_in_thread(twin)
    yield handle.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")
    handle.stop()


def test_plan_writes_migration_yaml_and_a_replan_keeps_the_edits(demo_plan, tmp_path):
    text = (demo_plan / "migration.yaml").read_text()
    assert "host: cp1" in text and "wave: 1" in text and "replacement:" in text
    edited = text.replace("name: w3-talos", "name: w3-new")
    (demo_plan / "migration.yaml").write_text(edited)
    run = cli("plan", INVENTORIES / "demo", "--pki", FIXTURES / "pki" / "demo", "--out", demo_plan)
    assert run.returncode in (0, 1), run.stderr
    assert (demo_plan / "migration.yaml").read_text() == edited


def test_a_dry_run_lists_every_wave_with_its_evictions_and_refusals(demo_plan, served):
    run = cli("migrate", demo_plan, "--kubeconfig", served, "--dry-run", "-o", "json")
    assert run.returncode == 0, run.stderr
    waves = json.loads(run.stdout)["waves"]
    assert [w["hosts"] for w in waves[:3]] == [["cp1"], ["cp2"], ["cp3"]]
    refused = " ".join(w["refused"] for w in waves)
    assert "--delete-emptydir-data" in refused and "--force" in refused  # named overrides, as kubectl does
    table = cli("migrate", demo_plan, "--kubeconfig", served, "--dry-run")
    assert "dry run: nothing was changed" in table.stderr and "wave 1: cp1" in table.stdout


def test_a_real_run_wants_the_cluster_name_typed_back(demo_plan, served):
    run = cli("migrate", demo_plan, "--kubeconfig", served, stdin="not-the-name\n")
    assert run.returncode == 2 and "does not match" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("args, says", [
    (["--only", "nosuchhost"], "not in migration.yaml"),
    (["--max-unavailable", "0"], "at least 1"),
    (["--drain-timeout", "soon"], "not a duration"),
])
def test_bad_options_are_refused_by_name(demo_plan, served, args, says):
    run = cli("migrate", demo_plan, "--kubeconfig", served, "--dry-run", *args)
    assert run.returncode == 2 and says in run.stderr and "Traceback" not in run.stderr


def test_a_broken_migration_yaml_names_the_field(demo_plan, tmp_path, served):
    broken = tmp_path / "plan"
    subprocess.run(["cp", "-r", str(demo_plan), str(broken)], check=True)
    (broken / "migration.yaml").write_text((broken / "migration.yaml").read_text().replace("wave: 2", "wave: two", 1))
    run = cli("migrate", broken, "--kubeconfig", served, "--dry-run")
    assert run.returncode == 2 and "hosts[1].wave" in run.stderr


def test_rehearse_predicts_the_run_and_compares_it_with_one_node_at_a_time(demo_plan):
    run = cli("rehearse", CLUSTERS / "demo.json", demo_plan, "--delete-emptydir-data", "--force",
              "--max-unavailable", "2", "-o", "json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["pdb_violations"] == 0 and report["evictions"] > 0
    assert 0 < report["lower_bound_seconds"] <= report["makespan_seconds"]
    assert [w["hosts"] for w in report["timeline"]][:3] == [["cp1"], ["cp2"], ["cp3"]]
    assert report["decommission_hook_seconds"] == 60  # the default, said beside the figures it shapes
    slow = json.loads(cli("rehearse", CLUSTERS / "demo.json", demo_plan, "--delete-emptydir-data", "--force",
                          "--max-unavailable", "2", "--decommission-time", "10m", "-o", "json").stdout)
    assert slow["decommission_hook_seconds"] == 600 and slow["makespan_seconds"] > report["makespan_seconds"] + 3 * 540
    bad = cli("rehearse", CLUSTERS / "demo.json", demo_plan, "--decommission-time", "a while")
    assert bad.returncode == 2 and "--decommission-time" in bad.stderr and "Traceback" not in bad.stderr
    refused = cli("rehearse", CLUSTERS / "demo.json", demo_plan)  # the demo has emptyDir and bare pods
    assert refused.returncode == 1 and "stopped where the real run would" in refused.stderr
    assert "--delete-emptydir-data" in refused.stderr and "Traceback" not in refused.stderr


def test_plan_groups_waves_by_the_zones_in_node_labels_and_a_percentage_regroups_them(tmp_path, served):
    import shutil

    import yaml

    inventory = tmp_path / "inventory"
    shutil.copytree(INVENTORIES / "demo", inventory)
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text())
    for name, zone in {"w1": "eu-1a", "w2": "eu-1b", "w3": "eu-1a"}.items():
        node = hosts["all"]["hosts"][name]
        node["node_labels"] = {**(node.get("node_labels") or {}), "topology.kubernetes.io/zone": zone}
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    out = tmp_path / "plan"
    run = cli("plan", inventory, "--pki", FIXTURES / "pki" / "demo", "--out", out)
    assert run.returncode in (0, 1), run.stderr
    written = yaml.safe_load((out / "migration.yaml").read_text())["hosts"]
    assert {h["host"]: h.get("zone") for h in written} == {"cp1": None, "cp2": None, "cp3": None,
                                                          "w1": "eu-1a", "w3": "eu-1a", "w2": "eu-1b"}
    run = cli("migrate", out, "--kubeconfig", served, "--dry-run", "--max-unavailable", "100%", "-o", "json")
    assert run.returncode == 0, run.stderr
    assert [w["hosts"] for w in json.loads(run.stdout)["waves"]][3:] == [["w1", "w3"], ["w2"]]
