"""The committed cluster snapshots: regenerable, loadable, and the running state of their inventories."""

from __future__ import annotations

import json
import runpy

import pytest
import yaml

from migrate.cluster.snapshot import read_snapshot, scrub_configmap
from migrate.cluster.twin import Twin
from migrate.cluster.twin.resources import NAMESPACES, NODES, PODS
from migrate.errors import UserError
from migrate.kubespray import load_cluster
from tests.conftest import CLUSTERS, INVENTORIES


def test_the_generator_reproduces_the_committed_snapshots(tmp_path) -> None:
    runpy.run_path(str(CLUSTERS / "generate.py"))["main"](tmp_path)
    for name in ("demo.json", "large-ha.json"):
        assert (tmp_path / name).read_bytes() == (CLUSTERS / name).read_bytes(), f"{name} is stale: run generate.py"


def _config(snapshot: dict, name: str, key: str) -> dict:
    cm = next(c for c in snapshot["objects"]["configmaps"] if c["metadata"]["name"] == name)
    return yaml.safe_load(cm["data"][key])


@pytest.mark.parametrize("name", ["demo", "large-ha"])
def test_snapshot_is_the_running_state_of_its_inventory(name: str) -> None:
    spec = load_cluster(INVENTORIES / name).spec
    snap = read_snapshot(CLUSTERS / f"{name}.json")
    nodes = {n["metadata"]["name"]: n for n in snap["objects"]["nodes"]}
    assert {n.name: n.ip for n in spec.nodes} == {k: v["status"]["addresses"][0]["address"] for k, v in nodes.items()}
    for node in spec.nodes:
        assert ("control-plane" in node.roles) == ("node-role.kubernetes.io/control-plane" in nodes[node.name]["metadata"]["labels"])
        assert nodes[node.name]["metadata"]["labels"].items() >= node.labels.items()
        assert nodes[node.name]["status"]["nodeInfo"]["kubeletVersion"] == f"v{spec.kubernetes_version}"
    cluster = _config(snap, "kubeadm-config", "ClusterConfiguration")
    assert cluster["kubernetesVersion"] == f"v{spec.kubernetes_version}"
    assert cluster["controlPlaneEndpoint"] == f"{spec.control_plane.endpoint.host}:{spec.control_plane.endpoint.port}"
    assert cluster["networking"] == {"dnsDomain": spec.network.dns_domain, "podSubnet": ",".join(spec.network.pod_subnets),
                                     "serviceSubnet": ",".join(spec.network.service_subnets)}
    assert cluster["clusterName"] == spec.name
    kubelet = _config(snap, "kubelet-config", "kubelet")
    assert kubelet["clusterDNS"] == list(spec.network.cluster_dns) and kubelet["clusterDomain"] == spec.network.dns_domain
    proxy = _config(snap, "kube-proxy", "config.conf")
    assert proxy["mode"] == spec.network.kube_proxy_mode and proxy["clusterCIDR"] == spec.network.pod_subnets[0]
    daemonsets = {d["metadata"]["name"] for d in snap["objects"]["daemonsets.apps"]}
    assert {"calico": "calico-node", "cilium": "cilium"}[spec.network.cni.name] in daemonsets
    assert {"kube-proxy", "nodelocaldns"} <= daemonsets


def test_demo_says_what_the_demo_inventory_says_about_encryption() -> None:
    snap = read_snapshot(CLUSTERS / "demo.json")
    args = {a["name"]: a["value"] for a in _config(snap, "kubeadm-config", "ClusterConfiguration")["apiServer"]["extraArgs"]}
    assert args["encryption-provider-config"] == "/etc/kubernetes/ssl/secrets_encryption.yaml"


def test_large_ha_has_the_shape_a_drain_meets() -> None:
    twin = Twin.from_snapshot(CLUSTERS / "large-ha.json")
    pods = list(twin.store.objects(PODS))
    assert len(list(twin.store.objects(NODES))) == 200 and 3800 <= len(pods) <= 4200
    kinds = {(p["metadata"].get("ownerReferences") or [{}])[0].get("kind") for p in pods}
    assert {"ReplicaSet", "StatefulSet", "DaemonSet", "Node", None} <= kinds  # Node: static pods' mirrors; None: bare pods
    assert any("emptyDir" in v for p in pods for v in p["spec"].get("volumes") or [])
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert twin.settle() == 0.0  # nothing to reconcile: the snapshot is a steady state


def test_configmap_entries_that_look_like_secrets_are_dropped() -> None:
    cm = {"metadata": {"name": "x"}, "data": {"config.yaml": "a: 1", "token": "abc", "ca.key": "k", "x": "-----BEGIN RSA PRIVATE KEY-----"},
          "binaryData": {"blob": "AAAA"}}
    assert scrub_configmap(cm)["data"] == {"config.yaml": "a: 1"} and "binaryData" not in scrub_configmap(cm)


def test_reading_something_else_is_a_user_error(tmp_path) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"kind": "List"}))
    with pytest.raises(UserError):
        read_snapshot(tmp_path / "x.json")
    with pytest.raises(UserError):
        read_snapshot(tmp_path / "missing.json")


def test_loading_keeps_the_captured_system_namespaces() -> None:
    captured = {n["metadata"]["name"]: n["metadata"] for n in read_snapshot(CLUSTERS / "demo.json")["objects"]["namespaces"]}
    twin = Twin.from_snapshot(CLUSTERS / "demo.json")
    for name in ("default", "kube-system"):
        meta = twin.store.get(NAMESPACES, "", name)["metadata"]
        assert (meta["uid"], meta["creationTimestamp"]) == (captured[name]["uid"], captured[name]["creationTimestamp"])
    assert twin.store.find(NAMESPACES, "", "kube-node-lease") is not None  # not captured: the twin's own stays
