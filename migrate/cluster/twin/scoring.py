"""Where a pod goes among the nodes that fit: kube-scheduler's default scoring, in the parts placement shows.

PodTopologySpread (weight 2): the pod's own `topologySpreadConstraints`, or, for pods that a Service,
ReplicaSet or StatefulSet selects, the system defaults (maxSkew 3 per hostname, 5 per zone, ScheduleAnyway);
`DoNotSchedule` constraints also filter. NodeResourcesFit LeastAllocated and BalancedAllocation (weight 1
each) on cpu and memory with the scheduler's non-zero request defaults; TaintToleration (weight 3) against
PreferNoSchedule taints. Ties go to the first node by name (kube-scheduler draws one at random).
"""
# exercised by tests/cluster/twin/test_scheduler.py

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from migrate.cluster.quantity import parse_quantity
from migrate.cluster.twin.index import ClusterIndex, controller_ref
from migrate.cluster.twin.resources import REPLICASETS, SERVICES, STATEFULSETS
from migrate.cluster.twin.selectors import EVERYTHING, LabelSelector, Requirement, from_label_selector
from migrate.cluster.twin.store import Store

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
MAX_SCORE = 100
WEIGHTS = {"spread": 2, "least": 1, "balanced": 1, "taints": 3}
DEFAULT_CPU, DEFAULT_MEMORY = 0.1, 200 * 2**20  # schedutil's non-zero requests for containers that ask none
UNMATCHED = "node(s) didn't match pod topology spread constraints"


@dataclass(frozen=True)
class Constraint:
    max_skew: int
    key: str
    selector: LabelSelector
    hard: bool  # whenUnsatisfiable: DoNotSchedule


def nonzero_requests(spec: dict[str, Any]) -> tuple[float, float]:
    """(cpu cores, memory bytes) as scoring counts them: a container without a request counts the default."""
    cpu = memory = 0.0
    for container in spec.get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += parse_quantity(requests["cpu"]) if "cpu" in requests else DEFAULT_CPU
        memory += parse_quantity(requests["memory"]) if "memory" in requests else DEFAULT_MEMORY
    return cpu, memory


def resource_scores(used: tuple[float, float], pod: tuple[float, float], alloc: dict[str, float]) -> tuple[int, int]:
    """(LeastAllocated, BalancedAllocation), each 0..100, with the pod's requests added to the node's."""
    fractions, least = [], []
    for (have, want), name in zip(zip(used, pod, strict=True), ("cpu", "memory"), strict=True):
        capacity = alloc.get(name) or 0
        requested = have + want
        least.append(0 if not capacity or requested > capacity else int((capacity - requested) * MAX_SCORE / capacity))
        fractions.append(min(requested / capacity, 1.0) if capacity else 1.0)
    std = abs(fractions[0] - fractions[1]) / 2
    return sum(least) // len(least), int((1 - std) * MAX_SCORE)


def taint_scores(untolerated: dict[str, int]) -> dict[str, int]:
    """TaintToleration: fewer untolerated PreferNoSchedule taints score higher (normalised, reversed)."""
    most = max(untolerated.values(), default=0)
    return {name: MAX_SCORE - (MAX_SCORE * n // most if most else 0) for name, n in untolerated.items()}


class Spread:
    """Topology spreading for one scheduling pass: pod counts per node, kept current as pods are bound."""

    def __init__(self, store: Store, index: ClusterIndex) -> None:
        self.store, self.index = store, index
        self._counts: dict[tuple[str, LabelSelector], Counter[str]] = {}
        self._services: dict[str, list[dict[str, str]]] | None = None  # selectors by namespace, read once a pass

    def constraints(self, pod: dict[str, Any]) -> list[Constraint]:
        explicit = pod["spec"].get("topologySpreadConstraints") or []
        if explicit:
            return [Constraint(int(c.get("maxSkew", 1)), c.get("topologyKey", ""),
                               from_label_selector(c["labelSelector"]) if c.get("labelSelector") else EVERYTHING,
                               c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule") for c in explicit]
        selector = self._default_selector(pod)
        if selector.empty:
            return []
        return [Constraint(3, HOSTNAME, selector, False), Constraint(5, ZONE, selector, False)]

    def _default_selector(self, pod: dict[str, Any]) -> LabelSelector:
        """helper.DefaultSelector: the Services that select the pod, and its ReplicaSet's or StatefulSet's selector."""
        meta = pod["metadata"]
        labels = meta.get("labels") or {}
        requirements: list[Requirement] = []
        if self._services is None:
            self._services = {}
            for svc in self.store.objects(SERVICES):
                wanted = (svc.get("spec") or {}).get("selector")
                if wanted:
                    self._services.setdefault(svc["metadata"]["namespace"], []).append(wanted)
        for wanted in self._services.get(meta["namespace"], []):
            if all(labels.get(k) == v for k, v in wanted.items()):
                requirements += [Requirement(k, "=", frozenset([v])) for k, v in wanted.items()]
        ref = controller_ref(pod)
        rt = {"ReplicaSet": REPLICASETS, "StatefulSet": STATEFULSETS}.get(ref["kind"]) if ref else None
        owner = self.store.find(rt, meta["namespace"], ref["name"]) if rt and ref else None
        if owner is not None:
            requirements += from_label_selector((owner.get("spec") or {}).get("selector") or {}).requirements
        return LabelSelector(tuple(dict.fromkeys(requirements)))

    def _on_nodes(self, namespace: str, selector: LabelSelector) -> Counter[str]:
        key = (namespace, selector)
        if key not in self._counts:
            self._counts[key] = Counter(p["spec"]["nodeName"] for p in self.index.in_namespace(namespace)
                                        if p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp")
                                        and selector.matches(p["metadata"].get("labels")))
        return self._counts[key]

    def bound(self, pod: dict[str, Any], node: str) -> None:
        for (namespace, selector), counts in self._counts.items():
            if namespace == pod["metadata"]["namespace"] and selector.matches(pod["metadata"].get("labels")):
                counts[node] += 1

    def _domains(self, pod: dict[str, Any], c: Constraint, nodes: dict[str, dict[str, Any]]) -> Counter[str]:
        counts = self._on_nodes(pod["metadata"]["namespace"], c.selector)
        domains: Counter[str] = Counter()
        for name, node in nodes.items():
            value = (node["metadata"].get("labels") or {}).get(c.key)
            if value is not None:
                domains[value] += counts[name]
        return domains

    def unfit(self, pod: dict[str, Any], constraints: list[Constraint], node: dict[str, Any],
              eligible: dict[str, dict[str, Any]]) -> str | None:
        """The DoNotSchedule constraints: placing here must keep each domain within maxSkew of the emptiest."""
        labels = node["metadata"].get("labels") or {}
        for c in constraints:
            if not c.hard:
                continue
            if c.key not in labels:
                return UNMATCHED + " (missing required label)"
            domains = self._domains(pod, c, eligible)
            own = 1 if c.selector.matches(pod["metadata"].get("labels")) else 0
            if domains[labels[c.key]] + own - min(domains.values(), default=0) > c.max_skew:
                return UNMATCHED
        return None

    def scores(self, pod: dict[str, Any], constraints: list[Constraint], feasible: dict[str, dict[str, Any]]) -> dict[str, int]:
        """PodTopologySpread Score + NormalizeScore: fewer matching pods in a node's domains scores higher."""
        soft = [c for c in constraints if not c.hard]
        if not soft:
            return {name: MAX_SCORE for name in feasible}
        raw: dict[str, float] = {name: 0.0 for name in feasible}
        for c in soft:
            domains = self._domains(pod, c, feasible)
            weight = math.log(len(domains) + 2)
            for name, node in feasible.items():
                value = (node["metadata"].get("labels") or {}).get(c.key)
                if value is not None:
                    raw[name] += domains[value] * weight + (c.max_skew - 1)
        rounded = {name: round(s) for name, s in raw.items()}
        high, low = max(rounded.values()), min(rounded.values())
        if high == 0:
            return {name: MAX_SCORE for name in feasible}
        return {name: int(MAX_SCORE * (high + low - s) / high) for name, s in rounded.items()}


def total(spread: int, least: int, balanced: int, taints: int) -> int:
    return WEIGHTS["spread"] * spread + WEIGHTS["least"] * least + WEIGHTS["balanced"] * balanced + WEIGHTS["taints"] * taints
