"""The reader agrees with what Kubespray itself computed for real public inventories and the upstream samples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from migrate.errors import UserError
from migrate.kubespray import load_cluster
from migrate.kubespray.releases import RELEASES, release_named
from tests.conftest import SHARED

EXPECTED = SHARED / "kubespray" / "expected"
CASES = sorted(p.stem for p in EXPECTED.glob("*.json")) if EXPECTED.is_dir() else []
# a default that only a tagged release fixes: between tags (v2.20.0-106-g4751089) the defaults may differ
_DEFAULT_AT_TAG = "kube_version"


def _expected(case: str) -> dict:
    return json.loads((EXPECTED / f"{case}.json").read_text())


def _release_flag(expected: dict) -> str | None:
    """The release the oracle ran, when we know it (2.16+); older inventories are read with inference."""
    try:
        release = release_named(expected["kubespray_release"])
    except UserError:
        return None
    if release.minor > RELEASES[-1].minor:
        return None
    return release.label if release.patch else release.name  # to the patch: each patch has its own defaults


def _inventory_for(case: str, expected: dict, tmp_path: Path) -> Path:
    if not case.startswith("sample-"):
        return SHARED / "kubespray" / "real-world" / case / expected["inventory_sources"][0]
    return _populated_sample(case.removeprefix("sample-"), expected, tmp_path)


def _populated_sample(name: str, expected: dict, tmp_path: Path) -> Path:
    """The sample inventory with hosts node1-3 (control plane + etcd) and node4-6 (workers), as the oracle had."""
    sample = SHARED / "kubespray" / "samples" / name / "inventory" / "sample"
    copy = tmp_path / "inv"
    shutil.copytree(sample, copy)
    legacy = "kube-master" in expected["groups"]
    cp, nodes, cluster = ("kube-master", "kube-node", "k8s-cluster") if legacy else ("kube_control_plane", "kube_node", "k8s_cluster")
    lines = ["[all]"] + [f"node{i} ansible_host=10.3.0.{i} ip=10.3.0.{i}" for i in range(1, 7)]
    lines += [f"[{cp}]", "node1", "node2", "node3", "[etcd]", "node1", "node2", "node3", f"[{nodes}]", "node4", "node5", "node6",
              f"[{cluster}:children]", cp, nodes]
    (copy / "inventory.ini").write_text("\n".join(lines) + "\n")
    return copy / "inventory.ini"


@pytest.mark.parametrize("case", CASES)
def test_reader_agrees_with_kubespray(case: str, tmp_path: Path) -> None:
    expected = _expected(case)
    inventory = _inventory_for(case, expected, tmp_path)
    if expected["status"] != "ok":
        # what Kubespray could not read, we refuse with one clear message or read with a warning; never a crash
        try:
            resolved = load_cluster(inventory, kubespray_version=_release_flag(expected))
        except UserError as exc:
            assert str(exc).strip() and "Traceback" not in str(exc)
            return
        assert any("vault" in w.lower() for w in resolved.warnings) or "vault" in expected["error"].lower()
        return
    resolved = load_cluster(inventory, kubespray_version=_release_flag(expected))
    # a default we can check only when the oracle ran a tagged release, not a commit between releases
    release_known = _release_flag(expected) is not None and "-g" not in expected["kubespray_release"]
    for name, value in expected["cluster"].items():
        setting = resolved.settings[name]
        if name == _DEFAULT_AT_TAG and setting.origin.startswith("Kubespray") and not release_known:
            continue
        assert setting.value == value, f"{name}: Kubespray computed {value!r}, we read {setting.value!r} ({setting.origin})"
    for name in expected.get("undefined") or []:
        assert not resolved.settings[name].defined, f"{name} should be undefined, we read it from {resolved.settings[name].origin}"
    for group, hosts in expected["groups"].items():
        ours = resolved.groups.get({"kube-master": "kube_control_plane", "kube-node": "kube_node", "k8s-cluster": "k8s_cluster",
                                    "calico-rr": "calico_rr"}.get(group, group), ())
        assert set(ours) == set(hosts), f"group {group}"
    assert resolved.reference_host == expected["reference_host"]
    for host, values in expected["hosts"].items():
        for var in ("ip", "access_ip"):
            assert resolved.hosts[host].get(var) == values[var], f"{host}.{var}"


@pytest.mark.parametrize("case", [c for c in CASES if not c.startswith("sample-") and _expected(c)["status"] == "ok"])
def test_spec_matches_kubespray_network(case: str, tmp_path: Path) -> None:
    """The spec carries Kubespray's own computed CoreDNS IP, CIDRs and kubelet DNS, not a recomputation
    (for every inventory Kubespray itself could read)."""
    expected = _expected(case)
    spec = load_cluster(_inventory_for(case, expected, tmp_path), kubespray_version=_release_flag(expected)).spec
    cluster = expected["cluster"]
    assert spec.network.service_subnets[0] == cluster["kube_service_addresses"]
    assert spec.network.pod_subnets[0] == cluster["kube_pods_subnet"]
    assert spec.network.coredns_ip == cluster["skydns_server"]
    want_dns = cluster["nodelocaldns_ip"] if cluster["enable_nodelocaldns"] else cluster["skydns_server"]
    assert spec.network.cluster_dns == (want_dns,)
    assert spec.network.dns_domain == cluster["dns_domain"]
