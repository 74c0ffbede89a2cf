"""A live view of the store that the actors share: pods by owner, node and namespace, kept current by events.

Maintained incrementally from the store's write events, so a reconcile pass costs what changed, not the
size of the cluster (200 nodes / 4,000 pods).
"""
# exercised by tests/cluster/twin/test_simulation.py

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migrate.cluster.twin.resources import NODES, PODS, ResourceType
from migrate.cluster.twin.store import Event, Store

Key = tuple[str, str]
OWNER_KINDS = {"Deployment", "ReplicaSet", "ReplicationController", "StatefulSet", "DaemonSet", "Job", "Node"}  # what pods and sets belong to


def controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def is_active(pod: dict[str, Any]) -> bool:
    """Counts toward a controller's replicas: not terminating and not finished."""
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def is_ready(obj: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (obj.get("status") or {}).get("conditions") or [])


def needs_kubelet(pod: dict[str, Any]) -> bool:
    """A bound pod its kubelet still has to act on: start it, finish its deletion, or complete it."""
    if not pod["spec"].get("nodeName"):
        return False
    phase = (pod.get("status") or {}).get("phase", "Pending")
    return bool(pod["metadata"].get("deletionTimestamp")) or phase == "Pending" or (
        phase == "Running" and pod["spec"].get("restartPolicy") in ("Never", "OnFailure"))


class ClusterIndex:
    def __init__(self) -> None:
        self.by_owner: dict[str, dict[Key, dict[str, Any]]] = {}
        # owner uid -> its active pods, and those of them Ready: what a controller counts, judged once per write
        self.active_by_owner: dict[str, dict[Key, dict[str, Any]]] = {}
        self.ready_by_owner: dict[str, dict[Key, dict[str, Any]]] = {}
        self.by_node: dict[str, dict[Key, dict[str, Any]]] = {}
        self.by_namespace: dict[str, dict[Key, dict[str, Any]]] = {}
        self.unbound: dict[Key, dict[str, Any]] = {}
        self.kubelet_work: dict[Key, dict[str, Any]] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.node_pods_rev: dict[str, int] = {}  # node -> bumped whenever a pod on it is added, changed or removed
        self.pods_rev: dict[str, int] = {}  # namespace or owner uid -> bumped whenever one of its pods changes
        self.placement_rev = 0  # bumped by any node write or any change to a bound pod: what scheduling depends on
        self.nodes_rev = 0  # bumped when a node comes, goes, or changes labels or spec (not on a heartbeat)
        self.kind_rev: dict[ResourceType, int] = {}  # the store revision of each type's latest write
        self.revision = 0  # the latest write seen
        self._written: dict[str, int] = {}  # namespace ("" cluster-scoped) -> its latest write, oldest first
        self._owners_gone: dict[str, int] = {}  # namespace -> when a workload (an owner of pods) was deleted there
        # what the actor running now has not seen: namespaces written since its previous run (None: everything)
        self.pass_dirty: set[str] | None = None
        self.pass_owners_gone: set[str] = set()

    @classmethod
    def attach(cls, store: Store) -> ClusterIndex:
        """Index what the store holds and follow every later write."""
        index = cls()
        with store.lock:
            for pod in store.objects(PODS):
                index._add(pod)
            index.nodes = {n["metadata"]["name"]: n for n in store.objects(NODES)}
            store.subscribe(index.observe)
            # lists of one node's or one namespace's pods start from this index, not from all 4,000 pods
            store.narrow_by(PODS, "spec.nodeName", lambda node: index.by_node.get(node, {}).keys())
            store.narrow_by(PODS, "metadata.namespace", lambda ns: index.by_namespace.get(ns, {}).keys())
        return index

    def observe(self, event: Event) -> None:
        namespace = event.object["metadata"].get("namespace", "")
        self.revision = self.kind_rev[event.resource] = event.revision
        self._written.pop(namespace, None)  # re-inserted last: the dict stays ordered by latest write
        self._written[namespace] = event.revision
        if event.type == "DELETED" and event.resource.kind in OWNER_KINDS:
            self._owners_gone[namespace] = event.revision
        if event.resource is PODS:
            if event.old is not None:
                self._drop(event.old)
            if event.type != "DELETED":
                self._add(event.object)
        elif event.resource is NODES:
            self.placement_rev += 1
            if event.old is None or event.type == "DELETED" or _placement(event.old) != _placement(event.object):
                self.nodes_rev += 1
            if event.type == "DELETED":
                self.nodes.pop(event.object["metadata"]["name"], None)
            else:
                self.nodes[event.object["metadata"]["name"]] = event.object

    def changed_since(self, revision: int | None, kinds: Iterable[ResourceType] | None) -> bool:
        """Anything of these types (None: of any type) written after `revision` (None: never looked)."""
        if revision is None:
            return True
        if kinds is None:
            return self.revision > revision
        return any(self.kind_rev.get(kind, 0) > revision for kind in kinds)

    def look_from(self, revision: int | None) -> None:
        """Set what the next actor sees as changed: what was written after `revision` (its previous run)."""
        if revision is None:
            self.pass_dirty, self.pass_owners_gone = None, set(self._owners_gone)
            return
        dirty: set[str] = set()
        for namespace, written in reversed(self._written.items()):
            if written <= revision:
                break  # ordered by latest write: everything before this one is older still
            dirty.add(namespace)
        self.pass_dirty = dirty
        self.pass_owners_gone = {ns for ns in dirty if self._owners_gone.get(ns, 0) > revision}

    def touched(self, namespace: str, nodes_matter: bool = False) -> bool:
        """Worth reconciling: its namespace changed (or, for what follows nodes, a node did)."""
        dirty = self.pass_dirty
        return dirty is None or namespace in dirty or (nodes_matter and "" in dirty)

    def owned(self, uid: str) -> list[dict[str, Any]]:
        return list(self.by_owner.get(uid, {}).values())

    def active(self, uid: str) -> list[dict[str, Any]]:
        """Its pods that count toward its replicas (not terminating, not finished)."""
        return list(self.active_by_owner.get(uid, {}).values())

    def ready_count(self, uid: str) -> int:
        """How many of its active pods are Ready."""
        return len(self.ready_by_owner.get(uid, ()))

    def on_node(self, name: str) -> list[dict[str, Any]]:
        return list(self.by_node.get(name, {}).values())

    def in_namespace(self, namespace: str) -> list[dict[str, Any]]:
        return list(self.by_namespace.get(namespace, {}).values())

    def _add(self, pod: dict[str, Any]) -> None:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        ref = controller_ref(pod)
        if ref:
            self.by_owner.setdefault(ref["uid"], {})[key] = pod
            if is_active(pod):
                self.active_by_owner.setdefault(ref["uid"], {})[key] = pod
                if is_ready(pod):
                    self.ready_by_owner.setdefault(ref["uid"], {})[key] = pod
        self._bump(key[0], ref)
        node = pod["spec"].get("nodeName")
        if node:
            self.by_node.setdefault(node, {})[key] = pod
            self._moved(node)
        else:
            self.unbound[key] = pod
        if needs_kubelet(pod):
            self.kubelet_work[key] = pod
        self.by_namespace.setdefault(key[0], {})[key] = pod

    def _bump(self, namespace: str, ref: dict[str, Any] | None) -> None:
        self.pods_rev[namespace] = self.pods_rev.get(namespace, 0) + 1
        if ref:
            self.pods_rev[ref["uid"]] = self.pods_rev.get(ref["uid"], 0) + 1

    def _moved(self, node: str) -> None:
        self.node_pods_rev[node] = self.node_pods_rev.get(node, 0) + 1
        self.placement_rev += 1

    def _drop(self, pod: dict[str, Any]) -> None:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        ref = controller_ref(pod)
        if ref:
            _discard(self.by_owner, ref["uid"], key)
            _discard(self.active_by_owner, ref["uid"], key)
            _discard(self.ready_by_owner, ref["uid"], key)
        self._bump(key[0], ref)
        if pod["spec"].get("nodeName"):
            _discard(self.by_node, pod["spec"]["nodeName"], key)
            self._moved(pod["spec"]["nodeName"])
        self.unbound.pop(key, None)
        self.kubelet_work.pop(key, None)
        _discard(self.by_namespace, key[0], key)


def _placement(node: dict[str, Any]) -> tuple[Any, Any]:
    return node["metadata"].get("labels"), node.get("spec")


def _discard(groups: dict[str, dict[Key, dict[str, Any]]], group: str, key: Key) -> None:
    members = groups.get(group)
    if members is not None:
        members.pop(key, None)
        if not members:
            del groups[group]
