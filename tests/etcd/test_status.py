"""`etcd status` against a real etcd: members matched to the plan's hosts by peer URL, problems named."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from migrate.etcd.etcdctl import EtcdctlMembership
from migrate.etcd.status import etcd_status
from tests.conftest import REPO
from tests.etcd.cluster import kubespray_inventory, start_cluster


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    cluster = start_cluster(tmp_path_factory.mktemp("etcd"))
    yield cluster
    cluster.stop()


def test_members_are_matched_to_hosts_and_an_unclaimed_or_missing_one_is_named(etcd, tmp_path):
    m = EtcdctlMembership(etcd.access(), snapshot_dir=tmp_path, timeout=5)
    rows, problems = etcd_status(m, {"cp1": "127.0.0.1", "cp2": "127.0.0.2", "cp9": "127.0.0.9"})
    assert {r.name: r.host for r in rows} == {"etcd1": "cp1", "etcd2": "cp2", "etcd3": None}
    assert sum(r.leader for r in rows) == 1 and all(r.healthy for r in rows)
    assert any("etcd3" in p and "no host" in p for p in problems)
    assert any("cp9" in p for p in problems)


def test_the_verb_prints_json_and_exits_1_on_problems(etcd, tmp_path):
    plan = tmp_path / "plan"
    plan.mkdir()
    hosts = [{"host": f"cp{i}", "role": "controlplane", "address": f"127.0.0.{i}", "wave": i,
              "replacement": {"name": f"cp{i}-talos"}} for i in (1, 2, 3)]
    (plan / "migration.yaml").write_text(yaml.safe_dump({"cluster": "t", "hosts": hosts}))
    run = subprocess.run([sys.executable, "-m", "migrate", "etcd", "status", str(plan), "--endpoints",
                          ",".join(etcd.access().endpoints), "--certs", str(etcd.certs), "--admin", "etcd1", "-o", "json"],
                         capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert sorted(r["host"] for r in json.loads(run.stdout)["members"]) == ["cp1", "cp2", "cp3"]
    bad = subprocess.run([sys.executable, "-m", "migrate", "etcd", "status", str(plan), "--endpoints",
                          "https://127.0.0.1:1", "--certs", str(etcd.certs), "--admin", "etcd1", "--timeout", "2"],
                         capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_the_verb_runs_etcdctl_on_an_etcd_host_of_the_inventory_as_an_operator_would(etcd, tmp_path):
    inventory = kubespray_inventory(etcd, tmp_path / "inventory")
    run = subprocess.run([sys.executable, "-m", "migrate", "etcd", "status", str(inventory.parent), "-o", "json"],
                         capture_output=True, text=True, cwd=REPO, timeout=180, check=False)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert {r["name"]: r["host"] for r in report["members"]} == {"etcd1": "cp1", "etcd2": "cp2", "etcd3": "cp3"}
    assert report["problems"] == [] and all(r["healthy"] for r in report["members"])

    plan = tmp_path / "plan"  # a plan whose migration.yaml names the inventory and knows only two control planes
    plan.mkdir()
    hosts = [{"host": f"cp{i}", "role": "controlplane", "address": f"127.0.0.{i}", "wave": i,
              "replacement": {"name": f"cp{i}-talos"}} for i in (1, 2)]
    (plan / "migration.yaml").write_text(yaml.safe_dump({"cluster": "t", "inventory": "../inventory/hosts.yaml",
                                                         "hosts": hosts}))
    partial = subprocess.run([sys.executable, "-m", "migrate", "etcd", "status", str(plan)],
                             capture_output=True, text=True, cwd=REPO, timeout=180, check=False)
    assert partial.returncode == 1 and "etcd3" in partial.stderr + partial.stdout and "claimed by no host" in partial.stderr
    wrong = subprocess.run([sys.executable, "-m", "migrate", "etcd", "status", str(inventory), "--on", "cp9"],
                           capture_output=True, text=True, cwd=REPO, timeout=180, check=False)
    assert wrong.returncode == 2 and "--on" in wrong.stderr and "cp1, cp2, cp3" in wrong.stderr


def test_migrate_asks_the_etcd_host_that_moves_last_and_names_a_wrong_one(etcd, tmp_path):
    from migrate.cli.etcd import host_membership
    from migrate.errors import UserError

    inventory = kubespray_inventory(etcd, tmp_path / "inventory", local=())
    membership = host_membership(inventory, None, last_to_move={"cp1": 1, "cp2": 2, "cp3": 3})
    assert [(h.name, h.address) for h in membership.runner.hosts] == [("cp3", "127.0.0.3"), ("cp2", "127.0.0.2"),
                                                                      ("cp1", "127.0.0.1")]
    assert [h.name for h in host_membership(inventory, None, first="cp2").runner.hosts] == ["cp2", "cp1", "cp3"]
    with pytest.raises(UserError, match="'cp9' is not an etcd host"):
        host_membership(inventory, None, first="cp9")
