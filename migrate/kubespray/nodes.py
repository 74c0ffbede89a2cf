"""The hosts as Kubernetes nodes: names, roles, addresses, labels and taints, and the checks on them."""
# exercised by tests/kubespray/test_load.py and tests/kubespray/test_errors.py

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from migrate import spec as s
from migrate.errors import UserError
from migrate.kubespray.inventory import CLUSTER, CONTROL_PLANE, ETCD, WORKERS, LoadedInventory
from migrate.kubespray.resolve import Resolution

# a Kubernetes node name is a DNS subdomain (RFC 1123); kubelet lowercases the host name it registers
_NODE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.IGNORECASE)


def node_name(r: Resolution, inventory_name: str) -> str:
    override = r.value("kube_override_hostname", None, needed=False)
    name = str(override) if override else inventory_name
    if len(name) > 253 or not _NODE_NAME.fullmatch(name):
        overridden = override and r.set_by_inventory("kube_override_hostname")
        field = "kube_override_hostname" if overridden else "host name"
        raise UserError(
            f"{field} {_shown(name)} (inventory host {_shown(inventory_name)}) is not a valid Kubernetes node name",
            where=r.where("kube_override_hostname") if overridden else r.inventory.host_line(inventory_name),
            hint="a node name is letters, digits, '-' and '.' (RFC 1123, at most 253 characters), as Kubernetes requires",
        )
    return name


def _shown(text: str) -> str:
    """A name from the inventory as a short quoted literal (control characters visible, never run on)."""
    return repr(text[:80] + ("…" if len(text) > 80 else ""))


def node(inv: LoadedInventory, name: str, r: Resolution, kubelet_config: dict[str, Any],
         observed: Mapping[str, str] | None = None) -> s.NodeSpec:
    """`observed`: addresses seen at run time (gathered facts, the Node's InternalIP) by inventory or node name:
    what Kubespray itself falls back to (ansible_default_ipv4) when a host sets no ip."""
    roles = []
    if name in inv.groups.get(CONTROL_PLANE, ()):
        roles.append(s.ROLE_CONTROL_PLANE)
    if name in inv.groups.get(WORKERS, ()):
        roles.append(s.ROLE_WORKER)
    if name in inv.groups.get(ETCD, ()):
        roles.append(s.ROLE_ETCD)
    ip = _address(r, name, "ip")
    ansible_host = r.raw("ansible_host") or r.raw("ansible_ssh_host")  # ansible_ssh_host: Ansible < 2.0 spelling
    if not ip:
        seen = (observed or {}).get(name) or (observed or {}).get(node_name(r, name))
        ip = _literal_address(seen) or _literal_address(ansible_host) or _literal_address(name)
    labels = r.value("node_labels", {}) or {}
    taints = r.value("node_taints", []) or []
    _check_labels_and_taints(r, name, labels, taints)
    return s.NodeSpec(
        name=node_name(r, name),
        roles=tuple(roles),
        ip=str(ip) if ip else None,
        access_ip=str(_address(r, name, "access_ip") or ip) if (r.value("access_ip") or ip) else None,
        ip6=_address(r, name, "ip6"),
        ansible_host=str(ansible_host) if ansible_host else None,
        etcd_member_name=_member_name(inv, name, r),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        taints=tuple(str(t) for t in taints) if isinstance(taints, list) else (),
        kubelet_config=kubelet_config,
    )


def _member_name(inv: LoadedInventory, name: str, r: Resolution) -> str | None:
    """etcd<N> by position in the etcd group (Kubespray's default template), unless the inventory names it; the node name under kubeadm."""
    kubeadm = r.value("etcd_kubeadm_enabled", False) or r.value("etcd_deployment_type", "host") == "kubeadm"
    members = inv.groups.get(ETCD, ()) or (inv.groups.get(CONTROL_PLANE, ()) if kubeadm else ())
    if name not in members:
        return None
    if kubeadm:  # kubeadm runs etcd as a static pod named after the node: etcd_member_name is not used
        return node_name(r, name)
    if r.set_by_inventory("etcd_member_name") and r.value("etcd_member_name"):
        return str(r.value("etcd_member_name"))
    return f"etcd{members.index(name) + 1}"


def _check_labels_and_taints(r: Resolution, host: str, labels: Any, taints: Any) -> None:
    """Kubespray runs `kubectl label/taint` with these: a dict of strings, and a list of key=value:Effect strings."""
    if not isinstance(labels, dict):
        raise UserError(f"node_labels of host {host} must be a mapping of label to value, not {type(labels).__name__}",
                        where=r.where("node_labels"), hint="write node_labels: {\"role\": \"db\"}")
    bad = [t for t in (taints if isinstance(taints, list) else [taints]) if not isinstance(t, str) or ":" not in t]
    if bad:
        raise UserError(
            f"node_taints of host {host} must be strings like 'key=value:NoSchedule', not {bad[0]!r}",
            where=r.where("node_taints"),
            hint="Kubespray passes each entry to `kubectl taint`; write e.g. - \"dedicated=db:NoSchedule\"",
        )


def _address(r: Resolution, host: str, field: str) -> str | None:
    """An address variable as written, checked: Kubespray passes it to kubelet and etcd as is."""
    value = r.value(field, None)
    if value in (None, ""):
        return None
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise UserError(f"{field} of host {host} is not an IP address: {_shown(str(value))}", where=r.where(field),
                        hint=f"{field} is the address Kubernetes uses for the node; write one address, e.g. 10.0.0.11") from None


def _literal_address(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value))) if value else None
    except ValueError:
        return None


def check_addresses(nodes: tuple[s.NodeSpec, ...], hosts: dict[str, Resolution]) -> None:
    by_ip: dict[str, str] = {}
    by_host: dict[str, str] = {}
    for node, (inv_name, r) in zip(nodes, hosts.items(), strict=True):
        if node.ip is not None and not r.defined("ip") and node.ansible_host:
            other = by_host.setdefault(node.ansible_host, inv_name)
            if other != inv_name:
                raise UserError(
                    f"hosts {other} and {inv_name} share ansible_host {node.ansible_host} and set no ip: "
                    "their node addresses cannot be told apart",
                    where=r.inventory.host_line(inv_name),
                    hint="set ip on each host (the address Kubernetes uses); a shared ansible_host is a jump host or NAT",
                )
        if node.ip is None:
            continue
        if node.ip in by_ip and r.defined("ip"):
            raise UserError(
                f"hosts {by_ip[node.ip]} and {inv_name} both have the address {node.ip}",
                where=r.inventory.host_line(inv_name),
                hint="every node needs its own ip; fix the copy-paste in the inventory",
            )
        by_ip[node.ip] = inv_name


def require_control_plane(inv: LoadedInventory) -> str:
    """The first control plane: Kubespray renders kubeadm's config there."""
    cps = inv.groups.get(CONTROL_PLANE, ())
    if not cps:
        known = list(inv.declared_groups)
        raise UserError(
            "no control-plane hosts: the inventory has no hosts in kube_control_plane (or legacy kube-master)",
            where=str(inv.sources[0]),
            hint=f"groups found: {', '.join(known) or 'none'}; put the control-plane hosts in kube_control_plane",
        )
    if not inv.groups.get(CLUSTER):
        raise UserError("the inventory has no Kubernetes hosts", where=str(inv.sources[0]))
    return cps[0]
