"""Read-only checks before a migration: each one passes, warns or fails with the reason and the fix.

What a night's migration stops on is mostly visible beforehand: a budget that can never allow a disruption, a
pod under two budgets (the eviction API refuses it outright), a pod no controller recreates, a lock another
run holds. GETs and LISTs only.
"""
# exercised by tests/migration/test_preflight.py

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from migrate.clock import Clock
from migrate.cluster.base import Cluster, DisruptionBudget, Pod
from migrate.errors import UserError
from migrate.migration.lock import NAME, NAMESPACE
from migrate.migration.plan_file import MigrationPlan

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str
    result: str  # pass | warn | fail
    reason: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "result": self.result, "reason": self.reason, "fix": self.fix}


def preflight(plan: MigrationPlan, cluster: Cluster, clock: Clock, kubernetes_version: str = "") -> list[Check]:
    try:
        nodes = cluster.list_nodes()
    except UserError as exc:
        return [Check("API reachable", FAIL, str(exc).splitlines()[0], "check the kubeconfig and the server")]
    checks = [_api(nodes, kubernetes_version), _hosts(plan, {n.name for n in nodes})]
    pods = [p for p in cluster.list_pods() if not p.finished]
    budgets = cluster.list_pdbs()
    checks += [_budgets_that_never_allow(budgets), _pods_under_two_budgets(pods, budgets),
               _pods_a_drain_refuses(pods, {m.host for m in plan.hosts}), _single_replicas(pods),
               _lock(cluster, clock)]
    return checks


def worst(checks: list[Check]) -> int:
    """The exit status: 0 all pass, 1 a warning, 2 a failure."""
    results = {c.result for c in checks}
    return 2 if FAIL in results else 1 if WARN in results else 0


def _api(nodes: list[Any], kubernetes_version: str) -> Check:
    running = sorted({n.kubelet_version.lstrip("v") for n in nodes if n.kubelet_version})
    if kubernetes_version and running and kubernetes_version not in running:
        return Check("API and version", WARN, f"nodes run {', '.join(running)}, the plan was made for "
                     f"{kubernetes_version}", "re-plan with the cluster's version (--kubespray-version) before migrating")
    return Check("API and version", PASS, f"{len(nodes)} nodes; kubelets {', '.join(running) or 'unknown'}")


def _hosts(plan: MigrationPlan, nodes: set[str]) -> Check:
    missing = [m.host for m in plan.hosts if m.host not in nodes and m.replacement not in nodes]
    if missing:
        return Check("hosts of the plan", WARN, f"not in the cluster: {', '.join(missing[:10])}",
                     "check migration.yaml names the nodes as Kubernetes knows them")
    return Check("hosts of the plan", PASS, f"all {len(plan.hosts)} hosts are nodes of this cluster")


def _budgets_that_never_allow(budgets: list[DisruptionBudget]) -> Check:
    stuck = [f"{b.namespace}/{b.name}" for b in budgets
             if b.expected_pods and b.disruptions_allowed == 0 and b.current_healthy >= b.expected_pods]
    if stuck:
        return Check("budgets that allow a disruption", FAIL, f"{len(stuck)} PodDisruptionBudget(s) allow none even "
                     f"with every pod healthy: {', '.join(stuck[:10])}",
                     "scale the workload up or relax the budget (maxUnavailable: 1) before the migration")
    return Check("budgets that allow a disruption", PASS, f"{len(budgets)} budgets, each allows a disruption")


def _covers(budget: DisruptionBudget, pod: Pod) -> bool:
    labels = (budget.selector or {}).get("matchLabels") or {}
    return budget.namespace == pod.namespace and bool(labels) and all(pod.labels.get(k) == v for k, v in labels.items())


def _pods_under_two_budgets(pods: list[Pod], budgets: list[DisruptionBudget]) -> Check:
    doubled = [p.key for p in pods if sum(_covers(b, p) for b in budgets) > 1]
    if doubled:
        return Check("one budget per pod", FAIL, f"{len(doubled)} pod(s) under two or more budgets (the eviction API "
                     f"never evicts them): {', '.join(doubled[:5])}", "make the budgets' selectors disjoint")
    return Check("one budget per pod", PASS, "no pod is under two budgets")


def _pods_a_drain_refuses(pods: list[Pod], hosts: set[str]) -> Check:
    bare = [p.key for p in pods if p.node_name in hosts and p.owner is None and not p.mirror]
    local = [p.key for p in pods if p.node_name in hosts and p.uses_emptydir and not p.mirror]
    if bare or local:
        return Check("pods a drain refuses", WARN, f"{len(bare)} without a controller, {len(local)} with emptyDir data: "
                     f"{', '.join((bare + local)[:5])}", "move them, or run migrate with --force / "
                     "--delete-emptydir-data once their loss is accepted")
    return Check("pods a drain refuses", PASS, "every pod on the old hosts has a controller and no emptyDir")


def _single_replicas(pods: list[Pod]) -> Check:
    per_owner = Counter(p.owner.uid for p in pods if p.owner is not None and p.owner.kind != "DaemonSet")
    single = sorted({f"{p.namespace}/{p.owner.name}" for p in pods if p.owner and per_owner[p.owner.uid] == 1
                     and p.owner.kind != "DaemonSet"})
    if single:
        return Check("replicated workloads", WARN, f"{len(single)} workload(s) with one replica go down while their "
                     f"node drains: {', '.join(single[:5])}", "scale them to 2 for the migration, or accept the gap")
    return Check("replicated workloads", PASS, "every workload has two or more replicas")


def _lock(cluster: Cluster, clock: Clock) -> Check:
    lease = cluster.get_lease(NAMESPACE, NAME)
    if lease is not None and not lease.expired(clock.now()):
        return Check("migration lock", FAIL, f"{lease.holder} holds the migration lock",
                     "wait for that run to finish, or stop it")
    return Check("migration lock", PASS, "no other migration runs")
