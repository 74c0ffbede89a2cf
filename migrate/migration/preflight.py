"""Read-only checks before a migration: each one passes, warns or fails with the reason and the fix.

What a night's migration stops on is mostly visible beforehand: a budget that can never allow a disruption, a
pod under two budgets (the eviction API refuses it outright), a pod no controller recreates, a lock another
run holds. GETs and LISTs only.
"""
# exercised by tests/migration/test_preflight.py

from __future__ import annotations

from collections import Counter
from typing import Any

from migrate.clock import Clock
from migrate.cluster.base import Cluster, DisruptionBudget, Pod
from migrate.errors import UserError
from migrate.etcd.membership import EtcdError, EtcdMembership, member_for_peer
from migrate.etcd.quorum import projected_quorum
from migrate.migration.capacity import capacity_per_wave
from migrate.migration.checks import FAIL, PASS, WARN, Check, worst
from migrate.migration.lock import NAME, NAMESPACE
from migrate.migration.plan_file import MigrationPlan
from migrate.migration.preflight_plan import LiveFacts, Planned, api_version, kubeadm_config, networks, stable_endpoint

__all__ = ["FAIL", "PASS", "WARN", "Check", "Planned", "preflight", "worst"]


def preflight(plan: MigrationPlan, cluster: Cluster, clock: Clock, planned: Planned | None = None,
              etcd: EtcdMembership | None = None) -> list[Check]:
    planned = planned or Planned()
    try:
        nodes = cluster.list_nodes()
    except UserError as exc:
        return [Check("API reachable", FAIL, str(exc).splitlines()[0], "check the kubeconfig and the server")]
    checks = [_api(nodes, planned.kubernetes_version), _hosts(plan, {n.name for n in nodes})]
    found = cluster.get_configmap("kube-system", "kubeadm-config")
    kubeadm = kubeadm_config(found.data if found else None)
    checks.append(stable_endpoint(planned, nodes, str(kubeadm.get("controlPlaneEndpoint") or "") or None))
    pods = [p for p in cluster.list_pods() if not p.finished]
    budgets = cluster.list_pdbs()
    checks += [_budgets_that_never_allow(budgets), _pods_under_two_budgets(pods, budgets),
               _pods_a_drain_refuses(pods, {m.host for m in plan.hosts}), _single_replicas(pods)]
    if isinstance(cluster, LiveFacts):
        raw_nodes = cluster.list_raw("", "v1", "nodes")
        checks.insert(1, api_version(cluster.server_version(), planned))
        checks.append(networks(planned, cluster.list_raw("", "v1", "services"), raw_nodes, kubeadm))
        checks.append(capacity_per_wave([[m.host for m in wave] for wave in plan.waves()], raw_nodes,
                                        cluster.list_raw("", "v1", "pods"), in_place=plan.strategy == "in-place"))
    checks += [_etcd(etcd, plan), _lock(cluster, clock)]
    return checks


def _etcd(etcd: EtcdMembership | None, plan: MigrationPlan) -> Check:
    name = "etcd members"
    if etcd is None:
        # unknown is not broken: a warning, and `migrate` itself refuses control planes without etcd access
        result = WARN if any(m.is_control_plane for m in plan.hosts) else PASS
        return Check(name, result, "not checked: no etcd access given (migrate refuses control planes without it)"
                     if result == WARN else "no control plane in the plan",
                     "give --etcd-endpoints and --etcd-certs (as to migrate)")
    try:
        members, health = etcd.members(), {h.member_id: h for h in etcd.health()}
    except EtcdError as exc:
        return Check(name, FAIL, f"etcd did not answer: {exc}", "check the endpoints and certificates")
    unstarted = [m.hex_id for m in members if not m.started]
    learners = [m.name or m.hex_id for m in members if m.is_learner]
    sick = [f"{m.name or m.hex_id} ({health[m.id].error if m.id in health else 'no answer'})" for m in members
            if m.id not in health or not health[m.id].healthy]
    problems = ([f"not started: {', '.join(unstarted)}"] if unstarted else []) + \
               ([f"learners: {', '.join(learners)}"] if learners else []) + ([f"unhealthy: {', '.join(sick)}"] if sick else [])
    if problems:
        return Check(name, FAIL, "; ".join(problems), "wait for a joining member to be promoted, remove a member that "
                     "never started (`etcdctl member remove`), bring unhealthy members back: then run preflight again")
    if plan.strategy == "in-place":  # each control plane's member is away for its whole reinstall
        refused = []
        for move in (m for m in plan.hosts if m.is_control_plane and m.address):
            member = member_for_peer(members, move.address or "")
            verdict = projected_quorum(members, list(health.values()), leaving=member.id) if member else None
            if verdict is not None and not verdict.holds:
                refused.append(f"{move.host} ({verdict.reason})")
        if refused:
            return Check(name, FAIL, f"in-place would take etcd below quorum while reinstalling {', '.join(refused)}",
                         "use strategy: surge for the control planes, or add members first")
    return Check(name, PASS, f"{len(members)} members, all started, voting and healthy")


def _api(nodes: list[Any], kubernetes_version: str) -> Check:
    running = sorted({n.kubelet_version.lstrip("v") for n in nodes if n.kubelet_version})
    if kubernetes_version and running and kubernetes_version not in running:
        return Check("kubelet versions", WARN, f"nodes run {', '.join(running)}, the plan was made for "
                     f"{kubernetes_version}", "re-plan with the cluster's version (--kubespray-version) before migrating")
    return Check("kubelet versions", PASS, f"{len(nodes)} nodes; kubelets {', '.join(running) or 'unknown'}")


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
