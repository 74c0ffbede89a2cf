"""The Deployment controller: one ReplicaSet per template, rolled out as pkg/controller/deployment does.

RollingUpdate scales the new ReplicaSet up within maxSurge and the old ones down within maxUnavailable,
one step per pass (the arithmetic is rollout.py); Recreate scales the old sets to zero and waits until
their pods are gone before the new one scales up. Revisions, the desired/max-replicas annotations,
revisionHistoryLimit and the Available/Progressing conditions follow the real controller.
"""
# exercised by tests/cluster/twin/test_rollout.py

from __future__ import annotations

import hashlib
import json
from typing import Any

from migrate.clock import rfc3339
from migrate.cluster.twin.api import NAME_ALPHABET
from migrate.cluster.twin.controllers import Controller, owner_reference, touched_owners, write_status
from migrate.cluster.twin.index import ClusterIndex, controller_ref
from migrate.cluster.twin.resources import DEPLOYMENTS, PODS, REPLICASETS
from migrate.cluster.twin.rollout import (
    SetCount,
    fenceposts,
    is_recreate,
    max_unavailable,
    new_replicaset_target,
    old_replicaset_targets,
)
from migrate.cluster.twin.store import clone

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"


def template_hash(template: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(NAME_ALPHABET[b % len(NAME_ALPHABET)] for b in digest[:10])


def revision_of(obj: dict[str, Any]) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, 0))
    except ValueError:
        return 0


def _normal(template: dict[str, Any]) -> str:
    """A pod template as the Deployment controller compares it: canonical, without the pod-template-hash label."""
    meta = template.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    return json.dumps({**template, "metadata": {**meta, "labels": labels}}, sort_keys=True)


class TemplateForms:
    """Each template's canonical form, computed once per template object: stored objects are never mutated, so
    a set's or a Deployment's template compares by the string made when it was first seen."""

    LIMIT = 4096  # forgotten all at once past this many: templates of long-gone objects are not kept alive

    def __init__(self) -> None:
        self._forms: dict[int, tuple[dict[str, Any], str]] = {}  # id -> (the template, held so the id stays its own)

    def same(self, rs_template: dict[str, Any], deploy_template: dict[str, Any]) -> bool:
        """Equal but for the pod-template-hash label, as the Deployment controller compares them."""
        return rs_template is deploy_template or self._form(rs_template) == self._form(deploy_template)

    def _form(self, template: dict[str, Any]) -> str:
        known = self._forms.get(id(template))
        if known is None or known[0] is not template:
            if len(self._forms) >= self.LIMIT:
                self._forms.clear()
            known = self._forms[id(template)] = (template, _normal(template))
        return known[1]


def _controlled_by_deployment(rs: dict[str, Any]) -> bool:
    ref = controller_ref(rs)
    return ref is not None and ref["kind"] == "Deployment"


def _oldest_first(rs: dict[str, Any]) -> tuple[str, str]:
    return rs["metadata"]["creationTimestamp"], rs["metadata"]["name"]


def _inputs(deploy: dict[str, Any], sets: list[dict[str, Any]], index: ClusterIndex) -> tuple[Any, ...]:
    """What a sync reads of its ReplicaSets: their specs and annotations (not their status, which the
    ReplicaSet controller rewrites with every pod), and of their pods what it counts: active, Ready, any left
    (a DisruptionTarget condition or a terminating pod's phase changes none of these); a Recreate rollout also
    waits on terminating pods, so there every pod write counts. Compared by identity first."""
    recreate = is_recreate(deploy["spec"])
    return tuple((rs["metadata"]["uid"], rs["spec"], rs["metadata"].get("annotations"),
                  index.pods_rev.get(rs["metadata"]["uid"], 0) if recreate else
                  (len(index.active_by_owner.get(rs["metadata"]["uid"], ())), index.ready_count(rs["metadata"]["uid"]),
                   rs["metadata"]["uid"] in index.by_owner)) for rs in sets)


class DeploymentController(Controller):
    watches = (DEPLOYMENTS, REPLICASETS, PODS)

    def __init__(self, api: Any) -> None:
        super().__init__(api)
        self._seen: dict[str, tuple[Any, ...]] = {}  # uid -> what its last sync read (see _inputs)
        self._templates = TemplateForms()

    def pending(self, index: ClusterIndex) -> list[tuple[dict[str, Any], list[dict[str, Any]], tuple[Any, ...]]]:
        """The Deployments this pass syncs, with their sets and what the sync reads of them (see _inputs): those
        queued (written, or their sets or those sets' pods changed) whose inputs differ from their last sync's."""
        pending = []
        for deploy in self.queue(DEPLOYMENTS, index, self._touched(index)):
            uid = deploy["metadata"]["uid"]
            sets = sorted((rs for rs in index.sets_by_owner.get(uid, {}).values()
                           if not rs["metadata"].get("deletionTimestamp") and _controlled_by_deployment(rs)),
                          key=_oldest_first)
            sets_read = _inputs(deploy, sets, index)
            seen = self._seen.get(uid)
            if seen is None or seen[0] is not deploy or seen[1] != sets_read:
                pending.append((deploy, sets, sets_read))
        return pending

    def reconcile(self, index: ClusterIndex) -> None:
        store = self.api.store
        for deploy, sets, sets_read in self.pending(index):  # a sync writes only its own sets: the list holds
            uid = deploy["metadata"]["uid"]
            self._sync(deploy, sets, index)
            # itself as its own writes left it (they bring nothing new), its sets and pods as it read them (its
            # writes to those are news: a rollout's next step waits for them, as its informer would requeue it)
            fresh = store.find(DEPLOYMENTS, deploy["metadata"]["namespace"], deploy["metadata"]["name"])
            if fresh is not None:
                self._seen[uid] = (fresh, sets_read)

    def _touched(self, index: ClusterIndex) -> list[tuple[str, str]]:
        """Deployments whose ReplicaSets changed, or one of whose sets' pods did (found through that set)."""
        store, keys = self.api.store, touched_owners(index, "Deployment")
        for ns, name in touched_owners(index, "ReplicaSet"):
            ref = controller_ref(rs) if (rs := store.find(REPLICASETS, ns, name)) is not None else None
            if ref and ref.get("kind") == "Deployment":
                keys.append((ns, ref["name"]))
        return keys

    def _sync(self, deploy: dict[str, Any], sets: list[dict[str, Any]], index: ClusterIndex) -> None:
        spec = deploy["spec"]
        current = next((rs for rs in sets if self._templates.same(rs["spec"]["template"], spec["template"])), None)
        old = [rs for rs in sets if rs is not current]
        # the new ReplicaSet's revision is one past every old one's (so `rollout undo` re-numbers the one it revives)
        revision = max((revision_of(rs) for rs in old), default=0) + 1
        if spec.get("paused"):
            self._status(deploy, current, sets, index, created=False)
            return
        created = current is None
        if current is None:
            current = self._new_replicaset(deploy, str(revision), self._first_scale(deploy, old, index))
        elif revision_of(current) < revision:
            current = self._scale(deploy, current, current["spec"].get("replicas", 1), revision=revision)
        self._annotate_revision(deploy, current)
        if is_recreate(spec):
            self._recreate(deploy, current, old, index)
        else:
            self._roll(deploy, current, old, index)
        self._status(deploy, current, sets if not created else [*sets, current], index, created)
        self._prune_history(deploy, current, old, index)

    def _first_scale(self, deploy: dict[str, Any], old: list[dict[str, Any]], index: ClusterIndex) -> int:
        spec = deploy["spec"]
        total = sum(rs["spec"].get("replicas", 1) for rs in old)
        if is_recreate(spec):
            return 0 if total or self._old_pods(old, index) else spec.get("replicas", 1)
        return new_replicaset_target(spec.get("replicas", 1), fenceposts(spec).surge, total, 0)

    def _roll(self, deploy: dict[str, Any], current: dict[str, Any], old: list[dict[str, Any]], index: ClusterIndex) -> None:
        spec = deploy["spec"]
        desired, bounds = spec.get("replicas", 1), fenceposts(spec)
        new = current["spec"].get("replicas", 1)
        total = new + sum(rs["spec"].get("replicas", 1) for rs in old)
        target = new_replicaset_target(desired, bounds.surge, total, new)
        if target != new:
            self._scale(deploy, current, target)
            if target > new:
                return  # scaled up: the old sets move on a later pass, once the new pods count
        counts = [SetCount(rs["spec"].get("replicas", 1), self._available(rs, index)) for rs in old]
        targets = old_replicaset_targets(desired, bounds.unavailable, target, self._available(current, index), counts)
        for rs, replicas in zip(old, targets, strict=True):
            if replicas != rs["spec"].get("replicas", 1):
                self._scale(deploy, rs, replicas)

    def _recreate(self, deploy: dict[str, Any], current: dict[str, Any], old: list[dict[str, Any]], index: ClusterIndex) -> None:
        for rs in old:
            if rs["spec"].get("replicas", 1):
                self._scale(deploy, rs, 0)
        desired = deploy["spec"].get("replicas", 1)
        if current["spec"].get("replicas", 1) != desired and not self._old_pods(old, index):
            self._scale(deploy, current, desired)

    @staticmethod
    def _old_pods(old: list[dict[str, Any]], index: ClusterIndex) -> bool:
        """Recreate waits for every old pod to be gone, terminating ones included."""
        return any((p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                   for rs in old for p in index.owned(rs["metadata"]["uid"]))

    @staticmethod
    def _available(rs: dict[str, Any], index: ClusterIndex) -> int:
        return index.ready_count(rs["metadata"]["uid"])

    def _scale(self, deploy: dict[str, Any], rs: dict[str, Any], replicas: int, revision: int | None = None) -> dict[str, Any]:
        """scaleReplicaSet: the new size with the desired/max-replicas annotations a rollout leaves on each set."""
        desired = deploy["spec"].get("replicas", 1)
        annotations = {**(rs["metadata"].get("annotations") or {}), DESIRED_REPLICAS: str(desired),
                       MAX_REPLICAS: str(desired + (0 if is_recreate(deploy["spec"]) else fenceposts(deploy["spec"]).surge))}
        if revision is not None:
            annotations[REVISION] = str(revision)
        return self.api.store.update(REPLICASETS, {**rs, "metadata": {**rs["metadata"], "annotations": annotations},
                                                   "spec": {**rs["spec"], "replicas": replicas}}, force=True)

    def _annotate_revision(self, deploy: dict[str, Any], current: dict[str, Any]) -> None:
        annotations = deploy["metadata"].get("annotations") or {}
        if annotations.get(REVISION) != current["metadata"]["annotations"][REVISION]:
            annotations = {**annotations, REVISION: current["metadata"]["annotations"][REVISION]}
            self.api.store.update(DEPLOYMENTS, {**deploy, "metadata": {**deploy["metadata"], "annotations": annotations}},
                                  force=True)

    def _prune_history(self, deploy: dict[str, Any], current: dict[str, Any], old: list[dict[str, Any]],
                       index: ClusterIndex) -> None:
        """cleanupDeployment: beyond revisionHistoryLimit, the oldest empty old ReplicaSets are deleted."""
        limit = deploy["spec"].get("revisionHistoryLimit", 10)
        empty = [rs for rs in old if not rs["spec"].get("replicas", 1) and rs["metadata"]["uid"] not in index.by_owner]
        for rs in sorted(empty, key=revision_of)[: max(0, len(empty) - limit)]:
            self.api.retire(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _status(self, deploy: dict[str, Any], current: dict[str, Any] | None, sets: list[dict[str, Any]],
                index: ClusterIndex, created: bool) -> None:
        """calculateStatus, counting pods from the index (a real controller reads the sets' status)."""
        spec = deploy["spec"]
        desired = spec.get("replicas", 1)
        replicas = sum(len(index.active_by_owner.get(rs["metadata"]["uid"], ())) for rs in sets)
        updated = len(index.active_by_owner.get(current["metadata"]["uid"], ())) if current else 0
        ready = sum(index.ready_count(rs["metadata"]["uid"]) for rs in sets)
        fresh = (self.api.store.find(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"]) for rs in sets)
        wanted = sum(rs["spec"].get("replicas", 1) for rs in fresh if rs is not None)  # as scaled in this pass
        available = ready >= desired - max_unavailable(spec)
        complete = current is not None and updated == desired and replicas == desired and ready == desired
        name = current["metadata"]["name"] if current else deploy["metadata"]["name"]
        if spec.get("paused"):
            progressing = ("Unknown", "DeploymentPaused", "Deployment is paused")
        elif complete:
            progressing = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{name}" has successfully progressed.')
        elif created:
            progressing = ("True", "NewReplicaSetCreated", f'Created new replica set "{name}"')
        else:
            progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.')
        conditions = [
            ("Available", "True" if available else "False",
             "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
             "Deployment has minimum availability." if available else "Deployment does not have minimum availability."),
            ("Progressing", *progressing),
        ]
        now = rfc3339(self.api.store.clock.now())
        write_status(self.api.store, DEPLOYMENTS, deploy, {
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(0, wanted - ready),
            "conditions": [self._condition(deploy, now, *c) for c in conditions],
        })

    @staticmethod
    def _condition(deploy: dict[str, Any], now: str, kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
        """A condition keeps its times while nothing about it changes, so a settled Deployment writes nothing."""
        before: dict[str, Any] = next(
            (c for c in (deploy.get("status") or {}).get("conditions") or [] if c.get("type") == kind), {})
        same = before.get("status") == status and before.get("reason") == reason and before.get("message") == message
        return {"type": kind, "status": status, "reason": reason, "message": message,
                "lastUpdateTime": before.get("lastUpdateTime", now) if same else now,
                "lastTransitionTime": before.get("lastTransitionTime", now) if before.get("status") == status else now}

    def _new_replicaset(self, deploy: dict[str, Any], revision: str, replicas: int) -> dict[str, Any]:
        spec = deploy["spec"]
        h = template_hash(spec["template"])
        template = clone(spec["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
        selector = clone(spec["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = h
        desired = spec.get("replicas", 1)
        surge = 0 if is_recreate(spec) else fenceposts(spec).surge
        rs = {
            "metadata": {
                "name": f"{deploy['metadata']['name']}-{h}",
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {**{k: v for k, v in (deploy["metadata"].get("annotations") or {}).items() if k == CHANGE_CAUSE},
                                DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(desired + surge), REVISION: revision},
                "ownerReferences": [owner_reference(deploy)],
            },
            "spec": {"replicas": replicas, "minReadySeconds": spec.get("minReadySeconds", 0),
                     "selector": selector, "template": template},
        }
        return self.api.create(REPLICASETS, deploy["metadata"]["namespace"], rs)
