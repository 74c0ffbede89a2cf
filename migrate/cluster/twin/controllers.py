"""Workload controllers: ReplicaSet, StatefulSet, DaemonSet, Job (Deployments: deployments.py; garbage collector: garbage.py).

Each reconciles every object of its kind once per pass against a ClusterIndex, writing through the
store like a real controller writes through the API. Simplified where the migration cannot tell
(see docs/twin.md): DaemonSet pods are bound directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from migrate.clock import rfc3339
from migrate.cluster.placement import node_selector_matches, tolerates_all
from migrate.cluster.twin.api import Api
from migrate.cluster.twin.index import ClusterIndex, Key, is_active, is_ready
from migrate.cluster.twin.resources import (
    DAEMONSETS,
    JOBS,
    NODES,
    PODS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    STATEFULSETS,
    ResourceType,
)
from migrate.cluster.twin.store import Store

# tolerations the DaemonSet controller adds so its pods run on every node, cordoned or not yet ready
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_from_template(
    owner: dict[str, Any], template: dict[str, Any], name: str, extra_labels: dict[str, str]
) -> dict[str, Any]:
    """Shallow: the API's create copies the body before anything changes it; callers set only top-level spec keys."""
    meta = dict(template.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), **extra_labels}
    meta["name"] = name
    meta["namespace"] = owner["metadata"]["namespace"]
    meta["ownerReferences"] = [owner_reference(owner)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": dict(template.get("spec") or {})}


def write_status(store: Store, rt: ResourceType, obj: dict[str, Any], status: dict[str, Any]) -> None:
    status = {"observedGeneration": obj["metadata"].get("generation", 1), **status}
    merged = {**(obj.get("status") or {}), **status}
    if merged != obj.get("status"):
        store.update(rt, {**obj, "status": merged}, status=True, force=True, owned=True)


def _victims(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Scale-down order as the ReplicaSet controller ranks pods: unscheduled, pending, not ready, newest first."""
    return sorted(
        pods,
        key=lambda p: (
            bool(p["spec"].get("nodeName")),
            p["status"].get("phase") == "Running",
            is_ready(p),
            [-ord(c) for c in p["metadata"]["creationTimestamp"]],
        ),
    )


class Controller:
    """A control loop writing through the API; `live` skips objects already being deleted. `watches`: the types
    whose writes make the twin run it again (as the informers a controller starts with); None: every type."""

    watches: tuple[ResourceType, ...] | None = None

    def __init__(self, api: Api):
        self.api = api

    def live(self, rt: ResourceType, index: ClusterIndex, nodes_matter: bool = False) -> Iterator[dict[str, Any]]:
        """Objects not being deleted, in namespaces something was written to since the last pass."""
        dirty = index.pass_dirty
        if dirty is None or (nodes_matter and "" in dirty):
            candidates: Iterator[dict[str, Any]] = self.api.store.objects(rt)
        else:  # only the namespaces written to: a pass costs what changed, not the 354 ReplicaSets of the cluster
            candidates = (obj for ns in sorted(dirty) for obj in self.api.store.objects(rt, ns))
        return (obj for obj in candidates if not obj["metadata"].get("deletionTimestamp"))

    def queue(self, rt: ResourceType, index: ClusterIndex, owners: Iterable[Key] = (),
              everything: bool = False) -> list[dict[str, Any]]:
        """Objects not being deleted that were written since this actor's last run, and the `owners` whose
        dependents changed: a work queue keyed by object, as Kubernetes' controllers keep, so a pass costs what
        changed, not the 354 ReplicaSets of the cluster. In the order a walk of the dirty namespaces visits them."""
        store = self.api.store
        if index.pass_since is None or everything:
            candidates: Iterable[dict[str, Any]] = store.objects(rt)
        else:
            keys = index.in_store_order(rt, [*index.written_since(rt, index.pass_since), *owners])
            candidates = (obj for key in keys if (obj := store.find(rt, *key)) is not None)
        return [obj for obj in candidates if not obj["metadata"].get("deletionTimestamp")]


def touched_owners(index: ClusterIndex, kind: str) -> list[Key]:
    """Owners of this kind whose pods or ReplicaSets changed since the running actor last ran."""
    if index.pass_since is None:
        return []  # a first run reconciles everything anyway
    return [key for owner_kind, key in index.owners_touched_since(index.pass_since) if owner_kind == kind]


def _set_type(rs: dict[str, Any]) -> ResourceType:
    return REPLICASETS if rs["kind"] == "ReplicaSet" else REPLICATIONCONTROLLERS


class ReplicaSetController(Controller):
    watches = (REPLICASETS, REPLICATIONCONTROLLERS, PODS)

    def __init__(self, api: Api):
        super().__init__(api)
        self._seen: dict[str, tuple[Any, ...]] = {}  # uid -> what its last reconcile left (see _state)

    def pending(self, index: ClusterIndex) -> list[dict[str, Any]]:
        """The sets this pass reconciles: those queued (written, or their pods changed) that are not as their
        last reconcile left them; for the others a reconcile would create, delete and write nothing."""
        queued = (*self.queue(REPLICASETS, index, touched_owners(index, "ReplicaSet")),
                  *self.queue(REPLICATIONCONTROLLERS, index, touched_owners(index, "ReplicationController")))
        return [rs for rs in queued if self._seen.get(rs["metadata"]["uid"]) != self._state(rs, index)]

    @staticmethod
    def _state(rs: dict[str, Any], index: ClusterIndex) -> tuple[Any, ...]:
        """All a reconcile reads once its pods number what it wants: the spec (its generation and size), how
        many pods are active and Ready, and the status it wrote. A pod being bound or starting changes none."""
        uid = rs["metadata"]["uid"]
        return (rs["metadata"].get("generation", 0), rs["spec"].get("replicas", 1),
                len(index.active_by_owner.get(uid, ())), index.ready_count(uid), rs.get("status"))

    def reconcile(self, index: ClusterIndex) -> None:
        for rs in self.pending(index):  # a set's writes change only its own pods: the list holds for the pass
            self._reconcile(rs, index)
            if (left := self.api.store.find(_set_type(rs), rs["metadata"]["namespace"], rs["metadata"]["name"])) is not None:
                self._seen[rs["metadata"]["uid"]] = self._state(left, index)

    def _reconcile(self, rs: dict[str, Any], index: ClusterIndex) -> None:
        """Create or delete pods until it has what it asks for, then write what it has."""
        pods = index.active(rs["metadata"]["uid"])
        ready = index.ready_count(rs["metadata"]["uid"])  # of those active pods, counted by the index
        want = rs["spec"].get("replicas", 1)
        ns = rs["metadata"]["namespace"]
        for _ in range(want - len(pods)):
            name = f"{rs['metadata']['name']}-{self.api.suffix()}"
            pods.append(created := self.api.create(PODS, ns, pod_from_template(rs, rs["spec"]["template"], name, {})))
            ready += is_ready(created)
        for pod in _victims(pods)[: len(pods) - want] if len(pods) > want else ():
            self.api.retire(PODS, ns, pod["metadata"]["name"])
            pods.remove(pod)
            ready -= is_ready(pod)
        write_status(
            self.api.store,
            _set_type(rs),
            rs,
            {
                "replicas": len(pods),
                "fullyLabeledReplicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
            },
        )


class StatefulSetController(Controller):
    """Pods named <set>-<ordinal>; a missing one comes back with the same name and a new uid, in order."""

    watches = (STATEFULSETS, PODS)

    def reconcile(self, index: ClusterIndex) -> None:
        store = self.api.store
        for sts in self.live(STATEFULSETS, index):
            name, ns, spec = sts["metadata"]["name"], sts["metadata"]["namespace"], sts["spec"]
            ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
            want = spec.get("replicas", 1)
            for ordinal in range(want):
                pod = store.find(PODS, ns, f"{name}-{ordinal}")
                if pod is None:
                    labels = {
                        "statefulset.kubernetes.io/pod-name": f"{name}-{ordinal}",
                        "apps.kubernetes.io/pod-index": str(ordinal),
                    }
                    pod = pod_from_template(sts, spec["template"], f"{name}-{ordinal}", labels)
                    pod["spec"]["hostname"] = f"{name}-{ordinal}"
                    if spec.get("serviceName"):
                        pod["spec"]["subdomain"] = spec["serviceName"]
                    self.api.create(PODS, ns, pod)
                    if ordered:
                        break
                elif (pod.get("status") or {}).get("phase") == "Failed":
                    self.api.retire(PODS, ns, pod["metadata"]["name"])
                    break
                elif ordered and not (is_active(pod) and is_ready(pod)):
                    break  # OrderedReady: the next ordinal waits for this one
            extra = sorted(
                (
                    p
                    for p in index.owned(sts["metadata"]["uid"])
                    if is_active(p) and int(p["metadata"]["name"].rsplit("-", 1)[1]) >= want
                ),
                key=lambda p: -int(p["metadata"]["name"].rsplit("-", 1)[1]),
            )
            for pod in extra[: 1 if ordered else None]:
                self.api.retire(PODS, ns, pod["metadata"]["name"])
            active = len(index.active_by_owner.get(sts["metadata"]["uid"], ()))  # as this pass's writes left them
            ready = index.ready_count(sts["metadata"]["uid"])
            write_status(
                store,
                STATEFULSETS,
                sts,
                {
                    "replicas": active,
                    "readyReplicas": ready,
                    "currentReplicas": active,
                    "updatedReplicas": active,
                    "availableReplicas": ready,
                },
            )


class DaemonSetController(Controller):
    """One pod per node that matches the nodeSelector and whose taints the pods tolerate.

    As upstream's nodeShouldRunDaemonPod: a node where the pod *should run* (all NoSchedule and NoExecute
    taints tolerated) gets one; a running pod *continues running* unless a NoExecute taint is untolerated,
    so a new NoSchedule taint only stops new placements (the pod counts as misscheduled, not deleted).
    """

    watches = (DAEMONSETS, PODS, NODES)

    def __init__(self, api: Api):
        super().__init__(api)
        self._seen: dict[str, tuple[int, int, int]] = {}  # uid -> (its generation, its pods', the nodes') last seen
        self._placement: dict[str, tuple[int, dict[str, Any], set[str], set[str]]] = {}
        # uid -> node -> (its labels, its spec, should run, may continue): judged again only when those change
        self._verdicts: dict[str, dict[str, tuple[Any, Any, bool, bool]]] = {}

    def _nodes_for(self, ds: dict[str, Any], tolerations: list[dict[str, Any]],
                   index: ClusterIndex) -> tuple[set[str], set[str]]:
        """Nodes it should run on and nodes its pods may stay on: judged again only for the nodes that came, went
        or changed labels or spec since it last looked, or for every node when its template changed."""
        uid = ds["metadata"]["uid"]
        cached = self._placement.get(uid)
        if cached is not None and cached[1] is ds["spec"]:
            if cached[0] == index.nodes_rev:
                return cached[2], cached[3]
            names = index.nodes_changed_since(cached[0])
            verdicts, should_run, may_continue = self._verdicts[uid], set(cached[2]), set(cached[3])
        else:
            names, verdicts, should_run, may_continue = list(index.nodes), {}, set(), set()
        template = ds["spec"]["template"]
        for name in names:
            node = index.nodes.get(name)
            if node is None:  # gone
                verdicts.pop(name, None)
                should_run.discard(name)
                may_continue.discard(name)
                continue
            verdict = verdicts.get(name)
            if verdict is None or verdict[0] is not node["metadata"].get("labels") or verdict[1] is not node.get("spec"):
                selected = node_selector_matches(template["spec"], node)
                verdict = verdicts[name] = (
                    node["metadata"].get("labels"), node.get("spec"),
                    selected and tolerates_all(tolerations, node, ("NoSchedule", "NoExecute")),
                    selected and tolerates_all(tolerations, node, ("NoExecute",)))
            for names_set, judged in ((should_run, verdict[2]), (may_continue, verdict[3])):
                if judged:
                    names_set.add(name)
                else:
                    names_set.discard(name)
        self._verdicts[uid] = verdicts
        self._placement[uid] = (index.nodes_rev, ds["spec"], should_run, may_continue)
        return should_run, may_continue

    def reconcile(self, index: ClusterIndex) -> None:
        store = self.api.store
        dirty = index.pass_dirty  # a node written: every set may place differently, so all are looked at
        for ds in self.queue(DAEMONSETS, index, touched_owners(index, "DaemonSet"), everything=dirty is None or "" in dirty):
            # its generation, not its resourceVersion: its own status write must not make it look again
            seen = (ds["metadata"].get("generation", 0), index.pods_rev.get(ds["metadata"]["uid"], 0), index.nodes_rev)
            if self._seen.get(ds["metadata"]["uid"]) == seen:
                continue  # a node heartbeat changes nothing a DaemonSet places by (labels, taints, the set of nodes)
            self._seen[ds["metadata"]["uid"]] = seen
            ns, template = ds["metadata"]["namespace"], ds["spec"]["template"]
            tolerations = (template["spec"].get("tolerations") or []) + DAEMON_TOLERATIONS
            should_run, may_continue = self._nodes_for(ds, tolerations, index)
            uid = ds["metadata"]["uid"]
            placed = set(index.daemon_nodes.get(uid, ()))  # the nodes its active pods are on
            for node in sorted(should_run - placed):
                pod = pod_from_template(ds, template, f"{ds['metadata']['name']}-{self.api.suffix()}", {})
                pod["spec"]["nodeName"] = node  # bound directly; a real DaemonSet pod goes through the scheduler
                pod["spec"]["tolerations"] = tolerations
                self.api.create(PODS, ns, pod)
            if not placed <= may_continue:  # (the pods just made are all on nodes they may stay on)
                for pod in [p for p in index.active(uid) if p["spec"].get("nodeName") not in may_continue]:
                    self.api.retire(PODS, ns, pod["metadata"]["name"])
            ready_on = index.daemon_ready_nodes.get(uid, {})  # after this pass's writes, as a real count would read
            ready = index.ready_count(uid) - sum(ready_on[node] for node in ready_on.keys() - should_run)
            write_status(
                store,
                DAEMONSETS,
                ds,
                {
                    "desiredNumberScheduled": len(should_run),
                    "currentNumberScheduled": len(placed & should_run),
                    "updatedNumberScheduled": len(placed & should_run),
                    "numberReady": ready,
                    "numberAvailable": ready,
                    "numberUnavailable": len(should_run) - ready,
                    "numberMisscheduled": len(placed - should_run),
                },
            )


class JobController(Controller):
    watches = (JOBS, PODS)

    def reconcile(self, index: ClusterIndex) -> None:
        store = self.api.store
        for job in self.live(JOBS, index):
            status = job.get("status") or {}
            if any(
                c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                for c in status.get("conditions") or []
            ):
                continue
            spec, ns = job["spec"], job["metadata"]["namespace"]
            pods = index.owned(job["metadata"]["uid"])
            succeeded = sum(1 for p in pods if p["status"].get("phase") == "Succeeded")
            failed = sum(1 for p in pods if p["status"].get("phase") == "Failed")
            active = [p for p in pods if is_active(p)]
            completions = spec.get("completions", 1)
            now = rfc3339(store.clock.now())
            new: dict[str, Any] = {"succeeded": succeeded, "failed": failed, "active": len(active)}
            if succeeded >= completions:
                new["conditions"] = [{"type": "Complete", "status": "True", "lastTransitionTime": now}]
                new["completionTime"] = now
            elif failed > spec.get("backoffLimit", 6):
                new["conditions"] = [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "lastTransitionTime": now}
                ]
            else:
                labels = {
                    "batch.kubernetes.io/job-name": job["metadata"]["name"],
                    "job-name": job["metadata"]["name"],
                    "batch.kubernetes.io/controller-uid": job["metadata"]["uid"],
                }
                for _ in range(min(spec.get("parallelism", 1), completions - succeeded) - len(active)):
                    name = f"{job['metadata']['name']}-{self.api.suffix()}"
                    self.api.create(PODS, ns, pod_from_template(job, spec["template"], name, labels))
                new.setdefault("startTime", status.get("startTime", now))
            write_status(store, JOBS, job, new)
