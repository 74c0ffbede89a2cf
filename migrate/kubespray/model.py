"""From Kubespray's effective variables to the neutral ClusterSpec, the way Kubespray's roles use them."""
# exercised by tests/kubespray/test_load.py and tests/acceptance/test_real_world.py

from __future__ import annotations

import re
from collections.abc import Mapping
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
from migrate.mapping.finding import some_names

__all__ = ["build_spec", "require_control_plane"]


def build_spec(inventory: LoadedInventory, cluster: Resolution, hosts: dict[str, Resolution],
               observed: Mapping[str, str] | None = None) -> s.ClusterSpec:
    """The cluster as Kubespray deployed it. `cluster` resolves on the first control plane, `hosts` per host;
    `observed`: node addresses seen at run time, for hosts the inventory gives none."""
    cluster_kubelet = kubelet(cluster, control_plane=True)
    by_role: dict[bool, dict[str, Any]] = {}
    nodes = tuple(node(inventory, name, hosts[name],
                       kubelet_differences(inventory, cluster, hosts[name], cluster_kubelet, by_role), observed)
                  for name in hosts)
    check_addresses(nodes, hosts)
    _say_guessed_addresses(cluster, nodes, hosts, observed)
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
        host=host_os(cluster, dict(zip(hosts, nodes, strict=True))),
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


def _say_guessed_addresses(cluster: Resolution, nodes: tuple[s.NodeSpec, ...], hosts: dict[str, Resolution],
                           observed: Mapping[str, str] | None) -> None:
    """One warning for every host whose node address is only its ansible_host."""
    unknown = [n.name for n in nodes if not n.ip]
    if unknown:
        cluster.warnings.append(f"{len(unknown)} host(s) set neither ip nor an IP address as ansible_host, so Kubespray "
                                f"takes their address from the host at run time: {some_names(unknown)}; plan reads it "
                                "with --gather-facts or --kubeconfig, or set ip in the inventory")
    seen = observed or {}
    guessed = [n.name for n, (host, r) in zip(nodes, hosts.items(), strict=True)
               if n.ip and not r.value("ip", None) and n.name not in seen and host not in seen]
    if guessed:
        shown = ", ".join(guessed[:5]) + (f" and {len(guessed) - 5} more" if len(guessed) > 5 else "")
        cluster.warnings.append(f"{len(guessed)} host(s) have no ip, so their node address is taken from ansible_host: "
                                f"{shown}; set ip where the two differ (NAT, jump hosts)")
