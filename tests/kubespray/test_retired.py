"""What Kubespray's own checks say of an inventory: retired variables, the Ansible range, the upgrade steps."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from migrate.kubespray import load_cluster
from migrate.kubespray.releases import release_named, upgrade_path
from migrate.kubespray.retired import ansible_finding, ansible_range
from tests.conftest import INVENTORIES, REPO, SHARED


def _demo_with(tmp_path: Path, extra: dict[str, object]) -> Path:
    inventory = tmp_path / "inv"
    shutil.copytree(INVENTORIES / "demo", inventory)
    (inventory / "group_vars" / "k8s_cluster" / "retired.yml").write_text(yaml.safe_dump(extra))
    return inventory


def _by_setting(resolved):
    return {f.setting: f for f in resolved.findings}


def test_a_renamed_calico_variable_names_its_replacement_and_where_it_is_set(tmp_path: Path):
    inventory = _demo_with(tmp_path, {"ipip": True, "eviction_hard_control_plane": {"memory.available": "100Mi"}})
    found = _by_setting(load_cluster(inventory, kubespray_version="2.32"))
    assert "calico_ipip_mode" in found["ipip"].reason and "stops" in found["ipip"].reason
    assert "retired.yml" in found["ipip"].reason
    assert "nothing replaces it" in found["eviction_hard_control_plane"].reason
    assert found["ipip"].verdict == "manual" and found["ipip"].severity == "warning"


def test_a_release_that_does_not_check_a_variable_says_nothing_of_it(tmp_path: Path):
    inventory = _demo_with(tmp_path, {"ipip": True, "eviction_hard_control_plane": {"memory.available": "100Mi"}})
    found = _by_setting(load_cluster(inventory, kubespray_version="2.18"))
    assert "ipip" not in found  # calico's check.yml asserts on it from 2.19
    assert "eviction_hard_control_plane" not in _by_setting(load_cluster(inventory, kubespray_version="2.31"))


def test_the_calico_check_runs_only_for_calico(tmp_path: Path):
    inventory = _demo_with(tmp_path, {"ipip": True, "kube_network_plugin": "flannel"})
    assert "ipip" not in _by_setting(load_cluster(inventory, kubespray_version="2.32"))


@pytest.mark.parametrize(("release", "inside", "outside"), [
    ("2.27", "2.16.4", "2.17.0"), ("2.31", "2.18.3", "2.19.14"), ("2.32", "2.18.0", "2.17.9"), ("2.23", "2.14.1", "2.15.0"),
])
def test_ansible_ranges_are_kubesprays_assertion(release, inside, outside):
    wanted = ansible_range(release_named(release))
    assert wanted is not None and wanted.admits(inside) and not wanted.admits(outside)


def test_our_ansible_outside_the_range_is_a_finding_that_names_both():
    note = ansible_finding(release_named("2.32"), "2.19.14")
    assert note is not None and ">=2.18.0,<2.19.0" in note.reason and "2.19.14" in note.reason
    assert ansible_finding(release_named("2.32"), "2.18.6") is None


def _versions_tsv() -> dict[str, tuple[str, str]]:
    with open(SHARED / "kubespray" / "defaults" / "versions.tsv", newline="") as fh:
        rows = [r for r in csv.reader(fh, delimiter="\t") if r and not r[0].startswith("#")]
    return {r[0]: (r[3], r[4]) for r in rows[1:]}


def test_upgrade_steps_are_one_minor_each_with_the_release_default_kubespray_itself_gives():
    tsv = _versions_tsv()
    steps = upgrade_path("1.20.7", (1, 26))
    assert [kube.rsplit(".", 1)[0] for _, kube in steps] == [f"1.{m}" for m in range(21, 27)]
    for tag, kube in steps:
        assert tsv[tag][0].lstrip("v") == kube, tag


def test_the_2_32_line_reads_with_masters_defaults(tmp_path: Path):
    inventory = tmp_path / "inv"
    shutil.copytree(INVENTORIES / "demo", inventory)
    cluster = inventory / "group_vars" / "k8s_cluster" / "k8s-cluster.yml"
    cluster.write_text("".join(line for line in cluster.read_text().splitlines(True) if not line.startswith("kube_version")))
    resolved = load_cluster(inventory, kubespray_version="2.32")
    kube, etcd = _versions_tsv()["master"]
    assert resolved.spec.kubernetes_version == kube.lstrip("v")
    assert str(resolved.settings["etcd_version"].value).lstrip("v") == etcd.lstrip("v")


def _plan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrate", "plan", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300)


def test_an_old_cluster_is_told_which_kubespray_releases_to_step_through(tmp_path: Path):
    run = _plan(str(INVENTORIES / "legacy-ini-2.16"), "--out", str(tmp_path / "plan"))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    hint = " ".join(run.stderr.split())
    for tag, kube in upgrade_path("1.20.7", (1, 26)):
        assert f"{tag} (Kubernetes {kube})" in hint
    assert not (tmp_path / "plan").exists()


def test_a_preview_at_the_upgraded_version_pins_it_and_blocks_until_the_cluster_runs_it(tmp_path: Path):
    out = tmp_path / "plan"
    run = _plan(str(INVENTORIES / "legacy-ini-2.16"), "--out", str(out), "--kubernetes-version", "1.26.13",
                "--output", "json")
    assert run.returncode == 1, run.stderr
    worker = yaml.safe_load((out / "worker.yaml").read_text())
    assert worker["machine"]["kubelet"]["image"].endswith(":v1.26.13")
    report = yaml.safe_load((out / "report.json").read_text())
    preview = next(f for f in report["findings"] if f["setting"] == "Kubernetes version (preview)")
    assert preview["severity"] == "blocker" and "1.20.7" in preview["reason"] and "newer than the API server" in preview["reason"]


def test_a_preview_below_the_running_version_is_refused(tmp_path: Path):
    run = _plan(str(INVENTORIES / "demo"), "--out", str(tmp_path / "plan"), "--kubernetes-version", "1.30.2")
    assert run.returncode == 2 and "never downgraded" in run.stderr and not (tmp_path / "plan").exists()


def test_the_plan_records_the_ansible_range_kubesprays_playbooks_need(tmp_path: Path):
    run = _plan(str(INVENTORIES / "demo"), "--out", str(tmp_path / "plan"), "--kubespray-version", "2.31.0")
    assert run.returncode in (0, 1), run.stderr
    report = yaml.safe_load((tmp_path / "plan" / "report.json").read_text())
    assert report["kubespray_ansible"] == ">=2.18.0,<2.19.0"
