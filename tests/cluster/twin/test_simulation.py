"""A rehearsal on the large-ha snapshot in virtual time: drain nodes the way kubectl does, check the outcome."""

from __future__ import annotations

import time

import pytest

from migrate.cluster.twin import Twin
from migrate.cluster.twin.index import controller_ref, is_ready
from migrate.cluster.twin.pdb import covering_pdbs
from migrate.cluster.twin.resources import DEPLOYMENTS, NODES, PODS, STATEFULSETS
from migrate.cluster.twin.status import ApiError
from tests.conftest import CLUSTERS

NODES_TO_DRAIN = ("node010", "node011", "node012")


def _evictable(pod: dict) -> bool:
    ref = controller_ref(pod) or {}
    return ref.get("kind") not in ("DaemonSet", "Node")


@pytest.fixture(scope="module")
def rehearsal() -> tuple[Twin, dict[str, int], float]:
    started = time.perf_counter()
    twin = Twin.from_snapshot(CLUSTERS / "large-ha.json")
    for node in NODES_TO_DRAIN:
        twin.api.patch(NODES, "", node, {"spec": {"unschedulable": True}}, "application/strategic-merge-patch+json")
    outcomes = {"evicted": 0, "retried": 0, "refused": 0}
    for _ in range(60):  # kubectl retries a 429 every 5 s; 5 virtual minutes at most
        pending = [p for p in twin.store.objects(PODS) if p["spec"].get("nodeName") in NODES_TO_DRAIN
                   and _evictable(p) and not p["metadata"].get("deletionTimestamp")]
        if not pending:
            break
        for pod in pending:
            try:
                twin.api.evict(pod["metadata"]["namespace"], pod["metadata"]["name"], {"metadata": {"name": pod["metadata"]["name"]}})
                outcomes["evicted"] += 1
            except ApiError as exc:
                outcomes["retried" if exc.code == 429 else "refused"] += 1
        twin.advance(5.0)
    twin.settle()
    return twin, outcomes, time.perf_counter() - started


def test_drained_nodes_keep_only_daemonset_static_and_unevictable_pods(rehearsal) -> None:
    twin, outcomes, _ = rehearsal
    left = [p for p in twin.store.objects(PODS) if p["spec"].get("nodeName") in NODES_TO_DRAIN and _evictable(p)]
    # what stays is what no amount of waiting moves: two budgets over one pod (500), or a budget
    # that wants every expected pod healthy (e.g. minAvailable 80% of 4 rounds up to 4)
    for pod in left:
        budgets = covering_pdbs(twin.store, pod)
        assert len(budgets) > 1 or budgets[0]["status"]["desiredHealthy"] >= budgets[0]["status"]["expectedPods"]
    assert outcomes["evicted"] > 20 and outcomes["retried"] > 0


def test_every_workload_is_whole_again_on_schedulable_nodes(rehearsal) -> None:
    twin, _, _ = rehearsal
    for rt in (DEPLOYMENTS, STATEFULSETS):
        for obj in twin.store.objects(rt):
            status = obj["status"]
            assert status.get("readyReplicas", 0) == obj["spec"]["replicas"], obj["metadata"]["name"]
    moved = [p for p in twin.store.objects(PODS) if p["metadata"]["creationTimestamp"] > "2026-11-20T12:00:00Z"]
    assert moved and all(p["spec"]["nodeName"] not in NODES_TO_DRAIN and is_ready(p) for p in moved)


def test_the_rehearsal_takes_seconds_not_virtual_minutes(rehearsal) -> None:
    _, _, wall = rehearsal
    assert wall < 20
