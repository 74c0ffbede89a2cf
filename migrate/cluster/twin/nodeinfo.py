"""What the scheduler keeps of each node between passes, as kube-scheduler's cache keeps NodeInfos.

Allocatable is parsed once per node status, the pods' requests are summed again only on a node whose
pods changed (the index bumps its revision; stored objects are never mutated, so an unchanged pod is the
same object), and then only from the first pod that changed: the running sums after each pod are kept, so
a pod bound or updated (the index moves it to the end) costs one addition, and the float sums stay exactly
those of adding every pod in the index's order. The node list is ordered as kube-scheduler's node tree
lists it: one node of each zone in turn."""
# exercised by tests/cluster/twin/test_scheduler.py

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import count
from operator import is_not
from typing import Any

from migrate.cluster.placement import pod_requests
from migrate.cluster.quantity import parse_quantity
from migrate.cluster.twin.index import ClusterIndex, controller_ref
from migrate.cluster.twin.scoring import nonzero_requests

DEFAULT_ALLOCATABLE = {"cpu": 4.0, "memory": 16.0 * 2**30, "pods": 110.0}  # a node that reports nothing
ZONE = "topology.kubernetes.io/zone"
ZONE_LABELS = (("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"),
               (ZONE, "failure-domain.beta.kubernetes.io/zone"))

_versions = count(1)


COST_FIELDS = ("containers", "initContainers", "nodeSelector", "affinity", "tolerations")  # what a cost reads


@dataclass
class PodCost:
    spec: dict[str, Any]  # the spec object these were last found to match
    read: tuple[Any, ...]  # the spec's COST_FIELDS these were computed from
    need: dict[str, float]
    nonzero: tuple[float, float]
    signature: str  # nodeSelector, affinity and tolerations: pods that share it pass the same static filters


class PodCosts:
    """Each pod's requests (for fit, for scoring) and placement signature, remembered while what they read holds.

    A write stores a new pod object (a status update, a binding), so a changed spec object is compared by value
    on the fields a cost reads before anything is parsed again."""

    def __init__(self) -> None:
        self.by_uid: dict[str, PodCost] = {}
        self._by_owner: dict[str, PodCost] = {}  # controller uid -> its latest pod's cost: replicas mostly share it

    def of(self, pod: dict[str, Any]) -> PodCost:
        uid, spec = pod["metadata"]["uid"], pod["spec"]
        cost = self.by_uid.get(uid)
        if cost is not None and cost.spec is spec:
            return cost
        read = tuple(spec.get(f) for f in COST_FIELDS)
        if cost is None or cost.read != read:
            ref = controller_ref(pod)
            like = self._by_owner.get(ref["uid"]) if ref else None
            if like is not None and like.read == read:  # compared by value: a replica's own copy of the template
                cost = PodCost(spec, read, like.need, like.nonzero, like.signature)
            else:
                signature = json.dumps([spec.get("nodeSelector"), spec.get("affinity"), spec.get("tolerations")],
                                       sort_keys=True)
                cost = PodCost(spec, read, pod_requests(spec), nonzero_requests(spec), signature)
            self.by_uid[uid] = cost
            if ref:
                self._by_owner[ref["uid"]] = cost
        cost.spec = spec
        return cost


Sums = tuple[dict[str, float], float, float]  # requests, non-zero cpu, non-zero memory: never mutated
Move = tuple[str, dict[str, Any] | None, dict[str, Any] | None]  # node, a pod object it held, the one it holds now


@dataclass
class NodeInfo:
    node: dict[str, Any]
    labels: dict[str, str]
    placement: int  # a new number whenever labels or spec change: what the static filters read
    alloc: dict[str, float]
    cpu_cap: float = 0.0  # allocatable cpu and memory, read by every score
    mem_cap: float = 0.0
    pods: list[dict[str, Any]] = field(default_factory=list)  # the pod objects `used` was summed from
    sums: list[Sums] = field(default_factory=list)  # the running sums after each of them
    used: dict[str, float] = field(default_factory=dict)  # requests of the pods that still hold resources
    cpu: float = 0.0  # non-zero requests, as scoring counts them
    memory: float = 0.0
    room: dict[str, float] = field(default_factory=dict)  # allocatable less used, per resource the node reports
    version: int = 0  # moves whenever room, the non-zero sums or allocatable change: what a NodeTable row copies

    def __post_init__(self) -> None:
        self.allocate(self.alloc)

    def allocate(self, alloc: dict[str, float]) -> None:
        self.alloc, self.cpu_cap, self.mem_cap = alloc, alloc.get("cpu") or 0.0, alloc.get("memory") or 0.0
        self._make_room()

    def add(self, need: dict[str, float], nonzero: tuple[float, float]) -> None:
        used = self.used
        for resource, amount in need.items():
            used[resource] = used.get(resource, 0.0) + amount
        self.cpu += nonzero[0]
        self.memory += nonzero[1]
        self._make_room()

    def _make_room(self) -> None:
        self.version += 1
        used = self.used  # a hair of slack so that requests adding up to allocatable exactly still fit
        self.room = {resource: capacity + 1e-9 - used.get(resource, 0.0) for resource, capacity in self.alloc.items()}


def allocatable(node: dict[str, Any]) -> dict[str, float]:
    status = node.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    return {k: parse_quantity(v) for k, v in alloc.items()} or dict(DEFAULT_ALLOCATABLE)


def zone_key(labels: dict[str, str]) -> str:
    """utilnode.GetZoneKey: region and zone, or "" for a node that has neither."""
    region, zone = (labels.get(ga) or labels.get(beta) or "" for ga, beta in ZONE_LABELS)
    return f"{region}:\x00:{zone}" if region or zone else ""


def tree_order(zones: list[tuple[str, str]]) -> list[str]:
    """nodeTree.list(): zones in the order their first node came, one node of each zone in turn."""
    by_zone: dict[str, list[str]] = {}
    for name, zone in zones:
        by_zone.setdefault(zone, []).append(name)
    columns = list(by_zone.values())
    return [col[i] for i in range(max(map(len, columns), default=0)) for col in columns if i < len(col)]


class NodeInfos:
    """Every node's state for the next scheduling pass, refreshed from the index where it changed."""

    def __init__(self, costs: PodCosts) -> None:
        self.costs = costs
        self.infos: dict[str, NodeInfo] = {}
        self.order: list[str] = []
        self._zones: list[tuple[str, str]] = []
        self._nodes_rev = -1  # the index's nodes_rev when the node list was last ordered
        self._summed: dict[str, int] = {}  # node -> the index's node_pods_rev its sums were brought up to
        # (node, the pod object it held, the one it holds) for each pod written, come or gone (None) on a known node
        # since the reader took them
        self.moves: list[Move] = []

    def refresh(self, index: ClusterIndex) -> dict[str, NodeInfo]:
        infos: dict[str, NodeInfo] = {}
        known, revs, summed = self.infos, index.node_pods_rev, self._summed
        for name, node in index.nodes.items():
            info = known.get(name)
            rev = revs.get(name, 0)
            if info is None:
                info = NodeInfo(node, node["metadata"].get("labels") or {}, next(_versions), allocatable(node))
                self._sum(name, info, index.on_node(name))
            else:
                if info.node is not node:
                    self._moved(info, node)
                if summed.get(name) != rev:
                    self._sum(name, info, index.on_node(name))
            summed[name] = rev
            infos[name] = info
        self.moves += [(name, pod, None) for name, info in known.items() if name not in infos for pod in info.pods]
        if len(summed) > len(infos):
            self._summed = {name: rev for name, rev in summed.items() if name in infos}
        self.infos = infos
        if index.nodes_rev != self._nodes_rev or len(infos) != len(self._zones):  # only labels move a node in the list
            self._nodes_rev = index.nodes_rev
            zones = [(name, zone_key(info.labels)) for name, info in infos.items()]
            if zones != self._zones:
                self._zones, self.order = zones, tree_order(zones)
        return infos

    def _moved(self, info: NodeInfo, node: dict[str, Any]) -> None:
        old = info.node
        labels = node["metadata"].get("labels") or {}
        if labels != info.labels or node.get("spec") != old.get("spec"):
            info.placement = next(_versions)
        info.labels = labels
        status, was = node.get("status") or {}, old.get("status") or {}
        if (status.get("allocatable"), status.get("capacity")) != (was.get("allocatable"), was.get("capacity")):
            info.allocate(allocatable(node))
        info.node = node

    def _sum(self, name: str, info: NodeInfo, pods: list[dict[str, Any]]) -> None:
        """Sum from the first pod that is not the one summed there before, on the running sums up to it."""
        was = info.pods
        differs = list(map(is_not, pods, was))  # pairs up to the shorter list
        k = differs.index(True) if True in differs else len(differs)
        if k == len(pods) == len(was):
            return  # the same pods (a pod written and written back is a new object): nothing to add again
        gone = {pod["metadata"]["uid"]: pod for pod in was[k:]}
        moves = self.moves
        for pod in pods[k:]:
            old = gone.pop(pod["metadata"]["uid"], None)
            if old is not pod:
                moves.append((name, old, pod))
        moves += [(name, pod, None) for pod in gone.values()]
        sums = info.sums
        del sums[k:]
        used, cpu, memory = sums[-1] if sums else ({}, 0.0, 0.0)
        known = self.costs.by_uid
        for pod in pods[k:]:  # written out: after a pass that bound many pods this runs for each of them
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                cost = known.get(pod["metadata"]["uid"])
                if cost is None or cost.spec is not pod["spec"]:
                    cost = self.costs.of(pod)
                used = dict(used)
                for resource, amount in cost.need.items():
                    used[resource] = used.get(resource, 0.0) + amount
                cpu += cost.nonzero[0]
                memory += cost.nonzero[1]
            sums.append((used, cpu, memory))
        info.pods, info.sums, info.used, info.cpu, info.memory = pods, sums, dict(used), cpu, memory
        info.allocate(info.alloc)
