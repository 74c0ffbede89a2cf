"""The shipped decommission playbook, for real under ansible_connection=local against a fake Flatcar control plane
(a temp tree laid out as Kubespray leaves one; systemctl, crictl, umount and wipefs replaced by a recorder), in
--check mode (changes nothing) and as the default decommission hook (its report is the ledger's evidence)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from migrate.ansible import run_playbook
from migrate.errors import UserError
from migrate.migration.hands import HookHands
from migrate.migration.plan_file import Hook, HostMove
from playbook_fixtures.pki import generate as fake
from tests.conftest import INVENTORIES

HOST = "fc-cp-1"
STATE = {  # what Kubespray leaves on a Flatcar control plane with etcd_deployment_type: host
    "etc/kubernetes/admin.conf": "apiVersion: v1\n", "etc/kubernetes/ssl/ca.crt": "cert\n",
    "etc/kubernetes/manifests/kube-apiserver.yaml": "kind: Pod\n", "var/lib/kubelet/config.yaml": "kind: KubeletConfiguration\n",
    "var/lib/kubelet/pods/1234/volumes/x": "", "var/lib/etcd/member/snap/db": "etcd data",
    "etc/ssl/etcd/ssl/ca.pem": "cert\n", "etc/ssl/etcd/ssl/admin-fc-cp-1-key.pem": "key\n", "etc/etcd.env": "ETCD_NAME=etcd1\n",
    "etc/systemd/system/kubelet.service": "[Unit]\n", "etc/systemd/system/kubelet.service.d/10-kubeadm.conf": "[Service]\n",
    "etc/systemd/system/etcd.service": "[Unit]\n", "etc/systemd/system/containerd.service": "[Unit]\n",
    "etc/cni/net.d/10-calico.conflist": "{}", "opt/cni/bin/calico": "", "var/lib/cni/networks/k8s-pod-network/10.233.64.2": "",
    "var/lib/calico/nodename": "fc-cp-1", "etc/calico/calicoctl.cfg": "", "etc/containerd/config.toml": "version = 2\n",
    "var/lib/containerd/io.containerd.content.v1.content/blobs/sha256/ab": "",
}
KEPT = {  # the host's own files, Flatcar's read-only /usr, Kubespray's binaries and our etcd snapshot stay
    "etc/hostname": "fc-cp-1\n", "home/core/.ssh/authorized_keys": "ssh-ed25519 AAAA\n", "etc/flatcar/update.conf": "GROUP=stable\n",
    "usr/lib/systemd/system/docker.service": "[Unit]\n", "opt/bin/kubelet": "", "opt/bin/etcdctl": "",
    "var/backups/kubespray2talos/etcd-1764800000.db": "snapshot",
}
RECORDER = """import json, sys
with open({log!r}, "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:3] == ["crictl", "pods"]:
    print("5f2c0e7a1b\\n9d41aa03c7")
"""


@pytest.fixture
def host(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(inventory, fake root, command log): the Flatcar fixture inventory with fc-cp-1 run locally on the tree."""
    root, log = tmp_path / "root", tmp_path / "commands.jsonl"
    for rel, text in {**STATE, **KEPT}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    recorder = tmp_path / "recorder.py"
    recorder.write_text(RECORDER.format(log=str(log)))
    record = [sys.executable, str(recorder)]
    inventory = shutil.copytree(INVENTORIES / "flatcar", tmp_path / "inventory")
    fake.local_node(inventory, HOST, root, **{f"ks2t_{c}": [*record, c] for c in ("systemctl", "crictl", "umount", "wipefs")})
    return inventory / "inventory.ini", root, log


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def commands(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


MOVE = HostMove(HOST, "controlplane", "10.70.0.11", 1, "fc-cp-1-talos", "10.70.0.31")


@pytest.mark.slow
def test_check_mode_reads_the_host_and_changes_nothing(host):
    inventory, root, log = host
    before = tree(root)
    result = run_playbook("decommission.yml", inventory, extravars={"KS2T_HOST": HOST}, check_mode=True)
    assert tree(root) == before
    assert commands(log) == [["crictl", "pods", "-q"]]  # a read; nothing stopped, removed or reloaded
    report = result.artifacts["ks2t_decommission"][HOST]
    assert report["check_mode"] is True and report["disks"] == "untouched"
    assert sorted(report["units_stopped"]) == ["containerd.service", "docker.service", "etcd.service", "kubelet.service"]


@pytest.mark.slow
def test_the_default_hook_retires_the_host_in_order_keeps_the_rest_and_is_safe_to_repeat(host, tmp_path):
    inventory, root, log = host
    hands = HookHands(plan_dir=tmp_path, inventory=inventory)
    evidence = hands.decommission(MOVE)  # no hook in migration.yaml, an inventory named: the shipped playbook
    assert tree(root) == KEPT  # every Kubernetes, etcd, CNI and runtime file gone; the rest as it was
    calls = commands(log)
    assert calls[0] == ["systemctl", "disable", "--now", "kubelet.service"]  # kubelet first: no static pod comes back
    assert calls[1:4] == [["crictl", "pods", "-q"], ["crictl", "stopp", "5f2c0e7a1b", "9d41aa03c7"],
                          ["crictl", "rmp", "5f2c0e7a1b", "9d41aa03c7"]]
    assert calls[4:] == [["systemctl", "disable", "--now", "containerd.service", "docker.service", "etcd.service"],
                         ["systemctl", "daemon-reload"]]
    report = evidence["report"]
    assert evidence["playbook"] == "decommission" and report["pods_stopped"] == 2 and report["disks"] == "untouched"
    assert {"etc/kubernetes", "var/lib/etcd", "etc/ssl/etcd", "etc/cni", "var/lib/containerd"} <= set(report["removed"])
    assert evidence["stats"][HOST]["failed"] == 0

    wipe = Hook(builtin="decommission", extravars={"wipe_disks": True, "ks2t_wipe_devices": ["/dev/vdb"]})
    again = hands.decommission(HostMove(**{**MOVE.__dict__, "decommission": wipe}))
    assert again["report"]["removed"] == [] and again["report"]["disks"] == ["/dev/vdb"]
    assert commands(log)[-1] == ["wipefs", "--all", "/dev/vdb"] and tree(root) == KEPT


@pytest.mark.slow
def test_wiping_without_naming_the_disks_is_refused_before_anything_is_done(host, tmp_path):
    inventory, root, log = host
    before = tree(root)
    move = HostMove(**{**MOVE.__dict__, "decommission": Hook(builtin="decommission", extravars={"wipe_disks": True})})
    with pytest.raises(UserError) as refused:
        HookHands(plan_dir=tmp_path, inventory=inventory).decommission(move)
    assert "decommission hook" in refused.value.message and "ks2t_wipe_devices" in refused.value.message
    assert refused.value.where == HOST and tree(root) == before and commands(log) == []
