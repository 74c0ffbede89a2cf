"""Fixture inventories of many Kubespray eras read into the values their authors meant."""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

import pytest

from migrate.kubespray import load_cluster
from tests.conftest import INVENTORIES


def load(name: str, **kw):
    password = INVENTORIES / f"{name}.pass"
    return load_cluster(INVENTORIES / name, vault_password_file=password if password.exists() else None, **kw)


def test_demo_is_the_cluster_its_group_vars_describe():
    r = load("demo")
    spec = r.spec
    assert [n.name for n in spec.control_planes] == ["cp1", "cp2", "cp3"]
    assert [n.name for n in spec.workers] == ["w1", "w2", "w3"]
    assert spec.control_plane.endpoint.url == "https://k8s-api.demo.internal:6443"
    assert spec.network.cluster_dns == ("169.254.25.10",)  # nodelocaldns, not CoreDNS
    assert spec.network.coredns_ip == "10.233.0.3"  # the 3rd address of the service CIDR
    assert {"10.0.10.10", "k8s-api.demo.internal", "kubernetes.default.svc.cluster.local", "10.233.0.1"} <= set(spec.control_plane.cert_sans)
    assert spec.control_plane.encryption.key_name == "key"
    assert [m.name for m in spec.etcd.members] == ["etcd1", "etcd2", "etcd3"]
    assert spec.etcd.members[0].peer_url == "https://10.0.10.11:2380"
    assert r.settings["kube_proxy_mode"].origin.startswith("group_vars/k8s_cluster/k8s-cluster.yml:")


def test_origin_names_the_line_that_sets_the_value():
    r = load("demo")
    origin = r.settings["kube_network_plugin"].origin
    path, line = origin.rsplit(":", 1)
    text = (INVENTORIES / "demo" / path).read_text().splitlines()[int(line) - 1]
    assert text.split(":")[0].strip() == "kube_network_plugin"
    assert r.settings["kube_encrypt_secret_data"].origin != "undefined"  # a boolean: found by reading the files
    assert "default" in r.settings["kube_encryption_algorithm"].origin


def test_legacy_ini_groups_and_unqualified_ipaddr_filters():
    r = load("legacy-ini-2.16")
    assert r.release == "v2.16.0"  # kube_version v1.20.7 is exactly v2.16.0's default
    assert r.groups["kube_control_plane"] and r.groups["kube_node"]
    assert set(r.groups["k8s_cluster"]) == set(r.groups["kube_control_plane"]) | set(r.groups["kube_node"])
    net = r.spec.network
    # `skydns_server: "{{ kube_service_addresses|ipaddr('net')|ipaddr(3)|ipaddr('address') }}"` rendered by Ansible
    assert r.settings["skydns_server"].value == str(ipaddress.ip_network(net.service_subnets[0])[3])
    assert (net.cni.name, net.kube_proxy_mode) == ("flannel", "iptables")
    assert (r.spec.runtime.manager, r.spec.etcd.deployment_type) == ("docker", "docker")


def test_mixed_legacy_and_current_group_names_are_one_cluster():
    r = load("mixed-legacy-names")
    assert r.groups["kube_control_plane"]
    assert set(r.groups["k8s_cluster"]) == set(r.groups["kube_control_plane"]) | set(r.groups["kube_node"])


def test_dual_stack_keeps_both_families():
    spec = load("dual-stack").spec
    assert [ipaddress.ip_network(c).version for c in spec.network.service_subnets] == [4, 6]
    assert [ipaddress.ip_network(c).version for c in spec.network.pod_subnets] == [4, 6]
    assert all(n.ip6 for n in spec.nodes)
    assert spec.network.node_cidr_mask_size_ipv6 is not None


def test_changing_cluster_name_changes_dns_domain():
    r = load("ha-external-lb")
    assert r.settings["cluster_name"].value != "cluster.local"
    assert r.spec.network.dns_domain == r.settings["cluster_name"].value
    assert r.spec.control_plane.service_account_issuer == f"https://kubernetes.default.svc.{r.spec.network.dns_domain}"
    assert r.spec.network.service_subnets == ("10.96.0.0/16",)


def test_without_a_load_balancer_the_endpoint_is_the_first_control_plane():
    spec = load("localhost-proxy").spec
    assert spec.control_plane.endpoint.kind == "first-control-plane"
    assert spec.control_plane.endpoint.host == spec.control_planes[0].ip


def test_encryption_defaults_to_aescbc_before_2_19():
    r = load("encryption-aescbc")
    assert r.release == "v2.18.0"
    assert r.spec.control_plane.encryption.provider == "aescbc"
    assert "default" in r.settings["kube_encryption_algorithm"].origin


def test_registry_mirrors_and_auth_stay_secret():
    r = load("registry-mirrors")
    registries = {m.registry for m in r.spec.runtime.mirrors}
    assert {"docker.io", "quay.io"} <= registries
    auth = r.settings["containerd_registry_auth"]
    assert auth.secret and "password" not in str(auth.value).lower()


def test_oidc_proxies_and_ntp():
    spec = load("oidc-proxy-ntp").spec
    assert spec.control_plane.oidc and spec.control_plane.oidc.client_id
    assert spec.host.proxy.https_proxy.startswith("http")
    assert spec.host.ntp_servers and not any(" " in s for s in spec.host.ntp_servers)  # "iburst" stripped


def test_ntp_not_managed_means_no_servers():
    r = load("single-node")
    assert r.settings["ntp_enabled"].value is False
    assert r.settings["ntp_servers"].defined  # Kubespray's default list exists...
    assert r.spec.host.ntp_servers == ()  # ...but Kubespray never configured it on the hosts


def test_flatcar_is_recognised():
    spec = load("flatcar").spec
    assert spec.host.os_family == "flatcar"
    assert spec.host.bin_dir == "/opt/bin"


@pytest.mark.parametrize("name", ["vault-file", "vault-inline"])
def test_vault_with_password(name):
    r = load(name)
    assert r.spec.nodes
    assert all(s.value != "<vaulted>" or s.secret for s in r.settings.values())


def test_a_directory_loads_every_inventory_file_like_ansible_playbook():
    """hosts.yaml beside the untouched sample inventory.ini: Ansible loads both; the empty sample adds nothing."""
    r = load("hosts-and-sample-ini")
    assert [s.name for s in r.sources] == ["hosts.yaml", "inventory.ini"]
    alone = load_cluster(INVENTORIES / "hosts-and-sample-ini" / "hosts.yaml")
    assert r.spec == alone.spec and r.groups == alone.groups
    assert not any("not loaded" in w for w in r.warnings)


def test_explicit_release_and_checkout_agree(tmp_path: Path):
    from tests.conftest import shared_path

    checkout = tmp_path / "kubespray"
    shutil.copytree(shared_path("kubespray", "defaults", "v2.27.1", "kubespray-defaults"), checkout / "roles" / "kubespray-defaults")
    by_flag = load("demo", kubespray_version="2.27")
    by_dir = load("demo", kubespray_dir=checkout)
    assert by_dir.spec == by_flag.spec


def test_group_values_render_once_for_a_large_inventory():
    r = load("large-ha")
    assert len(r.spec.nodes) == 200
    assert len({n.ip for n in r.spec.nodes}) == 200


def test_hosts_split_across_files_read_together_like_repeated_dash_i():
    split = INVENTORIES / "split-sources"
    directory = load_cluster(split)  # as `ansible-playbook -i split-sources/`: both files, whatever their names
    together = load_cluster([split / "hosts", split / "workers.yml"])
    assert directory.spec == together.spec and len(together.spec.workers) == 4
    assert [s.name for s in directory.sources] == ["hosts", "workers.yml"]
    assert load_cluster(split / "hosts").spec.workers == ()  # one file alone: its own hosts only
    assert "bastion" not in {n.name for n in together.spec.nodes}
    worker = together.spec.workers[0]
    assert worker.kubelet_config["maxPods"] == 200  # group_vars/kube_node.yml beats [kube_node:vars]
    assert together.spec.control_planes[0].kubelet_config == {}  # the cluster's own kubelet settings
    assert together.spec.kubelet.config["maxPods"] == 110


def test_origin_of_a_mapping_is_its_key_line():
    r = load("demo")
    path, line = r.settings["loadbalancer_apiserver"].origin.rsplit(":", 1)
    assert (INVENTORIES / "demo" / path).read_text().splitlines()[int(line) - 1].startswith("loadbalancer_apiserver:")
