"""Derived findings: what a person must do or know that no single Kubespray variable says (issue items 4–5).

Like kubectl's drain filters: an ordered list of small checks, each returning a Finding or None.
"""
# exercised by tests/talos/test_plan.py

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from migrate.mapping.engine import truthy
from migrate.mapping.finding import KEPT, MANUAL, Finding, finding, some_names
from migrate.spec import ROLE_ETCD, ClusterSpec
from migrate.talos.nodes import INSTALL_DISK
from migrate.talos.versions import TalosVersion

FLEXVOLUME_DIR = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec"


@dataclass(frozen=True)
class Situation:
    spec: ClusterSpec
    settings: Mapping[str, Any]  # name -> Setting (value, origin, secret)
    talos: TalosVersion
    joinable: bool
    release_reason: str = ""  # how the reader chose the Kubespray release (from a flag, a checkout, or a guess)

    def value(self, name: str, default: Any = None) -> Any:
        setting = self.settings.get(name)
        return default if setting is None else setting.value

    @property
    def workers_use_localhost_proxy(self) -> bool:
        """Kubespray puts nginx on 127.0.0.1:6443 on non-CP nodes unless told otherwise."""
        return truthy(self.value("loadbalancer_apiserver_localhost", True))


Check = Callable[[Situation], "Finding | None"]


def cluster_identity(s: Situation) -> Finding:
    if s.joinable:
        return finding("cluster identity", KEPT, "The Kubernetes CA, front-proxy CA, service-account key and etcd CA "
                       "come from the cluster's own PKI (--pki), so Talos nodes join the running cluster.",
                       talos_path="cluster.ca, cluster.aggregatorCA, cluster.serviceAccount, cluster.etcd.ca",
                       area="security")
    return finding("cluster identity", MANUAL, "NOT JOINABLE: no --pki was given, so the plan carries freshly "
                   "generated CAs. Run `kubespray2talos fetch-pki INVENTORY --out pki/` and plan again with --pki pki/.",
                   talos_path="cluster.ca, cluster.etcd.ca", severity="blocker", area="security")


def localhost_proxy(s: Situation) -> Finding | None:
    if not s.workers_use_localhost_proxy or not s.spec.workers:
        return None
    return finding("workers' localhost API proxy", MANUAL, "Old workers reach the API through nginx on "
                   "127.0.0.1:6443 with a fixed list of control-plane IPs: regenerate that upstream list whenever a "
                   "control plane is replaced. Talos workers use KubePrism on 127.0.0.1:7445 instead, so the "
                   "kube-proxy kubeconfig, Calico's kubernetes-services-endpoint and Cilium's k8sServiceHost must point "
                   "at the stable endpoint before the first Talos worker joins.",
                   talos_path="machine.features.kubePrism", severity="blocker", area="api-server")


def cluster_info(s: Situation) -> Finding:
    return finding("kube-public/cluster-info", MANUAL, "Talos runs the controller-manager without bootstrapsigner, "
                   "so kube-public/cluster-info stops being signed for new bootstrap tokens; kubeadm joins "
                   "(Kubespray scale.yml) need it signed or file discovery while old nodes remain.",
                   talos_path="cluster.controllerManager.extraArgs.controllers", area="controller-manager")


def kube_proxy_labels(s: Situation) -> Finding | None:
    if not s.spec.network.kube_proxy_enabled:
        return None
    return finding("kube-proxy DaemonSet labels", MANUAL, "Before the first `talosctl upgrade-k8s`, the kube-proxy "
                   "DaemonSet must carry the labels tier=node and k8s-app=kube-proxy; kubeadm's has only k8s-app and "
                   "selectors are immutable: export it, relabel, delete and re-apply.",
                   talos_path="cluster.proxy", area="kube-proxy")


def guessed_kubernetes_version(s: Situation) -> Finding | None:
    """No kube_version in the inventory and no release named: every image would be pinned to a guess."""
    setting = s.settings.get("kube_version")
    if setting is not None and " default " not in f" {getattr(setting, 'origin', '')} ":
        return None  # the inventory says it
    if "--kubespray-version" in s.release_reason or " read from " in s.release_reason:
        return None  # the operator named the release (to the patch) or its checkout
    return finding("kube_version", MANUAL, f"The inventory does not set kube_version, so the plan assumes Kubernetes "
                   f"{s.spec.kubernetes_version} ({s.release_reason}) and pins every image to it. Confirm it: pass "
                   "--kubespray-version with the release that deployed the cluster (to the patch, e.g. 2.28.0), "
                   "or --kubespray-dir with its checkout; `kubectl version` shows what the cluster runs.",
                   talos_path="machine.kubelet.image, cluster.*.image", severity="blocker", area="control plane")


def etcd_versions(s: Situation) -> Finding | None:
    if "etcd_version" in s.settings:
        return None  # the etcd_version rule gives this verdict from the cluster's actual version
    return finding("etcd version", MANUAL, f"Talos {s.talos.minor} runs etcd {s.talos.etcd}. If the cluster runs "
                   "etcd 3.5, upgrade every member to ≥3.5.26 before a 3.6 member joins, or pin cluster.etcd.image "
                   "to the cluster's version.", talos_path="cluster.etcd.image", area="etcd")


def cni_host_paths(s: Situation) -> Finding | None:
    cni = s.spec.network.cni.name
    if cni == "calico":
        return finding("CNI host paths", MANUAL, f"calico-node's flexvol-driver init container writes {FLEXVOLUME_DIR}, "
                       "and most of the root filesystem is read-only on Talos (that directory is an overlay up to "
                       "1.13 and gone in 1.14). Disable the FlexVolume driver if unused, and check every calico-node "
                       "hostPath against Talos's writable paths (/var, /etc/cni, /etc/kubernetes, /opt).",
                       talos_path=None, area="network")
    if cni == "cilium":
        return finding("CNI host paths", MANUAL, "Cilium must mount the cgroup v2 hierarchy Talos provides "
                       "(cgroup.autoMount.enabled=false, hostRoot=/sys/fs/cgroup) and drop SYS_MODULE; roll the "
                       "values out before the first Talos node.", talos_path=None, area="network")
    return None


def node_networking(s: Situation) -> Finding:
    return finding("node networking", MANUAL, "Kubespray never managed NICs: Talos nodes use DHCP unless static "
                   "addresses, bonds, VLANs and MTU are copied from each old host into its node patch "
                   "(LinkConfig/BondConfig/VLANConfig from 1.12, machine.network.interfaces before). The node "
                   "patches pin the kubelet and etcd to each host's current address, i.e. they assume the machine "
                   "is reinstalled in place; for a replacement machine, change validSubnets/advertisedSubnets to "
                   "its address or subnet.", talos_path="nodes/<host>.yaml", area="node")


def install_disk(s: Situation) -> Finding | None:
    unknown = [n.name for n in s.spec.nodes if not n.install_disk]
    if not unknown:
        return None
    return finding("install disk", MANUAL, f"The inventory names no system disk for {some_names(unknown)}: the configs install "
                   f"to {INSTALL_DISK} (talosctl's default). Set machine.install.disk or diskSelector in those node "
                   "patches where the disk differs (NVMe, virtio), or the install wipes the wrong disk or fails.",
                   talos_path="machine.install.disk", area="node")


def etcd_placement(s: Situation) -> Finding | None:
    """Talos runs etcd on every control plane and nowhere else: etcd members on other hosts do not carry over."""
    outside = [n.name for n in s.spec.nodes if ROLE_ETCD in n.roles and not n.is_control_plane]
    if not outside or s.spec.etcd.deployment_type not in ("host", "docker"):
        return None
    return finding("etcd placement", MANUAL, f"{some_names(outside)} run an etcd member without being a control plane; "
                   "on Talos they are plain workers. Remove each such member (etcdctl member remove) only once enough "
                   "Talos control planes have joined to keep quorum, or make the host a control plane in the inventory "
                   "before planning.", talos_path="nodes/<host>.yaml machine.type", area="etcd")


def unknown_addresses(s: Situation) -> Finding | None:
    """A host with no ip and no IP ansible_host: Kubespray took its address from facts, the plan cannot guess it."""
    unknown = [n.name for n in s.spec.nodes if not n.ip]
    if not unknown:
        return None
    endpoint = s.spec.control_plane.endpoint
    named = f" and the API endpoint {endpoint.url} names a host, not an address" \
        if endpoint.kind == "first-control-plane" and any(n.name == endpoint.host for n in s.spec.nodes) else ""
    return finding("node addresses", MANUAL, f"The inventory gives no address for {some_names(unknown)} (no ip, and "
                   "ansible_host is not an IP address): Kubespray took it from the host at run time, so the node "
                   f"patches cannot pin the kubelet and etcd to it{named}. Plan again with --gather-facts (Ansible "
                   "reads each host's default IPv4 address) or --kubeconfig (the Node's InternalIP), or set ip "
                   "for those hosts.", talos_path="nodes/<host>.yaml machine.kubelet.nodeIP", severity="blocker",
                   area="node")


def single_node(s: Situation) -> Finding | None:
    """Node-by-node in place needs another node to hold etcd and the workloads while one is reinstalled."""
    if len(s.spec.nodes) != 1:
        return None
    only = s.spec.nodes[0].name
    return finding("single-node cluster", MANUAL, f"{only} is the cluster's only node, its only control plane and "
                   "etcd member: it cannot be migrated node by node in place (draining it stops every workload, "
                   "reinstalling it loses etcd). Either add a node first (Kubespray scale.yml; a control plane with "
                   "etcd keeps the API up), migrate to Talos, then retire it; or build the Talos cluster beside it "
                   "and move the workloads (e.g. Velero backup and restore); or accept downtime: take an etcd "
                   "snapshot, reinstall with Talos and recover from it (talosctl bootstrap --recover-from).",
                   talos_path=None, severity="blocker", area="node")


CHECKS: tuple[Check, ...] = (
    cluster_identity,
    unknown_addresses,
    single_node,
    guessed_kubernetes_version,
    localhost_proxy,
    cluster_info,
    kube_proxy_labels,
    etcd_versions,
    cni_host_paths,
    node_networking,
    install_disk,
    etcd_placement,
)


def advise(s: Situation) -> list[Finding]:
    return [f for f in (check(s) for check in CHECKS) if f is not None]
