"""PodTopologySpread, as kube-scheduler's plugin filters and scores (pkg/scheduler/framework/plugins/podtopologyspread).

A pod's own `topologySpreadConstraints`, or, for pods that a Service, ReplicaSet or StatefulSet selects, the
system defaults (maxSkew 3 per hostname, 5 per zone, ScheduleAnyway). Matching pods are counted per node once
a pass and kept current as pods are bound; per domain (zone) they are summed over every node the pod's
nodeSelector admits (nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore: the defaults), not only over the
nodes that fit, as the plugin's PreFilter and PreScore do.
"""
# exercised by tests/cluster/twin/test_scheduler.py and tests/cluster/twin/test_spread.py

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from migrate.cluster.twin.index import controller_ref
from migrate.cluster.twin.nodeinfo import ZONE, Move, NodeInfo
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

    counts: dict[str, int]
    members: dict[str, str]  # node name -> its value, for the nodes that count
    by_value: Ints  # counts again, by the node table's number for each value of the key
    ids: dict[str, int]  # those numbers


@dataclass
class Tally:
    """The bound, live pods one selector matches in one namespace: per node, and (while the node list holds) per
    node-list position and per domain of each topology key that asked."""

    counts: dict[str, int]
    hosts: Ints | None = None
    domains: list[Domains] = field(default_factory=list)


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
        self._tallies: dict[tuple[str, LabelSelector], Tally] = {}
        self._selectors: dict[str, list[tuple[LabelSelector, Tally]]] = {}  # namespace -> the selectors counted there
        self._matching: dict[str, dict[LabelKey, list[Tally]]] = {}  # namespace -> label set -> the tallies it is in
        self._label_keys: dict[int, tuple[dict[str, str], LabelKey]] = {}  # id(labels) -> them, sorted
        self._bound: dict[str, tuple[str, str, LabelKey, dict[str, str]]] = {}  # uid -> binds not yet seen as moves
        self._members: dict[tuple[Any, ...], tuple[dict[str, str], dict[str, int]]] = {}
        self._domains: dict[tuple[Any, ...], Domains] = {}
        self._defaults: dict[tuple[Any, ...], list[Constraint]] = {}
        self._services: dict[str, list[dict[str, str]]] | None = None  # selectors by namespace, read once a pass

    def begin(self, infos: dict[str, NodeInfo], table: NodeTable, moves: list[Move]) -> None:
        """A new pass: count the pods that came and went, and forget what the node list or the Services decide."""
        self.infos = infos
        if table is not self.table:
            self.table, self._members, self._domains = table, {}, {}
            for tally in self._tallies.values():
                tally.hosts, tally.domains = None, []
        self._defaults, self._services = {}, None
        for node, was, now in moves:
            if was is not None and now is not None:
                before, after = was["metadata"], now["metadata"]
                labels = before.get("labels")
                if (labels is after.get("labels") or labels == after.get("labels")) and \
                        bool(before.get("deletionTimestamp")) == bool(after.get("deletionTimestamp")):
                    continue  # a write that leaves its labels and its deletion as counted
            if was is not None:
                self._count(node, was, -1)
            if now is not None:
                self._count(node, now, 1)
        for namespace, node, key, labels in self._bound.values():  # bound, then gone before the index listed it
            self._move(namespace, labels, key, node, -1)
        self._bound.clear()

    def _count(self, node: str, pod: dict[str, Any], delta: int) -> None:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            return
        labels = meta.get("labels") or {}
        key = self._key_of(labels)
        if delta > 0 and self._bound.get(meta["uid"], ())[1:3] == (node, key):
            del self._bound[meta["uid"]]  # counted when it was bound
            return
        self._move(meta["namespace"], labels, key, node, delta)

    def _key_of(self, labels: dict[str, str]) -> LabelKey:
        """The label set's key; a pod's writes keep its labels object, so it is sorted once per object."""
        known = self._label_keys.get(id(labels))
        if known is not None and known[0] is labels:
            return known[1]
        if len(self._label_keys) > 100_000:
            self._label_keys.clear()
        key = tuple(sorted(labels.items()))
        self._label_keys[id(labels)] = labels, key  # holding the object keeps its id from being reused
        return key

    def _move(self, namespace: str, labels: dict[str, str], key: LabelKey, node: str, delta: int) -> None:
        groups = self._groups.get(namespace) or self._groups.setdefault(namespace, {})
        group = groups.get(key) or groups.setdefault(key, LabelGroup(labels, {}))
        _add(group.on_nodes, node, delta)
        known = self._matching.get(namespace) or self._matching.setdefault(namespace, {})
        matching = known.get(key)
        if matching is None:
            matching = known[key] = [
                tally for selector, tally in self._selectors.get(namespace, ()) if selector.matches(labels)]
        where = self.table.position.get(node)
        for tally in matching:
            _add(tally.counts, node, delta)
            if tally.hosts is not None and where is not None:
                tally.hosts[where] += delta
            for domains in tally.domains:
                value = domains.members.get(node)
                if value is not None:
                    domains.counts[value] += delta
                    domains.by_value[domains.ids[value]] += delta

    def constraints(self, pod: dict[str, Any]) -> list[Constraint]:
        explicit = pod["spec"].get("topologySpreadConstraints") or []
        if explicit:
            return [Constraint(int(c.get("maxSkew", 1)), c.get("topologyKey", ""),
                               from_label_selector(c["labelSelector"]) if c.get("labelSelector") else EVERYTHING,
                               c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule") for c in explicit]
        meta = pod["metadata"]
        ref = controller_ref(pod)
        key = (meta["namespace"], self._key_of(meta.get("labels") or {}),
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

    def _tally(self, namespace: str, selector: LabelSelector) -> Tally:
        key = (namespace, selector)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = Tally({})
            counts = tally.counts
            for group in self._groups.get(namespace, {}).values():
                if selector.matches(group.labels):
                    for node, n in group.on_nodes.items():
                        counts[node] = counts.get(node, 0) + n
            self._selectors.setdefault(namespace, []).append((selector, tally))
            self._matching.pop(namespace, None)  # label sets are matched against the selectors again
        return tally

    def counted(self, namespace: str, selector: LabelSelector) -> dict[str, int]:
        """The bound, live pods of the namespace the selector matches, per node."""
        return self._tally(namespace, selector).counts

    def _host_counts(self, namespace: str, selector: LabelSelector) -> Ints:
        tally = self._tally(namespace, selector)
        if tally.hosts is None:
            tally.hosts = np.zeros(len(self.table.names), np.int64)
            position = self.table.position
            for node, n in tally.counts.items():
                if node in position:
                    tally.hosts[position[node]] = n
        return tally.hosts

    def _domains_of(self, namespace: str, c: Constraint, required: tuple[str, ...], admits: dict[str, bool],
                    signature: str) -> Domains:
        """Matching pods per value of c.key over the nodes the pod's selector admits that carry every required key
        (a node without the key counts under "", as the plugin reads a missing label)."""
        key = (namespace, c.selector, c.key, required, signature)
        domains = self._domains.get(key)
        if domains is None:
            members, zeros = self._value_of(c.key, required, admits, signature)
            counts = dict(zeros)
            tally = self._tally(namespace, c.selector)
            for name, n in tally.counts.items():
                value = members.get(name)
                if value is not None:
                    counts[value] += n
            ids = self.table.topology(c.key)[2]
            by_value = np.zeros(len(ids), np.int64)
            for value, n in counts.items():
                by_value[ids[value]] = n
            domains = self._domains[key] = Domains(counts, members, by_value, ids)
            tally.domains.append(domains)
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
        key = self._key_of(labels)
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
        scored: Flags | None = None  # None: every chosen node is scored
        for key in required:
            has = table.topology(key)[0][chosen]
            scored = has if scored is None else scored & has
        size = len(chosen) if scored is None else int(np.count_nonzero(scored))
        raw: Any = None  # float64 per chosen node, once a term is in
        for c in soft:
            has, value, ids = table.topology(c.key)
            if c.key == HOSTNAME:  # the node's own pods; as many domains as nodes scored
                counts = self._host_counts(namespace, c.selector)[chosen]
                weight = math.log(size + 2)
            else:
                values = value[chosen]
                counts = self._domains_of(namespace, c, required, admits, signature).by_value[values]
                weight = math.log(np.count_nonzero(np.bincount(values if scored is None else values[scored],
                                                               minlength=len(ids))) + 2)
            term = counts * weight + (c.max_skew - 1)
            if not table.everywhere(c.key):  # a node without the key adds nothing (0.0)
                term = np.where(has[chosen], term, 0.0)
            raw = term if raw is None else raw + term  # the first term is 0.0 + term: the same float
        assert raw is not None
        rounded = (raw + 0.5).astype(np.int64)  # Go's math.Round: halves away from zero (raw is never negative)
        kept = rounded if scored is None else rounded[scored]
        high, low = (int(kept.max()), int(kept.min())) if len(kept) else (0, 0)
        if high == 0:
            return np.full(len(chosen), MAX_SCORE, np.int64) if scored is None else np.where(scored, MAX_SCORE, 0)
        normalized: Ints = MAX_SCORE * (high + low - rounded) // high
        return normalized if scored is None else np.where(scored, normalized, 0)


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
