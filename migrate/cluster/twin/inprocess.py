"""The twin as a `Cluster` without HTTP: what a rehearsal drives, so 4,000 pods cost no JSON round trips.

The same answers as `KubeCluster` over the twin's HTTP facade (the same API code decides them, and the same
`objects.py` readers turn them into results), the controllers acting when the facade lets them (pacing.py); 5xx,
429 and timeouts retried with capped, jittered backoff on the run's clock, as the client is. `faults` may answer a call with an HTTP code instead (the rehearsal's fault injection), and `calls`
counts what the run asked, by verb, so the cost of a drain is measured in API calls.
"""
# exercised by tests/cluster/twin/test_inprocess.py

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from migrate.cluster.base import (
    WATCH_SECONDS,
    BootstrapToken,
    ConfigMap,
    DisruptionBudget,
    EvictionOutcome,
    EvictionResult,
    Lease,
    Node,
    NodeHolds,
    Pod,
    PodsHold,
    Taint,
)
from migrate.cluster.objects import (
    bootstrap_token_from,
    bootstrap_token_secret,
    configmap_from,
    event_body,
    lease_body,
    lease_from,
    node_from,
    pdb_from,
    pod_from,
)
from migrate.cluster.twin.pacing import Pacing
from migrate.cluster.twin.resources import CONFIGMAPS, DAEMONSETS, EVENTS, LEASES, NODES, PDBS, PODS, SECRETS
from migrate.cluster.twin.simulation import Twin
from migrate.cluster.twin.store import Event
from migrate.cluster.twin.status import ApiError
from migrate.cluster.verbs import NodeAndPodVerbs
from migrate.errors import UserError

TRANSIENT = {429, 500, 502, 503, 504}  # what the client retries (a 500 naming two budgets is an answer, not a blip)
EVICTION_ANSWERS = frozenset({403, 404, 409, 422, 429})  # what kubectl's drain reads as the eviction's verdict
STRATEGIC = "application/strategic-merge-patch+json"
PDB_NAME = re.compile(r"The disruption budget (\S+) ")
T = TypeVar("T")
R = TypeVar("R")
Faults = Callable[[str], "int | None"]  # verb -> an HTTP code to answer instead (504 = the request timed out)


class InProcessCluster(NodeAndPodVerbs):
    def __init__(self, twin: Twin, *, faults: Faults | None = None, attempts: int = 6, backoff: float = 0.2,
                 max_backoff: float = 5.0, seed: int = 0) -> None:
        self.twin, self.clock, self.faults = twin, twin.clock, faults
        self.attempts, self.backoff, self.max_backoff = attempts, backoff, max_backoff
        self._jitter = random.Random(seed)
        self.server = "twin (in process)"
        self.calls: Counter[str] = Counter()  # verb -> requests made, retries included
        self.retried: Counter[int] = Counter()  # HTTP code -> requests retried after it
        self.pacing = Pacing(twin)
        self._pod, self._node = ReadOnce(pod_from), ReadOnce(node_from)
        # an informer's view of pod LISTs: (namespace, labels, fields) -> (revision read at, the pods it answered)
        self._pod_lists: dict[tuple[str | None, str | None, str | None], tuple[int, list[Pod]]] = {}
        self._pods_written: dict[str, int] = {}  # namespace -> revision of its latest pod write
        self._any_pod_written = 0
        twin.store.subscribe(self._pod_written, kinds=(PODS,))

    def close(self) -> None:
        self.pacing.close()

    # --- transport -----------------------------------------------------------------------------
    def _send(self, verb: str, fn: Callable[[], Any], *, write: bool = False) -> Any:
        """One request: a fault if one is due, else the call, paced as the facade paces it (pacing.py)."""
        self.calls[verb] += 1
        code = self.faults(verb) if self.faults is not None else None
        if code:
            raise ApiError(code, "Timeout" if code == 504 else "InternalError", f"injected fault: HTTP {code}")
        self.pacing.before(write=write)
        return fn()

    def _call(self, verb: str, fn: Callable[[], Any], *, write: bool = False, missing_ok: bool = False,
              conflict_ok: bool = False, answers: frozenset[int] = frozenset()) -> Any:
        """Retried on transient codes; codes in `answers` reach the caller as the ApiError they are."""
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return self._send(verb, fn, write=write)
            except ApiError as exc:
                if (exc.code == 404 and missing_ok) or (exc.code == 409 and conflict_ok):
                    return None
                if exc.code in answers or (exc.code == 500 and "more than one" in exc.message):
                    raise
                if exc.code not in TRANSIENT or attempt == self.attempts:
                    raise UserError(f"the API server at {self.server} refused: {exc.message} (HTTP {exc.code})",
                                    where=verb) from None
                self.retried[exc.code] += 1
            self.clock.sleep(min(delay, self.max_backoff) * (0.5 + self._jitter.random() / 2))
            delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")

    def _items(self, verb: str, rt: Any, namespace: str | None = None, labels: str | None = None,
               fields: str | None = None) -> list[dict[str, Any]]:
        return list(self._call(verb, lambda: self.twin.api.list(rt, namespace, labels, fields).items))

    # --- nodes ---------------------------------------------------------------------------------
    def list_nodes(self, label_selector: str | None = None) -> list[Node]:
        return [self._node(o) for o in self._items("list nodes", NODES, None, label_selector)]

    def get_node(self, name: str) -> Node | None:
        obj = self._call("get node", lambda: self.twin.api.get(NODES, "", name), missing_ok=True)
        return self._node(obj) if obj else None

    def _patch_node(self, name: str, patch: dict[str, Any], content_type: str = STRATEGIC) -> Node:
        return node_from(self._call("patch node", lambda: self.twin.api.patch(NODES, "", name, patch, content_type),
                                    write=True))

    def set_taints(self, name: str, taints: Sequence[Taint]) -> Node:
        return self._patch_node(name, {"spec": {"taints": [t.to_api() for t in taints]}}, "application/merge-patch+json")

    def delete_node(self, name: str) -> bool:
        return self._call("delete node", lambda: self.twin.api.delete(NODES, "", name), write=True,
                          missing_ok=True) is not None

    # --- pods ----------------------------------------------------------------------------------
    def list_pods(self, node_name: str | None = None, namespace: str | None = None,
                  label_selector: str | None = None) -> list[Pod]:
        fields = f"spec.nodeName={node_name}" if node_name else None
        return list(self._call("list pods", lambda: self._read_pods(namespace, label_selector, fields)))

    def _read_pods(self, namespace: str | None, labels: str | None, fields: str | None) -> list[Pod]:
        """The pods a LIST answers. While no pod in its scope (its namespace, else any) was written since the same
        LIST was last answered, the answer is that one again (same stored objects, same order): a drain that reads
        a namespace before every wave re-reads only the namespaces that changed, as an informer's cache would."""
        key = (namespace, labels, fields)
        cached = self._pod_lists.get(key)
        written = self._any_pod_written if namespace is None else self._pods_written.get(namespace, 0)
        if cached is not None and cached[0] >= written:
            return cached[1]
        revision = self.twin.store.revision  # taken first: a write racing the read makes the answer stale, not wrong
        pods = [self._pod(o) for o in self.twin.api.list(PODS, namespace, labels, fields).items]
        self._pod_lists[key] = (revision, pods)
        return pods

    def _pod_written(self, event: Event) -> None:
        self._pods_written[event.object["metadata"].get("namespace", "")] = self._any_pod_written = event.revision

    def get_pod(self, namespace: str, name: str) -> Pod | None:
        obj = self._call("get pod", lambda: self.twin.api.get(PODS, namespace, name), missing_ok=True)
        return self._pod(obj) if obj else None

    def wait_pods(self, until: PodsHold, timeout: float, *, node_name: str | None = None,
                  namespace: str | None = None) -> list[Pod]:
        fields = f"spec.nodeName={node_name}" if node_name else None
        pods: list[Pod] = self._follow("pods", lambda: self._read_pods(namespace, None, fields), until, timeout)
        return list(pods)  # the caller's own list: the one read is kept for the next LIST

    def wait_node(self, name: str, until: NodeHolds, timeout: float) -> Node | None:
        def read() -> Node | None:
            obj = self.twin.store.find(NODES, "", name)
            return self._node(obj) if obj else None
        return self._follow("node", read, until, timeout)

    def _follow(self, what: str, read: Callable[[], T], until: Callable[[T], bool], timeout: float) -> T:
        """A watch in virtual time: one LIST, then one WATCH request per WATCH_SECONDS during which the twin moves
        from one due moment to the next (each a change a watch would deliver) until `until` holds."""
        seen: T = self._call(f"list {what}", read)
        deadline = self.clock.now() + timeout
        while not until(seen) and (left := deadline - self.clock.now()) > 0:
            self._call(f"watch {what}", lambda: None)
            self.twin.run_until(lambda: until(read()), timeout=min(left, WATCH_SECONDS))
            seen = read()
        return seen

    def evict_pod(self, namespace: str, name: str, grace_period_seconds: int | None = None,
                  dry_run: bool = False) -> EvictionResult:
        """429 is the budget's answer (retried by the drain, not here); 5xx and timeouts are retried like any call."""
        options: dict[str, Any] = {}
        if grace_period_seconds is not None and grace_period_seconds >= 0:
            options["gracePeriodSeconds"] = grace_period_seconds
        body = {"metadata": {"name": name, "namespace": namespace}, "deleteOptions": options}
        key = f"{namespace}/{name}"
        try:
            self._call("evict pod", lambda: self.twin.api.evict(namespace, name, body, dry_run=dry_run), write=True,
                       answers=EVICTION_ANSWERS)
        except ApiError as exc:
            return _eviction_result(key, exc)
        return EvictionResult(key, EvictionOutcome.EVICTED)

    def delete_pod(self, namespace: str, name: str, grace_period_seconds: int | None = None) -> bool:
        options = {"gracePeriodSeconds": grace_period_seconds} if grace_period_seconds is not None else {}
        return self._call("delete pod", lambda: self.twin.api.delete(PODS, namespace, name, options), write=True,
                          missing_ok=True) is not None

    def daemonset_exists(self, namespace: str, name: str) -> bool:
        return self._call("get daemonset", lambda: self.twin.api.get(DAEMONSETS, namespace, name),
                          missing_ok=True) is not None

    # --- budgets, config, tokens, events -------------------------------------------------------
    def list_pdbs(self, namespace: str | None = None) -> list[DisruptionBudget]:
        return [pdb_from(o) for o in self._items("list poddisruptionbudgets", PDBS, namespace)]

    def get_configmap(self, namespace: str, name: str) -> ConfigMap | None:
        obj = self._call("get configmap", lambda: self.twin.api.get(CONFIGMAPS, namespace, name), missing_ok=True)
        return configmap_from(obj) if obj else None

    def create_bootstrap_token(self, token: BootstrapToken) -> None:
        self._call("create secret", lambda: self.twin.api.create(SECRETS, "kube-system", bootstrap_token_secret(token)),
                   write=True)

    def get_bootstrap_token(self, token_id: str) -> BootstrapToken | None:
        obj = self._call("get secret", lambda: self.twin.api.get(SECRETS, "kube-system", f"bootstrap-token-{token_id}"),
                         missing_ok=True)
        return bootstrap_token_from(obj) if obj else None

    def delete_bootstrap_token(self, token_id: str) -> bool:
        return self._call("delete secret", lambda: self.twin.api.delete(SECRETS, "kube-system",
                                                                         f"bootstrap-token-{token_id}"),
                          write=True, missing_ok=True) is not None

    def record_event(self, namespace: str, involved: Node | Pod, reason: str, message: str,
                     type_: str = "Normal") -> None:
        event = event_body(namespace, involved, reason, message, type_, self.clock.now())
        self._call("create event", lambda: self.twin.api.create(EVENTS, namespace, event), write=True)

    # --- leases: the migration's lock ------------------------------------------------------------
    def get_lease(self, namespace: str, name: str) -> Lease | None:
        obj = self._call("get lease", lambda: self.twin.api.get(LEASES, namespace, name), missing_ok=True)
        return lease_from(obj) if obj else None

    def create_lease(self, lease: Lease) -> Lease | None:
        obj = self._call("create lease", lambda: self.twin.api.create(LEASES, lease.namespace, lease_body(lease)),
                         write=True, conflict_ok=True)
        return lease_from(obj) if obj else None

    def update_lease(self, lease: Lease) -> Lease | None:
        obj = self._call("update lease", lambda: self.twin.api.put(LEASES, lease.namespace, lease.name,
                                                                    lease_body(lease))[0],
                         write=True, conflict_ok=True, missing_ok=True)
        return lease_from(obj) if obj else None


class ReadOnce(Generic[R]):
    """Stored objects never change (a write stores a new one), so what is read from one object is read once: a
    drain's polls of 4,000 pods, a verify's looks at 200 nodes, do not parse them again and again."""

    def __init__(self, read: Callable[[dict[str, Any]], R]) -> None:
        self._read = read
        self._seen: dict[tuple[str, str], tuple[dict[str, Any], R]] = {}  # key -> (stored object, read from it)

    def __call__(self, obj: dict[str, Any]) -> R:
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        seen = self._seen.get(key)
        if seen is None or seen[0] is not obj:
            seen = self._seen[key] = (obj, self._read(obj))
        return seen[1]


def _eviction_result(key: str, exc: ApiError) -> EvictionResult:
    """The eviction's verdict as `KubeCluster.evict_pod` reads it: 429 blocked (naming the budget), 404 gone."""
    causes = " ".join(c.get("message", "") for c in (exc.details or {}).get("causes") or [])
    if exc.code == 429:
        match = PDB_NAME.search(causes)
        return EvictionResult(key, EvictionOutcome.BLOCKED_BY_PDB, match[1] if match else None,
                              f"{exc.message} {causes}".strip())
    if exc.code == 404:
        return EvictionResult(key, EvictionOutcome.NOT_FOUND, None, exc.message)
    if exc.code == 500:
        return EvictionResult(key, EvictionOutcome.MULTIPLE_PDBS, None, exc.message)
    if exc.code in (401, 403) and "NamespaceTerminating" not in exc.message:
        raise UserError(f"forbidden by the API server at twin: {exc.message}", where=f"evict pod {key}")
    return EvictionResult(key, EvictionOutcome.REFUSED, None, exc.message)
