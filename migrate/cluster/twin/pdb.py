"""PodDisruptionBudgets: the disruption controller's arithmetic and the eviction subresource's decision.

Mirrors pkg/controller/disruption (status) and pkg/registry/core/pod/storage/eviction.go (decision).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from migrate.clock import parse_rfc3339, rfc3339
from migrate.cluster.twin.index import controller_ref, is_ready
from migrate.cluster.twin.resources import DEPLOYMENTS, PDBS, PODS, REPLICASETS, STATEFULSETS
from migrate.cluster.twin.selectors import LabelSelector, from_label_selector
from migrate.cluster.twin.status import ApiError, bad_request, too_many_requests
from migrate.cluster.twin.store import Event, Store, clone

VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_PDBS = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
Key = tuple[str, str]  # (namespace, name)
DELETION_TIMEOUT = 120.0  # seconds an evicted pod stays out of currentHealthy before the controller stops waiting


def scaled_value(value: int | str, total: int, round_up: bool = True) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, `N%` of total rounded up (or down)."""
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not value.endswith("%"):
        raise bad_request(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")
    try:
        percent = int(value[:-1])
    except ValueError:
        raise bad_request(f"invalid value {value!r}: must be an integer percentage") from None
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


_stamp = functools.lru_cache(maxsize=8192)(parse_rfc3339)  # a disruptedPods time is read again at every refresh


@dataclass(frozen=True)
class Budget:
    """What the disruption controller writes to a PDB's status."""

    expected_pods: int
    desired_healthy: int
    current_healthy: int

    @property
    def disruptions_allowed(self) -> int:
        if self.expected_pods <= 0:
            return 0
        return max(0, self.current_healthy - self.desired_healthy)


def compute_budget(
    spec: dict[str, Any], expected_scale: int | None, pods: list[dict[str, Any]], disrupted: dict[str, str], now: float
) -> Budget:
    """expected_scale: the sum of the owning controllers' replicas, None when it cannot be found."""
    healthy = 0
    for p in pods:  # a plain loop: this runs for every pod of every budget whose pods changed
        meta = p["metadata"]
        if meta.get("deletionTimestamp") or not is_ready(p):
            continue
        if disrupted and meta["name"] in disrupted and _stamp(disrupted[meta["name"]]) + DELETION_TIMEOUT > now:
            continue  # evicted a moment ago: not healthy until the deletion shows or the entry runs out
        healthy += 1
    if spec.get("maxUnavailable") is not None:
        if expected_scale is None:
            return Budget(0, 0, healthy)
        unavailable = scaled_value(spec["maxUnavailable"], expected_scale)
        return Budget(expected_scale, max(0, expected_scale - unavailable), healthy)
    min_available = spec.get("minAvailable", 1)
    if isinstance(min_available, int):
        return Budget(len(pods), min_available, healthy)
    if expected_scale is None:
        return Budget(0, 0, healthy)
    return Budget(expected_scale, scaled_value(min_available, expected_scale), healthy)


def expected_scale(store: Store, namespace: str, pods: list[dict[str, Any]]) -> int | None:
    """Sum of replicas over the distinct scalable controllers of the pods; None if one is not scalable.

    Pods without a controller are ignored, as in the disruption controller since 1.26.
    """
    seen: dict[str, int] = {}
    for pod in pods:
        ref = controller_ref(pod)
        if ref is None:
            continue
        if ref["uid"] in seen:
            continue
        if ref["kind"] == "ReplicaSet":
            rs = store.find(REPLICASETS, namespace, ref["name"])
            if rs is None:
                return None
            owner = controller_ref(rs)
            deploy = (
                store.find(DEPLOYMENTS, namespace, owner["name"]) if owner and owner["kind"] == "Deployment" else None
            )
            source = deploy or rs
            seen[source["metadata"]["uid"]] = source["spec"].get("replicas", 1)
            seen[ref["uid"]] = 0
        elif ref["kind"] == "StatefulSet":
            sts = store.find(STATEFULSETS, namespace, ref["name"])
            if sts is None:
                return None
            seen[ref["uid"]] = sts["spec"].get("replicas", 1)
        else:
            return None  # DaemonSet, Job: no scale subresource, so the controller cannot compute a budget
    return sum(seen.values())


class BudgetPods:
    """Which pods each budget selects, kept from the store's write events (the disruption controller's
    getPodsForPdb answered from its pod informer): a pod write recomputes only the budgets that select it,
    and no budget filters its namespace's pods again."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pods: dict[str, dict[Key, dict[str, Any]]] = {}  # budget uid -> the pods it selects
        self.revision: dict[str, int] = {}  # budget uid -> bumped whenever one of its pods comes, changes or goes
        self._touched: dict[str, int] = {}  # budget uid -> the store revision of that latest bump, oldest first
        self._names: dict[str, Key] = {}  # budget uid -> its (namespace, name)
        self._selectors: dict[str, dict[str, tuple[Any, LabelSelector]]] = {}  # namespace -> uid -> (raw, compiled)
        self._budgets_of: dict[Key, set[str]] = {}  # pod -> the budgets selecting it
        with store.lock:
            for pdb in store.objects(PDBS):
                self._budget(pdb)
            for pod in store.objects(PODS):
                self._pod(None, pod)
            store.subscribe(self.observe, (PODS, PDBS))

    def observe(self, event: Event) -> None:
        if event.resource is PODS:
            self._pod(event.old, None if event.type == "DELETED" else event.object)
        elif event.resource is PDBS:
            if event.type == "DELETED":
                self._forget(event.object["metadata"]["namespace"], event.object["metadata"]["uid"])
                self._names.pop(event.object["metadata"]["uid"], None)
            else:
                self._budget(event.object)

    def _budget(self, pdb: dict[str, Any]) -> None:
        ns, uid, raw = pdb["metadata"]["namespace"], pdb["metadata"]["uid"], pdb["spec"].get("selector")
        self._names[uid] = (ns, pdb["metadata"]["name"])
        known = self._selectors.get(ns, {}).get(uid)
        if known is not None and known[0] == raw:
            return  # a status write, or a spec change that selects the same pods
        self._forget(ns, uid)
        selector = from_label_selector(raw)
        self._selectors.setdefault(ns, {})[uid] = (raw, selector)
        members = self.pods[uid] = {}
        for pod in self.store.objects(PODS, ns):
            if selector.matches(pod["metadata"].get("labels")):
                key = (ns, pod["metadata"]["name"])
                members[key] = pod
                self._budgets_of.setdefault(key, set()).add(uid)

    def _forget(self, ns: str, uid: str) -> None:
        self._selectors.get(ns, {}).pop(uid, None)
        for key in self.pods.pop(uid, {}):
            self._budgets_of.get(key, set()).discard(uid)
        self._bump(uid)

    def _pod(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        meta = (new or old or {})["metadata"]
        key = (meta["namespace"], meta["name"])
        if old is not None and new is not None and old["metadata"].get("labels") == new["metadata"].get("labels"):
            after = self._budgets_of.get(key, set())  # the same labels (a status write, a binding): the same budgets
        else:
            before = self._budgets_of.pop(key, set())
            labels = new["metadata"].get("labels") if new is not None else None
            after = set() if new is None else {uid for uid, (_, selector) in self._selectors.get(key[0], {}).items()
                                                if selector.matches(labels)}
            for uid in before - after:
                self.pods[uid].pop(key, None)
                self._bump(uid)
            if after:
                self._budgets_of[key] = after
        for uid in after:
            self.pods[uid][key] = new  # type: ignore[assignment]  # after is empty when new is None
            self._bump(uid)

    def _bump(self, uid: str) -> None:
        self.revision[uid] = self.revision.get(uid, 0) + 1
        self._touched.pop(uid, None)  # re-inserted last: ordered by latest bump
        self._touched[uid] = self.store.revision

    def touched_since(self, revision: int) -> list[Key]:
        """Budgets whose selected pods came, changed or went after `revision` (the disruption controller's queue)."""
        keys = []
        for uid, when in reversed(self._touched.items()):
            if when <= revision:
                break
            if (key := self._names.get(uid)) is not None:
                keys.append(key)
        return keys


class DisruptionController:
    """Keeps every PDB's status current, as kube-controller-manager's disruption controller does."""

    watches = (PDBS, PODS)

    def __init__(self, store: Store):
        self.store = store
        self.members = BudgetPods(store)
        self._seen: dict[str, tuple[str, int, float | None]] = {}  # uid -> (its version, its pods', when it expires)
        self._expiring: dict[str, tuple[str, str, float]] = {}  # uid -> (namespace, name, its first entry's expiry)

    def reconcile(self, index: Any) -> None:
        now = self.store.clock.now()
        dirty, since = index.pass_dirty, index.pass_since
        if dirty is None or since is None:
            budgets = list(self.store.objects(PDBS))
        else:  # written, their pods changed, or an entry ran out in a namespace written to: in a full walk's order
            ran_out = [(ns, name) for ns, name, when in self._expiring.values() if when <= now and ns in dirty]
            keys = index.in_store_order(PDBS, [*index.written_since(PDBS, since), *self.members.touched_since(since),
                                               *ran_out])
            budgets = [pdb for key in keys if (pdb := self.store.find(PDBS, *key)) is not None]
        # a disrupted-pod entry running out changes a status without any write (upstream: its recheck queue)
        budgets += [pdb for ns, name, when in self._expiring.values() if when <= now and (dirty is None or ns not in dirty)
                    and (pdb := self.store.find(PDBS, ns, name)) is not None]
        revision = self.members.revision
        for pdb in budgets:
            uid = pdb["metadata"]["uid"]
            seen = self._seen.get(uid)
            # the same budget object over the same pods, and no disrupted-pod entry run out: the status stands
            if seen and seen[:2] == (pdb["metadata"]["resourceVersion"], revision.get(uid, 0)) and (seen[2] is None or now < seen[2]):
                continue
            pdb = refresh_status(self.store, pdb, list(self.members.pods.get(uid, {}).values()))
            expiry = _expiry(pdb)
            self._seen[uid] = (pdb["metadata"]["resourceVersion"], revision.get(uid, 0), expiry)
            if expiry is None:
                self._expiring.pop(uid, None)
            else:
                self._expiring[uid] = (pdb["metadata"]["namespace"], pdb["metadata"]["name"], expiry)

    def next_due(self, now: float) -> float | None:
        """The next disrupted-pod entry to run out (the twin runs it then at its next pass; it schedules no moment)."""
        return min((when for _, _, when in self._expiring.values() if when > now), default=None)


def _expiry(pdb: dict[str, Any]) -> float | None:
    """When the first disruptedPods entry times out (the status changes then without any write)."""
    stamps = [_stamp(t) + DELETION_TIMEOUT for t in ((pdb.get("status") or {}).get("disruptedPods") or {}).values()]
    return min(stamps) if stamps else None


def refresh_status(store: Store, pdb: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
    """Recompute one PDB's status from the pods it selects; writes only when it changed."""
    ns = pdb["metadata"]["namespace"]
    now = store.clock.now()
    status = pdb.get("status") or {}
    entries = status.get("disruptedPods") or {}
    standing = {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")} if entries else set()
    disrupted = {n: t for n, t in entries.items() if n in standing and _stamp(t) + DELETION_TIMEOUT > now}
    scale = expected_scale(store, ns, pods) if _needs_scale(pdb["spec"]) else None
    budget = compute_budget(pdb["spec"], scale, pods, disrupted, now)
    allowed = budget.disruptions_allowed
    new_status = {
        "observedGeneration": pdb["metadata"].get("generation", 1),
        "disruptionsAllowed": allowed,
        "currentHealthy": budget.current_healthy,
        "desiredHealthy": budget.desired_healthy,
        "expectedPods": budget.expected_pods,
        "conditions": [_condition(status, allowed > 0, now)],
    }
    if disrupted:
        new_status["disruptedPods"] = disrupted
    if new_status == status:
        return pdb
    return store.update(PDBS, {**pdb, "status": new_status}, status=True, force=True, owned=True)


def _needs_scale(spec: dict[str, Any]) -> bool:
    return spec.get("maxUnavailable") is not None or isinstance(spec.get("minAvailable"), str)


def _condition(status: dict[str, Any], allowed: bool, now: float) -> dict[str, Any]:
    value = "True" if allowed else "False"
    old = next((c for c in status.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None)
    since = old["lastTransitionTime"] if old and old.get("status") == value else rfc3339(now)
    return {
        "type": "DisruptionAllowed",
        "status": value,
        "reason": "SufficientPods" if allowed else "InsufficientPods",
        "message": "",
        "lastTransitionTime": since,
        "observedGeneration": status.get("observedGeneration", 1),
    }


def covering_pdbs(store: Store, pod: dict[str, Any]) -> list[dict[str, Any]]:
    labels = pod["metadata"].get("labels")
    return [p for p in store.objects(PDBS, pod["metadata"]["namespace"]) if _compiled(p["spec"]).matches(labels)]


_SELECTORS: dict[int, tuple[dict[str, Any], LabelSelector]] = {}  # id(spec) -> (the spec, held: the id stays its own)


def _compiled(spec: dict[str, Any]) -> LabelSelector:
    """A budget's selector compiled once per stored spec (stored objects are never mutated; a status write keeps
    the spec object), not once per eviction."""
    known = _SELECTORS.get(id(spec))
    if known is None or known[0] is not spec:
        if len(_SELECTORS) >= 4096:
            _SELECTORS.clear()  # specs of long-gone budgets are not kept alive
        known = _SELECTORS[id(spec)] = (spec, from_label_selector(spec.get("selector")))
    return known[1]


def still_processing(name: str) -> ApiError:
    return too_many_requests(
        VIOLATION,
        [
            {
                "reason": "DisruptionBudget",
                "message": f"The disruption budget {name} is still being processed by the server.",
            }
        ],
    )


def admit_eviction(store: Store, pod: dict[str, Any], dry_run: bool = False) -> None:
    """Raise the API error an eviction gets, or return when the pod may be deleted (decrementing the budget)."""
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed", "Pending") or pod["metadata"].get("deletionTimestamp"):
        return  # terminal, not yet running, or already going: no disruption to account for
    pdbs = covering_pdbs(store, pod)
    if len(pdbs) > 1:
        raise ApiError(500, "", MULTIPLE_PDBS)
    if not pdbs:
        return
    pdb = pdbs[0]
    name, status = pdb["metadata"]["name"], pdb.get("status") or {}
    if not is_ready(pod):
        if pdb["spec"].get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
            return
        if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
            raise still_processing(name)
        if status.get("currentHealthy", 0) >= status.get("desiredHealthy", 0) and status.get("desiredHealthy", 0) > 0:
            return  # IfHealthyBudget: the application is not disrupted, an unready pod may go
    if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
        raise still_processing(name)
    allowed = status.get("disruptionsAllowed", 0)
    if allowed < 0:
        raise ApiError(
            403, "Forbidden", f'poddisruptionbudgets.policy "{name}" is forbidden: pdb disruptions allowed is negative'
        )
    if allowed == 0:
        raise too_many_requests(
            VIOLATION,
            [
                {
                    "reason": "DisruptionBudget",
                    "message": f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} healthy pods and has {status.get('currentHealthy', 0)} currently",
                }
            ],
        )
    if dry_run:
        return
    new_status = clone(status)
    new_status["disruptionsAllowed"] = allowed - 1
    new_status.setdefault("disruptedPods", {})[pod["metadata"]["name"]] = rfc3339(store.clock.now())
    if allowed - 1 == 0:
        new_status["conditions"] = [_condition(status, False, store.clock.now())]
    store.update(PDBS, {**pdb, "status": new_status}, status=True)
