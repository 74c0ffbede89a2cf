"""PodTopologySpread, as kube-scheduler's plugin filters and scores (pkg/scheduler/framework/plugins/podtopologyspread).

A pod's own `topologySpreadConstraints`, or, for pods that a Service, ReplicaSet or StatefulSet selects, the
system defaults (maxSkew 3 per hostname, 5 per zone, ScheduleAnyway). Matching pods are counted per node once
a pass and kept current as pods are bound; per domain (zone) they are summed over every node the pod's
nodeSelector admits (nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore: the defaults), not only over the
nodes that fit, as the plugin's PreFilter and PreScore do.
"""
# exercised by tests/cluster/twin/test_scheduler.py

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from migrate.cluster.twin.index import controller_ref
from migrate.cluster.twin.nodeinfo import ZONE, NodeInfo
from migrate.cluster.twin.nodetable import Flags, Ints, NodeTable
from migrate.cluster.twin.resources import REPLICASETS, SERVICES, STATEFULSETS
from migrate.cluster.twin.scoring import MAX_SCORE
from migrate.cluster.twin.selectors import EVERYTHING, LabelSelector, Requirement, from_label_selector
from migrate.cluster.twin.store import Store

HOSTNAME = "kubernetes.io/hostname"
UNMATCHED = "node(s) didn't match pod topology spread constraints"


@dataclass(frozen=True)
class Constraint:
    max_skew: int
    key: str
    selector: LabelSelector
    hard: bool  # whenUnsatisfiable: DoNotSchedule


@dataclass
class Domains:
    """Matching pods per value of one topology key, over the nodes that count for one pod's constraints."""

    key: str
    counts: dict[str, int]
    members: dict[str, str]  # node name -> its value, for the nodes that count
    by_value: Ints  # counts again, by the node table's number for each value of the key


@dataclass
class LabelGroup:
    labels: dict[str, str]
    on_nodes: dict[str, int]  # bound, live pods with these labels per node


@dataclass(frozen=True)
class HardCheck:
    """One DoNotSchedule constraint, ready for the Filter: placing here keeps the skew within maxSkew."""

    key: str
    max_skew: int
    counts: dict[str, int]
    floor: int  # the emptiest domain's count
    own: int  # 1 when the pod matches its own selector


LabelKey = tuple[tuple[str, str], ...]  # a label set, sorted: the replicas of one set share it


class Spread:
    """Topology spreading. The bound, live pods are counted per namespace, label set and node across passes, kept
    current from the pods NodeInfos saw come and go and from the scheduler's own binds; per selector, per node
    and per domain while the node list holds; the default constraints are worked out again each pass."""

    def __init__(self, store: Store, table: NodeTable) -> None:
        self.store, self.table = store, table
        self.infos: dict[str, NodeInfo] = {}
        self._groups: dict[str, dict[LabelKey, LabelGroup]] = {}  # namespace -> its bound, live pods by labels
        self._counts: dict[tuple[str, LabelSelector], dict[str, int]] = {}  # matching pods per node
        self._selectors: dict[str, list[LabelSelector]] = {}  # namespace -> the selectors counted there
        self._matching: dict[tuple[str, LabelKey], list[LabelSelector]] = {}  # of those, the ones a label set matches
        self._bound: dict[str, tuple[str, str, LabelKey, dict[str, str]]] = {}  # uid -> binds not yet seen as moves
        self._hosts: dict[tuple[str, LabelSelector], Ints] = {}  # _counts again, by node-list position
        self._members: dict[tuple[Any, ...], tuple[dict[str, str], dict[str, int]]] = {}
        self._domains: dict[tuple[Any, ...], Domains] = {}
        self._by_selector: dict[tuple[str, LabelSelector], list[Domains]] = {}
        self._defaults: dict[tuple[Any, ...], list[Constraint]] = {}
        self._services: dict[str, list[dict[str, str]]] | None = None  # selectors by namespace, read once a pass

    def begin(self, infos: dict[str, NodeInfo], table: NodeTable, moves: list[tuple[str, dict[str, Any], int]]) -> None:
        """A new pass: count the pods that came and went, and forget what the node list or the Services decide."""
        self.infos = infos
        if table is not self.table:
            self.table, self._hosts, self._members, self._domains, self._by_selector = table, {}, {}, {}, {}
        self._defaults, self._services = {}, None
        bound = self._bound
        for node, pod, delta in moves:
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            labels = meta.get("labels") or {}
            key = tuple(sorted(labels.items()))
            if delta > 0 and bound.get(meta["uid"], ())[1:3] == (node, key):
                del bound[meta["uid"]]  # counted when it was bound
                continue
            self._move(meta["namespace"], labels, key, node, delta)
        for namespace, node, key, labels in bound.values():  # bound, then gone before the index listed it
            self._move(namespace, labels, key, node, -1)
        bound.clear()

    def _move(self, namespace: str, labels: dict[str, str], key: LabelKey, node: str, delta: int) -> None:
        groups = self._groups.setdefault(namespace, {})
        group = groups.get(key) or groups.setdefault(key, LabelGroup(labels, {}))
        _add(group.on_nodes, node, delta)
        matching = self._matching.get((namespace, key))
        if matching is None:
            matching = self._matching[(namespace, key)] = [
                selector for selector in self._selectors.get(namespace, ()) if selector.matches(labels)]
        for selector in matching:
            _add(self._counts[(namespace, selector)], node, delta)
            hosts = self._hosts.get((namespace, selector))
            where = self.table.position.get(node)
            if hosts is not None and where is not None:
                hosts[where] += delta
            for domains in self._by_selector.get((namespace, selector), ()):
                value = domains.members.get(node)
                if value is not None:
                    domains.counts[value] += delta
                    domains.by_value[self.table.topology(domains.key)[2][value]] += delta

    def constraints(self, pod: dict[str, Any]) -> list[Constraint]:
        explicit = pod["spec"].get("topologySpreadConstraints") or []
        if explicit:
            return [Constraint(int(c.get("maxSkew", 1)), c.get("topologyKey", ""),
                               from_label_selector(c["labelSelector"]) if c.get("labelSelector") else EVERYTHING,
                               c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule") for c in explicit]
        meta = pod["metadata"]
        ref = controller_ref(pod)
        key = (meta["namespace"], tuple(sorted((meta.get("labels") or {}).items())),
               (ref["kind"], ref["name"]) if ref else None)
        if key not in self._defaults:  # the replicas of one set share labels and owner: one answer for all
            selector = self._default_selector(pod)
            self._defaults[key] = [] if selector.empty else [Constraint(3, HOSTNAME, selector, False),
                                                             Constraint(5, ZONE, selector, False)]
        return self._defaults[key]

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

    def _on_nodes(self, namespace: str, selector: LabelSelector) -> dict[str, int]:
        key = (namespace, selector)
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = {}
            for group in self._groups.get(namespace, {}).values():
                if selector.matches(group.labels):
                    for node, n in group.on_nodes.items():
                        counts[node] = counts.get(node, 0) + n
            self._selectors.setdefault(namespace, []).append(selector)
            self._matching = {k: v for k, v in self._matching.items() if k[0] != namespace}
        return counts

    def _host_counts(self, namespace: str, selector: LabelSelector) -> Ints:
        counts = self._hosts.get((namespace, selector))
        if counts is None:
            counts = self._hosts[(namespace, selector)] = np.zeros(len(self.table.names), np.int64)
            position = self.table.position
            for node, n in self._on_nodes(namespace, selector).items():
                if node in position:
                    counts[position[node]] = n
        return counts

    def _domains_of(self, namespace: str, c: Constraint, required: tuple[str, ...], admits: dict[str, bool],
                    signature: str) -> Domains:
        """Matching pods per value of c.key over the nodes the pod's selector admits that carry every required key
        (a node without the key counts under "", as the plugin reads a missing label)."""
        key = (namespace, c.selector, c.key, required, signature)
        domains = self._domains.get(key)
        if domains is None:
            members, zeros = self._value_of(c.key, required, admits, signature)
            counts = dict(zeros)
            for name, n in self._on_nodes(namespace, c.selector).items():
                value = members.get(name)
                if value is not None:
                    counts[value] += n
            ids = self.table.topology(c.key)[2]
            by_value = np.zeros(len(ids), np.int64)
            for value, n in counts.items():
                by_value[ids[value]] = n
            domains = self._domains[key] = Domains(c.key, counts, members, by_value)
            self._by_selector.setdefault((namespace, c.selector), []).append(domains)
        return domains

    def _value_of(self, key: str, required: tuple[str, ...], admits: dict[str, bool],
                  signature: str) -> tuple[dict[str, str], dict[str, int]]:
        """Each counted node's value of the key, and every value at zero: shared by all selectors in a pass."""
        cached = self._members.get((key, required, signature))
        if cached is None:
            members = {name: info.labels.get(key, "") for name, info in self.infos.items()
                       if admits[name] and all(k in info.labels for k in required)}
            cached = self._members[(key, required, signature)] = members, dict.fromkeys(members.values(), 0)
        return cached

    def bound(self, pod: dict[str, Any], node: str) -> None:
        meta = pod["metadata"]
        labels = meta.get("labels") or {}
        key = tuple(sorted(labels.items()))
        self._bound[meta["uid"]] = (meta["namespace"], node, key, labels)
        self._move(meta["namespace"], labels, key, node, 1)

    def hard(self, pod: dict[str, Any], constraints: list[Constraint], admits: dict[str, bool],
             signature: str) -> list[HardCheck]:
        """The DoNotSchedule constraints' PreFilter: counts over the admitted nodes that carry every hard key."""
        hard = [c for c in constraints if c.hard]
        required = tuple(c.key for c in hard)
        labels = pod["metadata"].get("labels")
        checks = []
        for c in hard:
            counts = self._domains_of(pod["metadata"]["namespace"], c, required, admits, signature).counts
            checks.append(HardCheck(c.key, c.max_skew, counts, min(counts.values(), default=0),
                                    1 if c.selector.matches(labels) else 0))
        return checks

    def scores(self, pod: dict[str, Any], constraints: list[Constraint], chosen: Ints, admits: dict[str, bool],
               signature: str) -> Ints:
        """Score + NormalizeScore over the chosen node-list positions: fewer matching pods in a node's domains
        scores higher. The raw score adds each constraint's term in turn, as kube-scheduler does per node."""
        soft = [c for c in constraints if not c.hard]
        if not soft:
            return np.full(len(chosen), MAX_SCORE, np.int64)
        namespace, table = pod["metadata"]["namespace"], self.table
        # the system defaults score nodes without a zone label by hostname alone; explicit constraints ignore them
        required = tuple(c.key for c in soft) if pod["spec"].get("topologySpreadConstraints") else ()
        scored: Flags = np.ones(len(chosen), dtype=bool)
        for key in required:
            scored &= table.topology(key)[0][chosen]
        raw = np.zeros(len(chosen))
        for c in soft:
            has, value, ids = table.topology(c.key)
            if c.key == HOSTNAME:  # the node's own pods; as many domains as nodes scored
                counts = self._host_counts(namespace, c.selector)[chosen]
                weight = math.log(int(scored.sum()) + 2)
            else:
                values = value[chosen]
                counts = self._domains_of(namespace, c, required, admits, signature).by_value[values]
                weight = math.log(np.count_nonzero(np.bincount(values[scored], minlength=len(ids))) + 2)
            raw += np.where(has[chosen], counts * weight + (c.max_skew - 1), 0.0)
        rounded = (raw + 0.5).astype(np.int64)  # Go's math.Round: halves away from zero (raw is never negative)
        kept = rounded[scored]
        high, low = (int(kept.max()), int(kept.min())) if len(kept) else (0, 0)
        if high == 0:
            return np.where(scored, MAX_SCORE, 0)
        normalized: Ints = np.where(scored, MAX_SCORE * (high + low - rounded) // high, 0)
        return normalized


def _add(counts: dict[str, int], node: str, delta: int) -> None:
    n = counts.get(node, 0) + delta
    if n:
        counts[node] = n
    else:
        del counts[node]


def spread_fits(checks: list[HardCheck], table: NodeTable) -> Flags:
    """spread_unfit over every node at once: True where each domain stays within maxSkew of the emptiest."""
    fit: Flags = np.ones(len(table.names), dtype=bool)
    for check in checks:
        has, value, ids = table.topology(check.key)
        counts = np.zeros(len(ids), np.int64)
        for name, n in check.counts.items():
            if name in ids:
                counts[ids[name]] = n
        fit &= has & (counts[value] + check.own - check.floor <= check.max_skew)
    return fit


def spread_unfit(checks: list[HardCheck], labels: dict[str, str]) -> str | None:
    """Filter: a node without a hard key is out; otherwise each domain stays within maxSkew of the emptiest."""
    for check in checks:
        value = labels.get(check.key)
        if value is None:
            return UNMATCHED + " (missing required label)"
        if check.counts.get(value, 0) + check.own - check.floor > check.max_skew:
            return UNMATCHED
    return None
