"""Reading Talos configs back into a ClusterSpec: Talos's own gen-config output for every minor, and patches."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.errors import UserError
from migrate.spec import ROLE_CONTROL_PLANE, ROLE_WORKER
from migrate.talos.merge import apply_patch, load_documents
from migrate.talos.plan_dir import read_plan
from migrate.talos.read import MachineConfig, read_config, read_documents
from migrate.talos.versions import all_versions
from tests.conftest import TALOS_NOT_YET_SUPPORTED, shared_path, talos_reference_dirs

GEN = ("talos", "gen-config-reference")


def _versions() -> list[Path]:
    return talos_reference_dirs()


def _read(path: Path, patch: str = ""):
    docs = load_documents(path.read_text(), where=str(path))
    if patch:
        docs = apply_patch(docs, load_documents(patch))
    config = MachineConfig(tuple(docs))
    return read_config(config, [config])


def test_every_version_is_covered():
    """Every minor upstream publishes is either read here or listed as known and not yet supported."""
    published = {p.name[1:] for p in shared_path(*GEN).iterdir() if p.is_dir()}
    supported = {t.minor for t in all_versions()}
    assert [p.name[1:] for p in _versions()] == sorted(supported, key=lambda m: tuple(map(int, m.split("."))))
    assert published - supported == set(TALOS_NOT_YET_SUPPORTED), "a new Talos minor: support it or list it as pending"
    assert not supported & set(TALOS_NOT_YET_SUPPORTED), "supported now: drop it from TALOS_NOT_YET_SUPPORTED"


@pytest.mark.parametrize("kind", ["base-controlplane", "base-worker"])
def test_gen_config_defaults_for_every_version(kind):
    for version in _versions():
        spec = _read(version / f"{kind}.yaml")
        net = spec.network
        assert spec.name == "base"
        assert spec.kubernetes_version == "1.28.0", version
        assert net.pod_subnets == ("10.244.0.0/16",)
        assert net.service_subnets == ("10.96.0.0/12",)
        assert net.cluster_dns == ("10.96.0.10",), "cluster DNS is the 10th service IP"
        assert net.coredns_ip == "10.96.0.10" and net.dns_mode == "coredns"
        assert net.apiserver_service_ip == "10.96.0.1"
        assert net.dns_domain == "cluster.local"
        assert net.cni.name == "flannel"
        assert net.kube_proxy_mode == "iptables", "Kubernetes 1.28 < 1.31 runs kube-proxy in iptables mode"
        assert net.kube_proxy_enabled and net.nodelocaldns_ip is None
        cp = spec.control_plane
        assert cp.endpoint.url == "https://base:6443" and cp.endpoint.kind == "loadbalancer"
        assert cp.service_account_issuer == "https://base:6443"
        assert cp.api_audiences == ("https://base:6443",)
        assert cp.anonymous_auth is False
        assert "base" in cp.cert_sans and "kubernetes.default.svc.cluster.local" in cp.cert_sans
        assert cp.encryption is None or (cp.encryption.provider, cp.encryption.key_name) == ("secretbox", "key2")
        assert spec.kubelet.config["seccompDefault"] is True
        assert spec.host.ntp_servers == ("time.cloudflare.com",)
        (node,) = spec.nodes
        if kind == "base-controlplane":
            assert cp.pod_security_defaults is True, version
            assert cp.encryption.key_name == "key2"
            assert node.roles[0] == ROLE_CONTROL_PLANE
            assert "node-role.kubernetes.io/control-plane:NoSchedule" in node.taints
            assert node.labels == {"node.kubernetes.io/exclude-from-external-load-balancers": ""}
        else:
            assert node.roles == (ROLE_WORKER,) and node.taints == ()


def test_gen_config_overrides_for_every_version():
    for version in _versions():
        spec = _read(version / "overrides-controlplane.yaml")
        assert spec.network.dns_domain == "example.com"
        assert spec.network.cni.name == "custom"
        assert spec.network.cni.settings == {"urls": ["https://example.com/cni.yaml"]}
        assert spec.control_plane.apiserver_port == 5443
        assert {"foo", "bar"} <= set(spec.control_plane.cert_sans)
        assert spec.host.sysctls == {"foo": "bar"}
        (node,) = spec.nodes
        assert ROLE_WORKER in node.roles, "allowSchedulingOnControlPlanes makes control planes schedulable"
        assert not node.taints
        assert node.install_disk == "/dev/vda"
        (mirror,) = spec.runtime.mirrors
        assert (mirror.registry, mirror.endpoints) == ("ghcr.io", ("https://ghcr.io.my-mirror.com",))


def test_kube_proxy_mode_follows_kubernetes_version():
    base = shared_path(*GEN, "v1.13", "base-controlplane.yaml")
    newer = _read(base, "machine:\n  kubelet:\n    image: ghcr.io/siderolabs/kubelet:v1.31.4\n")
    assert newer.kubernetes_version == "1.31.4"
    assert newer.network.kube_proxy_mode == "nftables"
    pinned = _read(
        base,
        "machine:\n  kubelet:\n    image: ghcr.io/siderolabs/kubelet:v1.31.4\ncluster:\n  proxy:\n    mode: ipvs\n",
    )
    assert pinned.network.kube_proxy_mode == "ipvs"


def test_kubespray_shaped_patch_reads_back():
    base = shared_path(*GEN, "v1.13", "base-controlplane.yaml")
    patch = """\
cluster:
  network:
    podSubnets: [10.233.64.0/18]
    serviceSubnets: [10.233.0.0/18]
    cni: {name: none}
  coreDNS: {disabled: true}
  proxy: {mode: ipvs, extraArgs: {ipvs-strict-arp: "true"}}
  apiServer:
    extraArgs:
      service-account-issuer: https://kubernetes.default.svc.cluster.local,https://base:6443
      anonymous-auth: "true"
      feature-gates: A=true,B=false
      audit-log-maxage: "7"
  secretboxEncryptionSecret: {$patch: delete}
machine:
  kubelet:
    clusterDNS: [169.254.25.10]
    extraConfig: {maxPods: 200}
  nodeTaints: {dedicated: "db:NoExecute"}
---
apiVersion: v1alpha1
kind: HostnameConfig
hostname: cp1
auto: off
---
apiVersion: v1alpha1
kind: TimeSyncConfig
ntp: {servers: [ntp.example.com]}
---
apiVersion: v1alpha1
kind: ResolverConfig
nameservers: [{address: 10.0.0.53}]
---
apiVersion: v1alpha1
kind: EnvironmentConfig
variables: {https_proxy: "http://proxy:3128"}
"""
    spec = _read(base, patch)
    net, cp = spec.network, spec.control_plane
    assert net.pod_subnets == ("10.233.64.0/18",) and net.service_subnets == ("10.233.0.0/18",)
    assert net.cluster_dns == ("169.254.25.10",) and net.nodelocaldns_ip == "169.254.25.10"
    assert net.coredns_ip is None, "with CoreDNS off and no running cluster known, Talos says nothing of it"
    assert net.kube_proxy_mode == "ipvs" and net.kube_proxy_strict_arp
    assert cp.service_account_issuer == "https://kubernetes.default.svc.cluster.local"
    assert cp.anonymous_auth is True and cp.encryption is None
    assert cp.apiserver.feature_gates == {"A": True, "B": False}
    assert cp.audit.max_age == 7
    assert spec.kubelet.config["maxPods"] == 200
    assert spec.host.ntp_servers == ("ntp.example.com",) and spec.host.nameservers == ("10.0.0.53",)
    assert spec.host.proxy.https_proxy == "http://proxy:3128"
    (node,) = spec.nodes
    assert node.name == "cp1" and node.etcd_member_name == "cp1"
    assert "dedicated=db:NoExecute" in node.taints
    assert spec.etcd.members[0].name == "cp1"


def test_single_file_reader_and_missing_version(tmp_path):
    spec = read_documents(shared_path(*GEN, "v1.8", "base-worker.yaml").read_text())
    assert spec.nodes[0].roles == (ROLE_WORKER,)
    with pytest.raises(UserError, match="Kubernetes version"):
        read_documents(
            "version: v1alpha1\nmachine: {type: worker}\ncluster: {controlPlane: {endpoint: https://x:6443}}\n"
        )


def test_plan_dir_applies_node_patches(tmp_path):
    base = shared_path(*GEN, "v1.13")
    (tmp_path / "controlplane.yaml").write_text((base / "base-controlplane.yaml").read_text())
    (tmp_path / "worker.yaml").write_text((base / "base-worker.yaml").read_text())
    nodes = tmp_path / "nodes"
    nodes.mkdir()
    for host, ip, kind in (("cp1", "10.0.10.11", "controlplane"), ("w1", "10.0.10.21", "worker")):
        (nodes / f"{host}.yaml").write_text(
            f"machine:\n  type: {kind}\n  install: {{disk: /dev/sdb}}\n  kubelet:\n    nodeIP:\n      validSubnets: [{ip}/32]\n"
            + ("    extraConfig: {maxPods: 250}\n" if host == "w1" else "")
            + f"---\napiVersion: v1alpha1\nkind: HostnameConfig\nhostname: {host}\nauto: off\n"
        )
    spec = read_plan(tmp_path).spec
    assert [(n.name, n.ip, n.is_control_plane, n.install_disk) for n in spec.nodes] == [
        ("cp1", "10.0.10.11", True, "/dev/sdb"),
        ("w1", "10.0.10.21", False, "/dev/sdb"),
    ]
    assert spec.etcd.members[0].peer_url == "https://10.0.10.11:2380"
    # a node's own kubelet settings are its difference; a Talos worker reserves less memory than a control plane
    assert spec.node("w1").kubelet_config == {"maxPods": 250, "systemReserved": {
        "cpu": "50m", "ephemeral-storage": "256Mi", "memory": "384Mi", "pid": "100"}}
    assert spec.kubelet.config["systemReserved"]["memory"] == "512Mi"
    assert spec.node("cp1").kubelet_config == {}
    assert "10.0.10.11" in spec.control_plane.cert_sans
    with pytest.raises(UserError, match="not a plan directory"):
        read_plan(nodes)
