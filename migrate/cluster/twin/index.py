"""A live view of the store that the actors share: pods by owner, node and namespace, kept current by events.

Maintained incrementally from the store's write events, so a reconcile pass costs what changed, not the
size of the cluster (200 nodes / 4,000 pods).
"""
# exercised by tests/cluster/twin/test_simulation.py

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migrate.cluster.twin.resources import (
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    NODES,
    PDBS,
    PODS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    STATEFULSETS,
    ResourceType,
)
from migrate.cluster.twin.store import Event, Store

Key = tuple[str, str]
OWNER_KINDS = {"Deployment", "ReplicaSet", "ReplicationController", "StatefulSet", "DaemonSet", "Job", "Node"}  # what pods and sets belong to
# the kinds the controllers reconcile one by one: their writes are kept per object, as a controller's work queue
QUEUED = (DEPLOYMENTS, REPLICASETS, REPLICATIONCONTROLLERS, STATEFULSETS, DAEMONSETS, JOBS, PDBS)


def controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj["metadata"].get("ownerReferences") or ():  # a loop, not next(genexpr): called per pod per pass
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


def is_active(pod: dict[str, Any]) -> bool:
    """Counts toward a controller's replicas: not terminating and not finished."""
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def is_ready(obj: dict[str, Any]) -> bool:
    for c in (obj.get("status") or {}).get("conditions") or ():  # any Ready=True condition, as before, without a genexpr
        if c.get("type") == "Ready" and c.get("status") == "True":
            return True
    return False


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
        self._nodes_changed: dict[str, int] = {}  # node -> the nodes_rev its latest such change made, oldest first
        self.kind_rev: dict[ResourceType, int] = {}  # the store revision of each type's latest write
        self.revision = 0  # the latest write seen
        self._written: dict[str, int] = {}  # namespace ("" cluster-scoped) -> its latest write, oldest first
        self._owners_gone: dict[str, int] = {}  # namespace -> when a workload (an owner of pods) was deleted there
        # what the actor running now has not seen: namespaces written since its previous run (None: everything)
        self.pass_dirty: set[str] | None = None
        self.pass_owners_gone: set[str] = set()
        self.pass_since: int | None = None  # the store revision the actor running now last ran at (None: never)
        # per queued kind: each object's place in the store's own order (a key keeps its place until deleted)
        self._born: dict[ResourceType, dict[Key, int]] = {rt: {} for rt in QUEUED}
        self._births = 0
        self._kind_written: dict[ResourceType, dict[Key, int]] = {rt: {} for rt in QUEUED}  # key -> latest write, oldest first
        # owner uid -> (the latest write to one of its pods or ReplicaSets, its kind, its key), oldest first
        self._owners_touched: dict[str, tuple[int, str, Key]] = {}
        self.sets_by_owner: dict[str, dict[Key, dict[str, Any]]] = {}  # controller uid -> the ReplicaSets it controls
        # DaemonSet uid -> node -> how many of its active (and of those Ready) pods are there: one set per node
        # to place and count, without walking the set's 200 pods on every pass
        self.daemon_nodes: dict[str, dict[str | None, int]] = {}
        self.daemon_ready_nodes: dict[str, dict[str | None, int]] = {}

    @classmethod
    def attach(cls, store: Store) -> ClusterIndex:
        """Index what the store holds and follow every later write."""
        index = cls()
        with store.lock:
            for pod in store.objects(PODS):
                index._add(pod)
            for rt in QUEUED:
                for obj in store.objects(rt):
                    index._queued(rt, (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]), None, obj)
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
        elif event.resource in self._born:
            self._queued(event.resource, (namespace, event.object["metadata"]["name"]), event.old,
                         None if event.type == "DELETED" else event.object)
        elif event.resource is NODES:
            self.placement_rev += 1
            if event.old is None or event.type == "DELETED" or _placement(event.old) != _placement(event.object):
                self.nodes_rev += 1
                name = event.object["metadata"]["name"]
                self._nodes_changed.pop(name, None)  # re-inserted last: ordered by nodes_rev
                self._nodes_changed[name] = self.nodes_rev
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
            self.pass_dirty, self.pass_owners_gone, self.pass_since = None, set(self._owners_gone), None
            return
        self.pass_since = revision
        dirty: set[str] = set()
        for namespace, written in reversed(self._written.items()):
            if written <= revision:
                break  # ordered by latest write: everything before this one is older still
            dirty.add(namespace)
        self.pass_dirty = dirty
        self.pass_owners_gone = {ns for ns in dirty if self._owners_gone.get(ns, 0) > revision}

    def written_since(self, rt: ResourceType, revision: int) -> list[Key]:
        """Objects of a queued kind written (created, changed or deleted) after `revision`, newest first."""
        keys = []
        for key, written in reversed(self._kind_written[rt].items()):
            if written <= revision:
                break  # ordered by latest write
            keys.append(key)
        return keys

    def owners_touched_since(self, revision: int) -> list[tuple[str, Key]]:
        """(kind, key) of every owner one of whose pods or ReplicaSets came, changed or went after `revision`."""
        owners = []
        for written, kind, key in reversed(self._owners_touched.values()):
            if written <= revision:
                break
            owners.append((kind, key))
        return owners

    def nodes_changed_since(self, nodes_rev: int) -> list[str]:
        """Nodes that came, went, or changed labels or spec after `nodes_rev`: what placement decisions follow."""
        names = []
        for name, changed in reversed(self._nodes_changed.items()):
            if changed <= nodes_rev:
                break
            names.append(name)
        return names

    def in_store_order(self, rt: ResourceType, keys: Iterable[Key], by_namespace: bool = True) -> list[Key]:
        """The keys still stored, in the order the store lists them (by namespace first, as a walk of the
        dirty namespaces visits them), so a queue reconciles in the order a full pass would."""
        born = self._born[rt]
        present = [k for k in set(keys) if k in born]
        present.sort(key=(lambda k: (k[0], born[k])) if by_namespace else born.__getitem__)
        return present

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
                ready = is_ready(pod)
                if ready:
                    self.ready_by_owner.setdefault(ref["uid"], {})[key] = pod
                if ref.get("kind") == "DaemonSet":
                    self._daemon_count(ref["uid"], pod, ready, 1)
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

    def _daemon_count(self, uid: str, pod: dict[str, Any], ready: bool, step: int) -> None:
        node = pod["spec"].get("nodeName")
        for counts in (self.daemon_nodes, self.daemon_ready_nodes) if ready else (self.daemon_nodes,):
            on_node = counts.setdefault(uid, {})
            on_node[node] = on_node.get(node, 0) + step
            if not on_node[node]:
                del on_node[node]

    def _bump(self, namespace: str, ref: dict[str, Any] | None) -> None:
        self.pods_rev[namespace] = self.pods_rev.get(namespace, 0) + 1
        if ref:
            self.pods_rev[ref["uid"]] = self.pods_rev.get(ref["uid"], 0) + 1
            self._touch(namespace, ref)

    def _touch(self, namespace: str, ref: dict[str, Any]) -> None:
        """Queue the owner a dependent names: its controller has work (an informer's enqueue of the owner)."""
        touched = self._owners_touched
        touched.pop(ref["uid"], None)  # re-inserted last: ordered by latest write
        touched[ref["uid"]] = (self.revision, ref.get("kind", ""), (namespace, ref.get("name", "")))

    def _queued(self, rt: ResourceType, key: Key, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        born, written = self._born[rt], self._kind_written[rt]
        written.pop(key, None)
        if new is None:  # gone: nothing left to reconcile, and nothing kept for it
            born.pop(key, None)
            if old is not None:
                self._owners_touched.pop(old["metadata"].get("uid", ""), None)
        else:
            if key not in born:
                self._births += 1
                born[key] = self._births
            written[key] = self.revision  # re-inserted last: ordered by latest write
        if rt is REPLICASETS:  # a Deployment's sets: who controls each, and its controller queued when one changes
            ref = controller_ref(old) if old is not None else None
            if ref:
                _discard(self.sets_by_owner, ref["uid"], key)
                self._touch(key[0], ref)
            ref = controller_ref(new) if new is not None else None
            if ref and new is not None:
                self.sets_by_owner.setdefault(ref["uid"], {})[key] = new
                self._touch(key[0], ref)

    def _moved(self, node: str) -> None:
        self.node_pods_rev[node] = self.node_pods_rev.get(node, 0) + 1
        self.placement_rev += 1

    def _drop(self, pod: dict[str, Any]) -> None:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        ref = controller_ref(pod)
        if ref:
            if ref.get("kind") == "DaemonSet" and key in self.active_by_owner.get(ref["uid"], {}):
                self._daemon_count(ref["uid"], pod, key in self.ready_by_owner.get(ref["uid"], {}), -1)
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
