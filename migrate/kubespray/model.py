"""From Kubespray's effective variables to the neutral ClusterSpec, the way Kubespray's roles use them."""
# exercised by tests/kubespray/test_load.py and tests/acceptance/test_real_world.py

from __future__ import annotations

import re
from typing import Any

from migrate import spec as s
from migrate.errors import UserError
from migrate.kubespray.control_plane import control_plane
from migrate.kubespray.etcd import etcd
from migrate.kubespray.host import host_os, runtime
from migrate.kubespray.inventory import LoadedInventory
from migrate.kubespray.kubelet import kubelet, kubelet_differences
from migrate.kubespray.network import network
from migrate.kubespray.nodes import check_addresses, node, require_control_plane
from migrate.kubespray.resolve import Resolution

__all__ = ["build_spec", "require_control_plane"]


def build_spec(inventory: LoadedInventory, cluster: Resolution, hosts: dict[str, Resolution]) -> s.ClusterSpec:
    """The cluster as Kubespray deployed it. `cluster` resolves on the first control plane, `hosts` per host."""
    cluster_kubelet = kubelet(cluster, control_plane=True)
    by_role: dict[bool, dict[str, Any]] = {}
    nodes = tuple(node(inventory, name, hosts[name],
                       kubelet_differences(inventory, cluster, hosts[name], cluster_kubelet, by_role))
                  for name in hosts)
    check_addresses(nodes, hosts)
    _say_guessed_addresses(cluster, nodes, hosts)
    net = network(cluster)
    control_planes = [n for n in nodes if n.is_control_plane]
    return s.ClusterSpec(
        name=str(cluster.value("cluster_name", "cluster.local")),
        kubernetes_version=_kubernetes_version(cluster),
        network=net,
        control_plane=control_plane(cluster, control_planes, net.dns_domain, net.apiserver_service_ip),
        kubelet=cluster_kubelet,
        etcd=etcd(inventory, cluster, hosts, nodes),
        runtime=runtime(cluster),
        host=host_os(cluster),
        nodes=nodes,
    )


_KUBE_VERSION = re.compile(r"v?\d+\.\d+\.\d+")


def _kubernetes_version(cluster: Resolution) -> str:
    """kube_version as Kubespray uses it (image tags, download URLs): vX.Y.Z, a quoted string."""
    value = cluster.value("kube_version", cluster.defaults.release.default_kube)
    if not isinstance(value, str) or not _KUBE_VERSION.fullmatch(value):
        raise UserError(
            f"kube_version must be a version like \"v1.31.4\", not {value!r}"
            + (" (YAML read it as a number)" if isinstance(value, (int, float)) else ""),
            where=cluster.where("kube_version"),
            hint="write the full version as a quoted string: kube_version: \"v1.31.4\"",
        )
    return value.lstrip("v")


def _say_guessed_addresses(cluster: Resolution, nodes: tuple[s.NodeSpec, ...], hosts: dict[str, Resolution]) -> None:
    """One warning for every host whose node address is only its ansible_host."""
    guessed = [n.name for n, r in zip(nodes, hosts.values(), strict=True) if n.ip and not r.value("ip", None)]
    if guessed:
        shown = ", ".join(guessed[:5]) + (f" and {len(guessed) - 5} more" if len(guessed) > 5 else "")
        cluster.warnings.append(f"{len(guessed)} host(s) have no ip, so their node address is taken from ansible_host: "
                                f"{shown}; set ip where the two differ (NAT, jump hosts)")
