"""The scheduler: binds pending pods to nodes that are schedulable, tolerated, selected and have room."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from migrate.clock import rfc3339
from migrate.cluster.twin.api import Api
from migrate.cluster.twin.index import ClusterIndex, is_active
from migrate.cluster.twin.quantity import parse_quantity
from migrate.cluster.twin.resources import PODS
from migrate.cluster.twin.store import clone

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated(
    tolerations: list[dict[str, Any]], node: dict[str, Any], effects: tuple[str, ...]
) -> list[dict[str, Any]]:
    return [
        t
        for t in (node.get("spec") or {}).get("taints") or []
        if t.get("effect") in effects and not any(tolerates(tol, t) for tol in tolerations)
    ]


def tolerates_all(tolerations: list[dict[str, Any]], node: dict[str, Any], effects: tuple[str, ...]) -> bool:
    return not untolerated(tolerations, node, effects)


def pod_requests(spec: dict[str, Any]) -> dict[str, float]:
    total: Counter[str] = Counter()
    for container in spec.get("containers") or []:
        for name, value in ((container.get("resources") or {}).get("requests") or {}).items():
            total[name] += parse_quantity(value)
    for container in spec.get("initContainers") or []:  # init containers run one at a time: the largest counts
        for name, value in ((container.get("resources") or {}).get("requests") or {}).items():
            total[name] = max(total[name], parse_quantity(value))
    total["pods"] = 1
    return dict(total)


_ALLOCATABLE: dict[int, tuple[dict[str, Any], dict[str, float]]] = {}  # id(status.allocatable) -> parsed


def _allocatable(node: dict[str, Any]) -> dict[str, float]:
    status = node.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    cached = _ALLOCATABLE.get(id(alloc))
    if cached is not None and cached[0] is alloc:  # stored objects never change: the same dict, the same amounts
        return cached[1]
    parsed = {k: parse_quantity(v) for k, v in alloc.items()} or {"cpu": 4.0, "memory": 16 * 2**30, "pods": 110}
    if alloc:
        if len(_ALLOCATABLE) > 10_000:
            _ALLOCATABLE.clear()
        _ALLOCATABLE[id(alloc)] = (alloc, parsed)
    return parsed


def _static_fit(spec: dict[str, Any], node: dict[str, Any]) -> bool:
    return _static_unfit(spec, node) is None


def _static_unfit(spec: dict[str, Any], node: dict[str, Any]) -> str | None:
    """Cordon, nodeSelector and taints: the reasons a pod cannot go to a node whatever runs there."""
    tolerations = spec.get("tolerations") or []
    if (node.get("spec") or {}).get("unschedulable") and not any(
        tolerates(t, {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}) for t in tolerations
    ):
        return "node(s) were unschedulable"
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return "node(s) didn't match Pod's node affinity/selector"
    taints = untolerated(tolerations, node, ("NoSchedule", "NoExecute"))
    if taints:
        t = taints[0]
        return f"node(s) had untolerated taint {{{t['key']}: {t.get('value', '')}}}"
    return None


def _room(node: dict[str, Any], need: dict[str, float], used: Counter[str]) -> str | None:
    alloc = _allocatable(node)
    for resource, amount in need.items():
        if resource in alloc and used[resource] + amount > alloc[resource] + 1e-9:
            return "Too many pods" if resource == "pods" else f"Insufficient {resource}"
    return None


class Scheduler:
    def __init__(self, api: Api):
        self.api = api
        self._cache: dict[str, tuple[dict[str, Any], dict[str, float]]] = {}
        self._used: dict[str, tuple[int, Counter[str]]] = {}  # node -> (its pods' revision, their requests)
        self._shapes: dict[str, tuple[int, list[str]]] = {}  # pod shape -> (nodes revision, nodes it may go to)
        self._stuck: tuple[int, frozenset[str]] | None = None  # placements seen when these pods last fit nowhere

    def reconcile(self, index: ClusterIndex) -> None:
        pending = sorted(
            (
                p
                for p in index.unbound.values()
                if not p["spec"].get("nodeName")
                and is_active(p)
                and p["spec"].get("schedulerName", "default-scheduler") == "default-scheduler"
            ),
            key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["namespace"], p["metadata"]["name"]),
        )
        if not pending:
            return
        uids = frozenset(p["metadata"]["uid"] for p in pending)
        if self._stuck == (index.placement_rev, uids):
            return  # as the scheduler's unschedulable queue: nothing moved on any node, so nothing fits now either
        used = {name: self._node_used(index, name) for name in index.nodes}
        loads = {name: self._load(used[name], node) for name, node in index.nodes.items()}
        bound = False
        for pod in pending:
            need = self._requests(pod)
            # least allocated first: the first with room is the best feasible node, without checking all 200
            ranked = sorted(self._placeable(index, pod), key=lambda n: (loads[n], n))
            best = next((n for n in ranked if _room(index.nodes[n], need, used[n]) is None), None)
            if best is None:  # the scheduler's message counts every node's reason
                reasons = Counter(self._unfit(pod, node, need, used[name]) or "?" for name, node in index.nodes.items())
                self._mark_unschedulable(pod, len(index.nodes), reasons)
                continue
            self.api.bind(
                pod["metadata"]["namespace"], pod["metadata"]["name"], {"target": {"kind": "Node", "name": best}}
            )
            used[best] = used[best] + Counter(need)
            loads[best] = self._load(used[best], index.nodes[best])
            bound = True
        self._stuck = None if bound else (index.placement_rev, uids)

    def _node_used(self, index: ClusterIndex, name: str) -> Counter[str]:
        """Requests of the pods on a node, summed again only when a pod there changed (never mutated: shared)."""
        rev = index.node_pods_rev.get(name, 0)
        cached = self._used.get(name)
        if cached is None or cached[0] != rev:
            used: Counter[str] = Counter()
            for pod in index.on_node(name):
                if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    used.update(self._requests(pod))
            cached = self._used[name] = (rev, used)
        return cached[1]

    def _placeable(self, index: ClusterIndex, pod: dict[str, Any]) -> list[str]:
        """Nodes whose labels, taints and cordon let this pod shape in (what does not depend on what runs there),
        worked out once per shape while no node's labels or spec change."""
        spec = pod["spec"]
        shape = json.dumps([spec.get("nodeSelector"), spec.get("tolerations")], sort_keys=True)
        cached = self._shapes.get(shape)
        if cached is None or cached[0] != index.nodes_rev:
            names = [name for name, node in index.nodes.items() if _static_fit(spec, node)]
            cached = self._shapes[shape] = (index.nodes_rev, names)
        return cached[1]

    def _requests(self, pod: dict[str, Any]) -> dict[str, float]:
        """Requests per pod, remembered while its spec object is the same (stored objects never change)."""
        uid, spec = pod["metadata"]["uid"], pod["spec"]
        cached = self._cache.get(uid)
        if cached is None or cached[0] is not spec:
            cached = self._cache[uid] = (spec, pod_requests(spec))
        return cached[1]

    def _unfit(
        self, pod: dict[str, Any], node: dict[str, Any], need: dict[str, float], used: Counter[str]
    ) -> str | None:
        return _static_unfit(pod["spec"], node) or _room(node, need, used)

    @staticmethod
    def _load(used: Counter[str], node: dict[str, Any]) -> float:
        """Least-allocated scoring: the mean of cpu and memory fractions requested, then pod count."""
        alloc = _allocatable(node)
        fractions = [used[r] / alloc[r] for r in ("cpu", "memory") if alloc.get(r)]
        return sum(fractions) / max(len(fractions), 1) + used["pods"] / max(alloc.get("pods", 110), 1) / 100

    def _mark_unschedulable(self, pod: dict[str, Any], total: int, reasons: Counter[str]) -> None:
        detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
        message = f"0/{total} nodes are available: {detail}." if total else "no nodes available to schedule pods"
        status = clone(pod.get("status") or {})
        old = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        if old and old.get("message") == message:
            return
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"] + [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastTransitionTime": rfc3339(self.api.store.clock.now()),
            }
        ]
        self.api.store.update(PODS, {**pod, "status": status}, status=True, force=True)
