"""Reading the running cluster (kubeadm-config, kubelet-config, kube-proxy, API server flags, Nodes) over HTTP."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from migrate.cluster.kube import KubeCluster
from migrate.cluster.observe import observe
from migrate.cluster.twin import Twin, serve_in_thread
from migrate.cluster.twin.resources import CONFIGMAPS
from migrate.diff import diff_specs
from migrate.errors import UserError
from migrate.kubespray import load_cluster
from tests.conftest import CLUSTERS, INVENTORIES


@pytest.fixture(scope="module")
def inventory():
    return load_cluster(INVENTORIES / "demo").spec


def demo_twin() -> Twin:
    """The demo cluster as captured (playbook_fixtures/clusters/demo.json, kubeadm-config matching the inventory)."""
    return Twin.from_snapshot(CLUSTERS / "demo.json")


@pytest.fixture
def served(inventory, tmp_path):
    handle = serve_in_thread(demo_twin())
    yield handle, handle.write_kubeconfig(tmp_path / "kubeconfig")
    handle.stop()


def _observe(kubeconfig, baseline):
    cluster = KubeCluster(kubeconfig, attempts=1)
    try:
        return observe(cluster, baseline=baseline)
    finally:
        cluster.close()


def test_live_demo_matches_its_inventory(served, inventory):
    _, kubeconfig = served
    observed = _observe(kubeconfig, inventory)
    assert "kube-system/kubeadm-config" in observed.sources
    assert diff_specs(inventory, observed.spec) == []


def test_what_the_cluster_shows_is_read_even_without_an_inventory(served, inventory):
    _, kubeconfig = served
    spec = _observe(kubeconfig, None).spec
    assert spec.kubernetes_version == inventory.kubernetes_version
    assert spec.network.service_subnets == inventory.network.service_subnets
    assert spec.network.cluster_dns == inventory.network.cluster_dns
    assert spec.network.kube_proxy_mode == inventory.network.kube_proxy_mode
    # the load balancer's address lives in the nodes' /etc/hosts (Kubespray's), not in the API: only with a baseline
    assert replace(spec.control_plane.endpoint, address=None) == replace(inventory.control_plane.endpoint, address=None)
    assert spec.control_plane.endpoint.address is None
    assert _observe(kubeconfig, inventory).spec.control_plane.endpoint == inventory.control_plane.endpoint
    assert {n.name: n.ip for n in spec.nodes} == {n.name: n.ip for n in inventory.nodes}


def test_planted_drift_in_kubeadm_config_and_a_node_label_is_found(served, inventory):
    handle, kubeconfig = served
    api = handle.twin.api
    cm = api.get(CONFIGMAPS, "kube-system", "kubeadm-config")
    config = yaml.safe_load(cm["data"]["ClusterConfiguration"])
    config["networking"]["serviceSubnet"] = "10.96.0.0/12"
    cm["data"]["ClusterConfiguration"] = yaml.safe_dump(config)
    api.replace(CONFIGMAPS, "kube-system", "kubeadm-config", cm)
    cluster = KubeCluster(kubeconfig, attempts=1)
    cluster.set_labels("w3", {"demo.internal/ingress": None, "team": "payments"})
    cluster.close()
    changes = {c.where: c for c in diff_specs(inventory, _observe(kubeconfig, inventory).spec)}
    assert changes["network.service_subnets"].severity == "breaking"
    assert changes["network.service_subnets"].after == ["10.96.0.0/12"]
    assert changes["nodes.w3.labels[demo.internal/ingress]"].kind == "removed"
    assert changes["nodes.w3.labels.team"].kind == "added"


def test_not_a_kubeadm_cluster_is_a_clear_error(inventory, tmp_path):
    handle = serve_in_thread(Twin())
    try:
        with pytest.raises(UserError, match="kubeadm-config"):
            _observe(handle.write_kubeconfig(tmp_path / "kc"), inventory)
    finally:
        handle.stop()


def test_drifted_kubelet_config_shows_in_the_kubelet_area(served, inventory):
    handle, kubeconfig = served
    cm = handle.twin.api.get(CONFIGMAPS, "kube-system", "kubelet-config")
    kubelet = yaml.safe_load(cm["data"]["kubelet"])
    kubelet["maxPods"] = 250
    cm["data"]["kubelet"] = yaml.safe_dump(kubelet)
    handle.twin.api.replace(CONFIGMAPS, "kube-system", "kubelet-config", cm)
    (change,) = diff_specs(inventory, _observe(kubeconfig, inventory).spec)
    assert (change.where, change.area, change.after) == ("kubelet.config.maxPods", "kubelet", 250)
