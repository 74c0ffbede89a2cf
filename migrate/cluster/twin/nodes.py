"""Node lifecycle: node health from Lease age, condition taints, NoExecute eviction, pod GC."""
# exercised by tests/cluster/twin/test_kubelet.py

from __future__ import annotations

import uuid
from typing import Any

from migrate.clock import parse_rfc3339, rfc3339
from migrate.cluster.placement import UNSCHEDULABLE_TAINT, tolerates
from migrate.cluster.twin.api import Api
from migrate.cluster.twin.heartbeat import NODE_LEASES, NodeAgents
from migrate.cluster.twin.index import ClusterIndex, is_ready
from migrate.cluster.twin.resources import LEASES, NODES, PODS

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
MONITOR_GRACE = 40.0  # --node-monitor-grace-period (50 s from Kubernetes 1.32)
STARTUP_GRACE = 60.0  # --node-startup-grace-period: a registered node that never reported


def node_manifest(
    name: str,
    address: str,
    *,
    labels: dict[str, str] | None = None,
    taints: list[dict[str, Any]] | None = None,
    kubelet_version: str = "v1.31.4",
    os_image: str = "Talos (v1.12.0)",
    cpu: str = "4",
    memory: str = "16Gi",
    pods: str = "110",
    pod_cidr: str | None = None,
) -> dict[str, Any]:
    """A Node as a kubelet registers it: no conditions yet, its kubelet reports them once started."""
    node: dict[str, Any] = {
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                **(labels or {}),
            },
        },
        "spec": {"taints": list(taints or [])},
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            "capacity": {"cpu": cpu, "memory": memory, "pods": pods},
            "allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
            "nodeInfo": {
                "kubeletVersion": kubelet_version,
                "kubeProxyVersion": kubelet_version,
                "osImage": os_image,
                "kernelVersion": "6.12.0-talos",
                "containerRuntimeVersion": "containerd://2.1.0",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "bootID": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"boot.{name}")),
                "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, f"machine.{name}").hex,
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
            },
        },
    }
    if pod_cidr:
        node["spec"]["podCIDR"] = pod_cidr
        node["spec"]["podCIDRs"] = [pod_cidr]
    return node


class NodeLifecycle:
    """The node lifecycle controller: node health from Lease age, condition taints, pods marked not ready on an
    unreachable node, taint-based eviction, and pod garbage collection for deleted nodes."""

    watches = (NODES, PODS)  # Lease ages are read when a grace period runs out (next_due), not on each renewal

    def __init__(self, api: Api, agents: NodeAgents, monitor_grace: float = MONITOR_GRACE,
                 startup_grace: float = STARTUP_GRACE):
        self.api = api
        self.agents = agents
        self.monitor_grace, self.startup_grace = monitor_grace, startup_grace
        self._health_due: dict[str, float] = {}  # node without a live kubelet -> when it turns Unknown
        self._taint_due: list[float] = []  # when a tolerationSeconds runs out
        self._synced: dict[str, tuple[str | None, str | None, list[Any]]] = {}  # node -> (version, Ready, NoExecute taints)
        self._swept: tuple[int, int] | None = None  # (the nodes' revision, the kubelets' version) of the last sweep
        self._unknown: list[str] = []  # nodes the last sweep found Unknown
        self._tainted: list[tuple[str, list[Any]]] = []  # nodes the last sweep found with NoExecute taints
        # node Leases judged to stay: (the nodes' revision, node uids, lease name -> the ownerReferences judged)
        self._leases_kept: tuple[int, set[str], dict[str, Any]] = (-1, set(), {})
        self._leases_seen: tuple[int, int] | None = None  # (the nodes' revision, the Leases' revision) last looked at

    def reconcile(self, index: ClusterIndex) -> None:
        store = self.api.store
        now = store.clock.now()
        health = min(self._health_due.values(), default=None)
        if self._swept == (index.kind_rev.get(NODES, 0), self.agents.version) and (health is None or now < health):
            # no node written, no kubelet started or stopped, no grace period out: the last sweep's findings stand
            for name in self._unknown:
                self._mark_pods_not_ready(index, name, now)
            tainted = self._tainted
        else:
            tainted = self._sweep(index, now)
        self._evict_untolerated(index, now, tainted)
        if index.by_node.keys() - index.nodes.keys():  # pod GC: the node is gone, so are its pods
            for name in [n for n in index.by_node if n not in index.nodes]:
                for pod in index.on_node(name):
                    store.remove(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        if index.pass_dirty is None or "" in index.pass_dirty:
            self._collect_node_leases(index)

    def _sweep(self, index: ClusterIndex, now: float) -> list[tuple[str, list[Any]]]:
        """Every node: its health from its Lease, its condition taints, its pods when unreachable."""
        self._health_due, self._unknown, tainted = {}, [], []
        for name, node in list(index.nodes.items()):
            if not self.agents.running(name):
                node = self._monitor(node, now)
            synced = self._synced.get(name)
            if synced is None or synced[0] != node["metadata"].get("resourceVersion"):  # all below follows the node
                node = self._taint_by_condition(node, now)
                no_execute = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
                synced = self._synced[name] = (node["metadata"].get("resourceVersion"), _ready_status(node), no_execute)
            if synced[1] == "Unknown":
                self._unknown.append(name)
                self._mark_pods_not_ready(index, name, now)
            if synced[2]:
                tainted.append((name, synced[2]))
        # its own writes above are already judged: only a later node write or kubelet change needs another sweep
        self._swept, self._tainted = (index.kind_rev.get(NODES, 0), self.agents.version), tainted
        return tainted

    def next_due(self, now: float) -> float | None:
        future = [t for t in self._taint_due if t > now] + [t for t in self._health_due.values() if t > now]
        return min(future) if future else None

    def _monitor(self, node: dict[str, Any], now: float) -> dict[str, Any]:
        """No kubelet renews this node's Lease: once the grace period passes, every condition is Unknown."""
        conditions = (node.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if ready is not None and ready.get("status") == "Unknown":
            return node
        created = parse_rfc3339(node["metadata"]["creationTimestamp"])
        if ready is None:
            probe, grace = created, self.startup_grace
        else:
            lease = self.api.store.find(LEASES, NODE_LEASES, node["metadata"]["name"])
            renewed = ((lease or {}).get("spec") or {}).get("renewTime")
            beat = ready.get("lastHeartbeatTime")
            probe = max([parse_rfc3339(t) for t in (renewed, beat) if t] or [created])
            grace = self.monitor_grace
        if now < probe + grace:
            self._health_due[node["metadata"]["name"]] = probe + grace
            return node
        stamp = rfc3339(now)
        fresh = []
        for kind in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready"):
            old = next((c for c in conditions if c.get("type") == kind), None)
            if old is None:
                fresh.append({"type": kind, "status": "Unknown", "lastHeartbeatTime": node["metadata"]["creationTimestamp"],
                              "lastTransitionTime": stamp, "reason": "NodeStatusNeverUpdated",
                              "message": "Kubelet never posted node status."})
            elif old.get("status") != "Unknown":
                fresh.append({**old, "status": "Unknown", "lastTransitionTime": stamp, "reason": "NodeStatusUnknown",
                              "message": "Kubelet stopped posting node status."})
            else:
                fresh.append(old)
        others = [c for c in conditions if c.get("type") not in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")]
        status = {**(node.get("status") or {}), "conditions": others + fresh}
        return self.api.store.update(NODES, {**node, "status": status}, status=True, force=True, owned=True)

    def _mark_pods_not_ready(self, index: ClusterIndex, name: str, now: float) -> None:
        """MarkPodsNotReady: what the node controller does to the pods of a node it cannot hear from."""
        for pod in index.on_node(name):
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") or not is_ready(pod):
                continue
            conditions = [{**c, "status": "False", "lastTransitionTime": rfc3339(now)} if c.get("type") == "Ready" else c
                          for c in pod["status"].get("conditions") or []]
            status = {**pod["status"], "conditions": conditions} if pod["status"].get("conditions") else pod["status"]
            self.api.store.update(PODS, {**pod, "status": status}, status=True, force=True, owned=True)
            self.agents.mark_unready(name, pod["metadata"]["uid"])

    def _collect_node_leases(self, index: ClusterIndex) -> None:
        """The garbage collector's share: a node Lease goes with the Node that owns it."""
        seen = (index.nodes_rev, index.kind_rev.get(LEASES, 0))
        if seen == self._leases_seen:  # no node came or went and no Lease was written since the last look
            return
        self._leases_seen = seen
        if self._leases_kept[0] != index.nodes_rev:  # a node came or went (its uid with it), or was relabelled
            uids = {n["metadata"]["uid"] for n in index.nodes.values()}
            # a Lease judged to stay keeps an owner while no uid is gone
            kept = self._leases_kept[2] if not self._leases_kept[1] - uids else {}
            self._leases_kept = (index.nodes_rev, uids, kept)
        _, uids, kept = self._leases_kept
        for lease in list(self.api.store.objects(LEASES, NODE_LEASES)):
            refs, name = lease["metadata"].get("ownerReferences"), lease["metadata"]["name"]
            if kept.get(name, False) is refs:  # renewals keep the same list: judged already, against the same nodes
                continue
            owners = [r for r in refs or [] if r.get("kind") == "Node"]
            if owners and not any(r.get("uid") in uids for r in owners):
                self.api.store.remove(LEASES, NODE_LEASES, name)
            else:
                kept[name] = refs

    def _taint_by_condition(self, node: dict[str, Any], now: float) -> dict[str, Any]:
        """What the node lifecycle controller keeps in sync: not-ready and unschedulable taints."""
        taints = list((node.get("spec") or {}).get("taints") or [])
        wanted = []
        ready = _ready_status(node)
        if ready == "Unknown":
            wanted += [{"key": UNREACHABLE_TAINT, "effect": "NoSchedule"}, {"key": UNREACHABLE_TAINT, "effect": "NoExecute"}]
        elif ready == "False":
            wanted += [{"key": NOT_READY_TAINT, "effect": "NoSchedule"}, {"key": NOT_READY_TAINT, "effect": "NoExecute"}]
        elif ready is None:  # registered, never reported: the admission plugin's taint stays
            wanted.append({"key": NOT_READY_TAINT, "effect": "NoSchedule"})
        if (node.get("spec") or {}).get("unschedulable"):
            wanted.append({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"})
        managed = {NOT_READY_TAINT, UNREACHABLE_TAINT, UNSCHEDULABLE_TAINT}
        kept = [t for t in taints if t.get("key") not in managed or any(_same_taint(t, w) for w in wanted)]
        for w in wanted:
            if not any(_same_taint(t, w) for t in kept):
                kept.append({**w, "timeAdded": rfc3339(now)} if w["effect"] == "NoExecute" else w)
        if kept == taints:
            return node
        return self.api.store.update(NODES, {**node, "spec": {**(node.get("spec") or {}), "taints": kept}}, force=True)

    def _evict_untolerated(self, index: ClusterIndex, now: float, tainted: list[tuple[str, list[Any]]]) -> None:
        """NoExecute taints (per node) evict pods that do not tolerate them (after tolerationSeconds, if set)."""
        self._taint_due = []
        for name, taints in tainted:
            for pod in index.on_node(name):
                if pod["metadata"].get("deletionTimestamp"):
                    continue
                if any(self._expired(pod, taint, now, self._taint_due) for taint in taints):
                    self.api.retire(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])

    @staticmethod
    def _expired(pod: dict[str, Any], taint: dict[str, Any], now: float, due: list[float]) -> bool:
        matching = [t for t in pod["spec"].get("tolerations") or [] if tolerates(t, taint)]
        if not matching:
            return True
        if any(t.get("tolerationSeconds") is None for t in matching):
            return False
        added = parse_rfc3339(taint["timeAdded"]) if taint.get("timeAdded") else now
        deadline = added + float(min(t["tolerationSeconds"] for t in matching))
        due.append(deadline)
        return now >= deadline


def _ready_status(node: dict[str, Any]) -> str | None:
    return next((c.get("status") for c in (node.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Ready"), None)


def _same_taint(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("key") == b.get("key") and a.get("effect") == b.get("effect")
