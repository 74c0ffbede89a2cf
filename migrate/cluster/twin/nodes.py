"""Node lifecycle: a provisioner that brings new nodes to Ready, condition taints, NoExecute eviction, pod GC."""
# exercised by tests/cluster/twin/test_kubelet.py

from __future__ import annotations

import uuid
from typing import Any

from migrate.clock import parse_rfc3339, rfc3339
from migrate.cluster.twin.api import Api
from migrate.cluster.twin.index import ClusterIndex, is_ready
from migrate.cluster.twin.resources import NODES, PODS
from migrate.cluster.twin.scheduler import UNSCHEDULABLE_TAINT, tolerates
from migrate.cluster.twin.store import clone

NOT_READY_TAINT = "node.kubernetes.io/not-ready"


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
    """A Node as a kubelet registers it: no conditions yet, the provisioner makes it Ready later."""
    node = {
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
    def __init__(self, api: Api, ready_delay: float = 5.0):
        self.api = api
        self.ready_delay = ready_delay
        self._registered: dict[str, float] = {}  # node uid -> when first seen without a Ready condition
        self._taint_due: list[float] = []  # when a tolerationSeconds runs out

    def reconcile(self, index: ClusterIndex) -> None:
        store = self.api.store
        now = store.clock.now()
        for node in list(index.nodes.values()):
            node = self._provision(node, now)
            self._taint_by_condition(node, now)
        self._evict_untolerated(index, now)
        for name in [n for n in index.by_node if n not in index.nodes]:  # pod GC: the node is gone, so are its pods
            for pod in index.on_node(name):
                store.remove(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])

    def next_due(self, now: float) -> float | None:
        future = [t + self.ready_delay for t in self._registered.values() if t + self.ready_delay > now]
        future += [t for t in self._taint_due if t > now]
        return min(future) if future else None

    def _provision(self, node: dict[str, Any], now: float) -> dict[str, Any]:
        conditions = (node.get("status") or {}).get("conditions") or []
        uid = node["metadata"]["uid"]
        if any(c.get("type") == "Ready" for c in conditions) and uid not in self._registered:
            return node
        since = self._registered.setdefault(uid, now)
        ready = now >= since + self.ready_delay
        if ready:
            del self._registered[uid]
        stamp = rfc3339(now)
        status = clone(node.get("status") or {})
        status["conditions"] = [c for c in conditions if c.get("type") != "Ready"] + [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": stamp,
                "reason": "KubeletReady" if ready else "KubeletNotReady",
                "message": "kubelet is posting ready status"
                if ready
                else "container runtime status check may not have completed yet",
            }
        ]
        return self.api.store.update(NODES, {**node, "status": status}, status=True, force=True)

    def _taint_by_condition(self, node: dict[str, Any], now: float) -> dict[str, Any]:
        """What the node lifecycle controller keeps in sync: not-ready and unschedulable taints."""
        taints = list((node.get("spec") or {}).get("taints") or [])
        wanted = []
        if not is_ready(node):
            wanted += [
                {"key": NOT_READY_TAINT, "effect": "NoSchedule"},
                {"key": NOT_READY_TAINT, "effect": "NoExecute"},
            ]
        if (node.get("spec") or {}).get("unschedulable"):
            wanted.append({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"})
        managed = {NOT_READY_TAINT, UNSCHEDULABLE_TAINT}
        kept = [t for t in taints if t.get("key") not in managed or any(_same_taint(t, w) for w in wanted)]
        for w in wanted:
            if not any(_same_taint(t, w) for t in kept):
                kept.append({**w, "timeAdded": rfc3339(now)} if w["effect"] == "NoExecute" else w)
        if kept == taints:
            return node
        return self.api.store.update(NODES, {**node, "spec": {**node["spec"], "taints": kept}}, force=True)

    def _evict_untolerated(self, index: ClusterIndex, now: float) -> None:
        """NoExecute taints evict pods that do not tolerate them (after tolerationSeconds, if set)."""
        self._taint_due = []
        for name, node in index.nodes.items():
            taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
            if not taints:
                continue
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
        deadline = added + min(t["tolerationSeconds"] for t in matching)
        due.append(deadline)
        return now >= deadline


def _same_taint(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("key") == b.get("key") and a.get("effect") == b.get("effect")
