"""The garbage collector: cascading deletion through owner references, in the three ways the API offers.

Background (the default): the owner goes at once and its dependents are deleted after it. Foreground: the
owner stays with the `foregroundDeletion` finalizer until every dependent is gone (a dependent that owns
others is deleted in the foreground too). Orphan: the `orphan` finalizer holds the owner until its
dependents no longer refer to it, then it goes and they stay.
"""
# exercised by tests/cluster/twin/test_deletion.py

from __future__ import annotations

from typing import Any

from migrate.cluster.twin.api import FOREGROUND, ORPHAN
from migrate.cluster.twin.controllers import Controller
from migrate.cluster.twin.index import ClusterIndex, controller_ref
from migrate.cluster.twin.resources import (
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    PODS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    STATEFULSETS,
    ResourceType,
)
from migrate.cluster.twin.store import Event, clone

OWNERS = {"Deployment": DEPLOYMENTS, "ReplicaSet": REPLICASETS, "StatefulSet": STATEFULSETS, "DaemonSet": DAEMONSETS,
          "Job": JOBS, "ReplicationController": REPLICATIONCONTROLLERS}
DEPENDENTS = (REPLICASETS, PODS)  # what the workload kinds own


class GarbageCollector(Controller):
    watches = (*OWNERS.values(), *DEPENDENTS)

    def __init__(self, api: Any) -> None:
        super().__init__(api)
        self._kept: dict[tuple[str, str, str], str] = {}  # dependent -> the resourceVersion whose owner was there
        self._written: dict[tuple[ResourceType, str, str], None] = {}  # dependents written since the last run, in order
        # owners being deleted that hold an orphan or foreground finalizer: the only ones _finalize_owners acts on
        self._finalizing: dict[ResourceType, set[tuple[str, str]]] = {rt: set() for rt in OWNERS.values()}
        api.store.subscribe(self._observe, DEPENDENTS)
        api.store.subscribe(self._observe_owner, tuple(OWNERS.values()))

    def _observe(self, event: Event) -> None:
        if event.type != "DELETED":
            meta = event.object["metadata"]
            self._written[(event.resource, meta["namespace"], meta["name"])] = None

    def _observe_owner(self, event: Event) -> None:
        meta = event.object["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if event.type != "DELETED" and meta.get("deletionTimestamp") and {ORPHAN, FOREGROUND} & set(meta.get("finalizers") or ()):
            self._finalizing[event.resource].add(key)
        else:
            self._finalizing[event.resource].discard(key)

    def reconcile(self, index: ClusterIndex) -> None:
        if index.pass_dirty is None or index.pass_dirty:  # owners wait on writes (their dependents going)
            self._finalize_owners(index)
        self._collect_orphans(index)

    def _collect_orphans(self, index: ClusterIndex) -> None:
        """Background: a dependent whose controlling owner is gone (or is another object now) is deleted."""
        store, written, self._written = self.api.store, self._written, {}
        if index.pass_dirty is None:
            candidates = [(rt, o) for rt in DEPENDENTS for o in store.objects(rt)]
        else:  # what was written, and everything in a namespace where an owner went
            candidates = [(rt, o) for rt, ns, name in written if ns not in index.pass_owners_gone
                          and (o := store.find(rt, ns, name)) is not None]
            candidates += [(rt, o) for ns in index.pass_owners_gone for rt in DEPENDENTS for o in store.objects(rt, ns)]
        candidates.sort(key=lambda c: c[0] is PODS)  # ReplicaSets first, as their pods follow them
        for rt, obj in candidates:
            if obj["metadata"].get("deletionTimestamp"):
                continue
            key = (rt.plural, obj["metadata"]["namespace"], obj["metadata"]["name"])
            if self._kept.get(key) == obj["metadata"]["resourceVersion"] and \
                    obj["metadata"]["namespace"] not in index.pass_owners_gone:
                continue  # checked at this version, and no owner went in its namespace since
            self._kept[key] = obj["metadata"]["resourceVersion"]
            ref = controller_ref(obj)
            if ref is None or ref.get("kind") not in OWNERS:
                continue
            owner = store.find(OWNERS[ref["kind"]], obj["metadata"]["namespace"], ref["name"])
            if owner is None or owner["metadata"]["uid"] != ref["uid"]:
                self.api.retire(rt, obj["metadata"]["namespace"], obj["metadata"]["name"])

    def _finalize_owners(self, index: ClusterIndex) -> None:
        """Owners being deleted with a garbage-collector finalizer: orphan or delete their dependents, then let go.
        Only where something was written: an owner and its dependents share a namespace. In the order a walk of
        those namespaces visits them (a foreground deletion met first marks its sets before their turn)."""
        store, dirty = self.api.store, index.pass_dirty
        for rt in OWNERS.values():
            keys = [key for key in self._finalizing[rt] if dirty is None or key[0] in dirty]
            owners = [o for key in index.in_store_order(rt, keys, by_namespace=dirty is not None)
                      if (o := store.find(rt, *key)) is not None]
            for owner in owners:
                meta = owner["metadata"]
                finalizers = meta.get("finalizers") or []
                if not meta.get("deletionTimestamp") or not ({ORPHAN, FOREGROUND} & set(finalizers)):
                    continue
                dependents = self._dependents(meta["namespace"], meta["uid"])
                if ORPHAN in finalizers:
                    for rtype, dependent in dependents:
                        self._drop_owner(rtype, dependent, meta["uid"])
                    self._release(rt, owner, ORPHAN)
                elif dependents:
                    for rtype, dependent in dependents:
                        if not dependent["metadata"].get("deletionTimestamp"):
                            nested = rtype is not PODS and self._dependents(meta["namespace"],
                                                                            dependent["metadata"]["uid"])
                            self.api.delete(rtype, meta["namespace"], dependent["metadata"]["name"],
                                            {"propagationPolicy": "Foreground"} if nested else None)
                else:
                    self._release(rt, owner, FOREGROUND)

    def _dependents(self, namespace: str, uid: str) -> list[tuple[ResourceType, dict[str, Any]]]:
        return [(rt, obj) for rt in DEPENDENTS for obj in self.api.store.objects(rt, namespace)
                if any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])]

    def _drop_owner(self, rt: ResourceType, obj: dict[str, Any], uid: str) -> None:
        meta = clone(obj["metadata"])
        meta["ownerReferences"] = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != uid]
        if not meta["ownerReferences"]:
            del meta["ownerReferences"]
        self.api.store.update(rt, {**obj, "metadata": meta}, force=True, whole=True)

    def _release(self, rt: ResourceType, owner: dict[str, Any], finalizer: str) -> None:
        meta = clone(owner["metadata"])
        meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != finalizer]
        if not meta["finalizers"]:
            del meta["finalizers"]
        self.api.store.update(rt, {**owner, "metadata": meta}, force=True, whole=True)
