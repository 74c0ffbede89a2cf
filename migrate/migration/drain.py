"""Drain with kubectl's semantics: refuse all-or-nothing with the override named, evict through policy/v1 (a
PodDisruptionBudget answers 429: retry with backoff until the timeout), a pod is gone on 404 or a new uid.
On timeout the drain FAILS and the node stays cordoned; nothing here ever deletes a node."""
# exercised by tests/migration/test_drain.py

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from migrate.clock import Clock
from migrate.cluster.base import Cluster, EvictionOutcome, Pod
from migrate.errors import UserError
from migrate.migration.filters import EVICT, REFUSE, DrainOptions, PodVerdict, classify

RETRY_AFTER = 5.0  # kubectl waits 5 s between eviction attempts blocked by a budget
REPORT_EVERY = 30.0  # seconds a wait for evicted pods watches before it reports (a Lease lasts 120 s)


class DrainRefused(UserError):
    """Pods a drain would lose without an explicit override."""


class DrainTimeout(UserError):
    """Pods still on the node when the drain's time ran out (the node stays cordoned)."""


@dataclass
class DrainResult:
    nodes: tuple[str, ...]
    evicted: list[str] = field(default_factory=list)  # namespace/name
    skipped: list[str] = field(default_factory=list)
    blocked_by: dict[str, str] = field(default_factory=dict)  # pod -> PDB that held it last
    attempts: int = 0


OnEvent = Callable[[str, str], None]  # (what, detail): "to-evict" count, "evicted" pod, "blocked" pod by PDB …


def _wait_gone(cluster: Cluster, nodes: Sequence[str], pods: Sequence[Pod], clock: Clock, timeout: float,
               on_event: OnEvent) -> list[Pod]:
    """Until no evicted pod is left on the nodes. As kubectl's waitForDelete, a pod is gone on 404 or when its name
    holds a new uid (a StatefulSet's replacement); watched, not polled: the node's pods by spec.nodeName (immutable,
    so a pod leaves that set only by being deleted), which costs a LIST and a WATCH per node instead of kubectl's
    GET per pod a second. Every REPORT_EVERY seconds the wait says how many are left (the engine renews its lock)."""
    deadline = clock.now() + timeout
    evicted = {p.uid for p in pods}
    for node in nodes:
        while True:
            left = {p.uid for p in cluster.wait_pods(lambda seen: not evicted & {p.uid for p in seen},
                                                     max(0.0, min(deadline - clock.now(), REPORT_EVERY)),
                                                     node_name=node)} & evicted
            if not left or clock.now() >= deadline:
                break
            on_event("waiting", f"{len(left)} evicted pod(s) still terminating on {node}")
        if left:
            return [p for p in pods if p.uid in left]
    return []


def plan_drain(cluster: Cluster, nodes: Sequence[str], opts: DrainOptions) -> list[PodVerdict]:
    pods = [p for n in nodes for p in cluster.list_pods(node_name=n, label_selector=opts.pod_selector)]
    return classify(pods, opts, cluster)


def refusal(verdicts: Sequence[PodVerdict]) -> DrainRefused | None:
    refused = [v for v in verdicts if v.action == REFUSE]
    if not refused:
        return None
    flags = sorted({v.flag for v in refused})
    listing = "; ".join(f"{v.pod.key} ({v.reason})" for v in refused[:10])
    more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
    return DrainRefused(f"cannot drain: {listing}{more}", hint=f"override with {' '.join(flags)} once you accept it")


def drain_nodes(cluster: Cluster, nodes: Sequence[str], opts: DrainOptions, clock: Clock,
                on_event: OnEvent = lambda what, detail: None) -> DrainResult:
    """Evict every evictable pod of `nodes` (one wave drains together), then wait until they are gone."""
    verdicts = plan_drain(cluster, nodes, opts)
    refused = refusal(verdicts)
    if refused is not None:
        raise refused
    result = DrainResult(tuple(nodes), skipped=[v.pod.key for v in verdicts if v.action != EVICT])
    pending: list[Pod] = [v.pod for v in verdicts if v.action == EVICT]
    on_event("to-evict", str(len(pending)))  # how many the drain has ahead of it, for a progress view
    deadline = clock.now() + opts.timeout
    evicted: list[Pod] = []
    while pending:
        still: list[Pod] = []
        for pod in pending:
            outcome = cluster.evict_pod(pod.namespace, pod.name, grace_period_seconds=opts.grace_period)
            result.attempts += 1
            if outcome.gone_or_going:
                evicted.append(pod)
                result.evicted.append(pod.key)
                on_event("evicted", pod.key)
            elif outcome.outcome == EvictionOutcome.BLOCKED_BY_PDB:
                result.blocked_by[pod.key] = outcome.pdb or "a PodDisruptionBudget"
                on_event("blocked", f"{pod.key} by {result.blocked_by[pod.key]}")
                still.append(pod)
            else:
                raise UserError(f"cannot evict {pod.key}: {outcome.message or outcome.outcome.value}",
                                hint="fix the pod's budgets (a pod under two PDBs is never evicted) and run again")
        pending = still
        if pending:
            if clock.now() + RETRY_AFTER > deadline:
                budgets = sorted({result.blocked_by.get(p.key, "?") for p in pending})
                raise DrainTimeout(f"drain of {', '.join(nodes)} timed out with {len(pending)} pod(s) left, held by "
                                   f"PodDisruptionBudget {', '.join(budgets)}: {', '.join(p.key for p in pending[:5])}",
                                   hint="the node stays cordoned; free the budget (scale up, or relax it) and run again")
            clock.sleep(RETRY_AFTER)
    left = _wait_gone(cluster, nodes, evicted, clock, max(1.0, deadline - clock.now()), on_event)
    if left:
        raise DrainTimeout(f"{len(left)} evicted pod(s) did not terminate in time: {', '.join(p.key for p in left[:5])}",
                           hint="the node stays cordoned; check the pods' terminationGracePeriod and finalizers")
    return result
