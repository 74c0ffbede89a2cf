"""The scheduler: binds pending pods to nodes that are schedulable, tolerated, selected and have room.

Among those, the default profile's scores pick the node (scoring.py: topology spread, least-allocated,
balanced allocation, PreferNoSchedule taints)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from migrate.clock import rfc3339
from migrate.cluster.placement import UNSCHEDULABLE_TAINT, node_selector_matches, pod_requests, tolerates, untolerated
from migrate.cluster.quantity import parse_quantity
from migrate.cluster.twin.api import Api
from migrate.cluster.twin.index import ClusterIndex, is_active
from migrate.cluster.twin.resources import PODS
from migrate.cluster.twin.scoring import Spread, nonzero_requests, resource_scores, taint_scores, total
from migrate.cluster.twin.store import clone


def _plus(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return a[0] + b[0], a[1] + b[1]


def _allocatable(node: dict[str, Any]) -> dict[str, float]:
    status = node.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    return {k: parse_quantity(v) for k, v in alloc.items()} or {"cpu": 4.0, "memory": 16 * 2**30, "pods": 110}


class Scheduler:
    def __init__(self, api: Api):
        self.api = api
        self._requests_by_uid: dict[str, tuple[dict[str, Any], tuple[dict[str, float], tuple[float, float]]]] = {}

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
        used: dict[str, Counter[str]] = {}
        scored: dict[str, tuple[float, float]] = {}  # non-zero cpu/memory requests, as scoring counts them
        for name in index.nodes:
            used[name] = Counter()
            cpu = memory = 0.0
            for pod in index.on_node(name):
                if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    used[name].update(self._requests(pod))
                    cpu, memory = _plus((cpu, memory), self._nonzero(pod))
            scored[name] = (cpu, memory)
        spread = Spread(self.api.store, index)
        for pod in pending:
            need = self._requests(pod)
            constraints = spread.constraints(pod)
            eligible = {n: node for n, node in index.nodes.items() if node_selector_matches(pod["spec"], node)}
            reasons: Counter[str] = Counter()
            feasible = {}
            for name, node in index.nodes.items():
                why = self._unfit(pod, node, need, used[name]) or spread.unfit(pod, constraints, node, eligible)
                if why:
                    reasons[why] += 1
                else:
                    feasible[name] = node
            if not feasible:
                self._mark_unschedulable(pod, len(index.nodes), reasons)
                continue
            best = self._best(pod, feasible, scored, spread.scores(pod, constraints, feasible))
            self.api.bind(
                pod["metadata"]["namespace"], pod["metadata"]["name"], {"target": {"kind": "Node", "name": best}}
            )
            used[best].update(need)
            scored[best] = _plus(scored[best], self._nonzero(pod))
            spread.bound(pod, best)

    def _best(self, pod: dict[str, Any], feasible: dict[str, dict[str, Any]], scored: dict[str, tuple[float, float]],
              spread: dict[str, int]) -> str:
        """The highest weighted score; ties to the first name (kube-scheduler picks one of them at random)."""
        want = self._nonzero(pod)
        tolerations = pod["spec"].get("tolerations") or []
        taints = taint_scores({n: len(untolerated(tolerations, node, ("PreferNoSchedule",))) for n, node in feasible.items()})
        totals = {n: total(spread[n], *resource_scores(scored[n], want, _allocatable(node)), taints[n])
                  for n, node in feasible.items()}
        return min(feasible, key=lambda n: (-totals[n], n))

    def _nonzero(self, pod: dict[str, Any]) -> tuple[float, float]:
        return self._cache(pod)[1]

    def _requests(self, pod: dict[str, Any]) -> dict[str, float]:
        return self._cache(pod)[0]

    def _cache(self, pod: dict[str, Any]) -> tuple[dict[str, float], tuple[float, float]]:
        """Requests per pod (for fit, for scoring), remembered while its spec object is the same (stored objects never change)."""
        uid, spec = pod["metadata"]["uid"], pod["spec"]
        cached = self._requests_by_uid.get(uid)
        if cached is None or cached[0] is not spec:
            cached = self._requests_by_uid[uid] = (spec, (pod_requests(spec), nonzero_requests(spec)))
        return cached[1]

    def _unfit(
        self, pod: dict[str, Any], node: dict[str, Any], need: dict[str, float], used: Counter[str]
    ) -> str | None:
        spec = pod["spec"]
        tolerations = spec.get("tolerations") or []
        if (node.get("spec") or {}).get("unschedulable") and not any(
            tolerates(t, {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}) for t in tolerations
        ):
            return "node(s) were unschedulable"
        if not node_selector_matches(spec, node):
            return "node(s) didn't match Pod's node affinity/selector"
        taints = untolerated(tolerations, node, ("NoSchedule", "NoExecute"))
        if taints:
            t = taints[0]
            return f"node(s) had untolerated taint {{{t['key']}: {t.get('value', '')}}}"
        alloc = _allocatable(node)
        for resource, amount in need.items():
            if resource in alloc and used[resource] + amount > alloc[resource] + 1e-9:
                return "Too many pods" if resource == "pods" else f"Insufficient {resource}"
        return None

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
