"""Per-node strategic-merge patches: `talosctl apply-config --file controlplane.yaml --config-patch @nodes/cp1.yaml`.

A patch carries only what differs per machine: hostname, node address, install disk, labels, taints and the
kubelet settings where the node differs from the cluster.
"""
# exercised by tests/talos/test_render.py

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from migrate.mapping.node_restriction import kubelet_may_set_label
from migrate.spec import NodeSpec
from migrate.talos.host import document
from migrate.talos.versions import TalosVersion

INSTALL_DISK = "/dev/sda"  # talosctl gen config's default in the base configs; a node's install_disk overrides it


def node_patch(node: NodeSpec, talos: TalosVersion, kubelet_own: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """`kubelet_own`: the node's own machine.kubelet settings (components.node_kubelets), merged in."""
    machine: dict[str, Any] = {}
    if node.install_disk:
        machine["install"] = {"disk": node.install_disk}
    subnets = [_host_subnet(a) for a in node.addresses]
    kubelet: dict[str, Any] = copy.deepcopy(kubelet_own or {})
    if subnets:
        kubelet["nodeIP"] = {"validSubnets": subnets}
    labels = _labels(node)
    if labels:
        machine["nodeLabels"] = labels
    if node.taints:
        if node.is_control_plane:
            machine["nodeTaints"] = dict(_taint_entry(t) for t in node.taints)
        else:
            # NodeRestriction forbids a kubelet to change taints later; registering with them is allowed
            kubelet.setdefault("extraConfig", {})["registerWithTaints"] = [_taint_object(t) for t in node.taints]
    if kubelet:
        machine["kubelet"] = kubelet
    documents: list[dict[str, Any]] = []
    if not talos.has("HostnameConfig"):
        machine["network"] = {"hostname": node.name}
    main: dict[str, Any] = {"machine": machine}
    if node.is_control_plane and node.access_ip:
        # etcd peers must reach this member where the cluster's members reach each other
        main["cluster"] = {"etcd": {"advertisedSubnets": [_host_subnet(node.access_ip)]}}
    documents.append(main)
    if talos.has("HostnameConfig"):
        documents.append(document("HostnameConfig", hostname=node.name, auto="off"))
    return documents


def restricted_labels(node: NodeSpec) -> list[str]:
    """Labels a worker's kubelet may not set on itself (NodeRestriction): they stay out of its patch."""
    if node.is_control_plane:
        return []
    return sorted(k for k in node.labels if not kubelet_may_set_label(k))


def _labels(node: NodeSpec) -> dict[str, str]:
    blocked = set(restricted_labels(node))
    return {k: str(v) for k, v in sorted(node.labels.items()) if k not in blocked}


def _host_subnet(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return f"{ip}/{ip.max_prefixlen}"


def _split_taint(taint: str) -> tuple[str, str, str]:
    """key=value:Effect or key:Effect."""
    body, _, effect = taint.rpartition(":")
    key, _, value = body.partition("=")
    return key, value, effect


def _taint_entry(taint: str) -> tuple[str, str]:
    key, value, effect = _split_taint(taint)
    return key, f"{value}:{effect}"


def _taint_object(taint: str) -> dict[str, str]:
    key, value, effect = _split_taint(taint)
    entry = {"key": key, "effect": effect}
    if value:
        entry["value"] = value
    return entry
