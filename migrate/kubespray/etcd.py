"""The etcd cluster: deployment type, members and their names and URLs, tuning flags."""
# exercised by tests/kubespray/test_load.py and tests/acceptance/test_real_world.py

from __future__ import annotations

from migrate import spec as s
from migrate.kubespray.inventory import CONTROL_PLANE, ETCD, LoadedInventory
from migrate.kubespray.nodes import node_name
from migrate.kubespray.resolve import Resolution

_ETCD_FLAGS = {
    "heartbeat-interval": "etcd_heartbeat_interval",
    "election-timeout": "etcd_election_timeout",
    "quota-backend-bytes": "etcd_quota_backend_bytes",
    "auto-compaction-retention": "etcd_compaction_retention",
    "max-request-bytes": "etcd_max_request_bytes",
    "snapshot-count": "etcd_snapshot_count",
    "log-level": "etcd_log_level",
}


def etcd(inv: LoadedInventory, r: Resolution, hosts: dict[str, Resolution], nodes: tuple[s.NodeSpec, ...]) -> s.Etcd:
    kind = "kubeadm" if r.value("etcd_kubeadm_enabled", False) else str(r.value("etcd_deployment_type", "host"))
    members_hosts = list(inv.groups.get(ETCD, ())) or (list(inv.groups.get(CONTROL_PLANE, ())) if kind == "kubeadm" else [])
    by_host = {n.name: n for n in nodes}
    names = {h: node_name(hosts[h], h) for h in hosts}
    members = []
    for i, host in enumerate(members_hosts, start=1):
        node = by_host[names[host]]
        address = _url_host(node.access_ip or node.ip or node.name)
        member = node.etcd_member_name if kind != "kubeadm" else None
        members.append(s.EtcdMember(str(member or (node.name if kind == "kubeadm" else f"etcd{i}")), node.name,
                                    f"https://{address}:2380", f"https://{address}:2379"))
    flags = {flag: str(r.value(var)) for flag, var in _ETCD_FLAGS.items() if r.defined(var)}
    extra = r.value("etcd_extra_vars", {}, needed=False)
    if isinstance(extra, dict):
        flags.update({str(k).replace("_", "-"): str(v) for k, v in extra.items()})
    return s.Etcd(
        deployment_type=kind,
        members=tuple(members),
        cert_dir="/etc/kubernetes/ssl/etcd" if kind == "kubeadm" else "/etc/ssl/etcd/ssl",
        data_dir=str(r.value("etcd_data_dir", "/var/lib/etcd")),
        extra_args=flags,
        events_cluster=bool(r.value("etcd_events_cluster_enabled", False)),
    )


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address
