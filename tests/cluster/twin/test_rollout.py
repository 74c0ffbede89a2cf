"""Rollouts paced by maxSurge/maxUnavailable, checked at every write the controllers make, and the arithmetic alone."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.cluster.twin import Twin
from migrate.cluster.twin.deployments import MAX_REPLICAS, REVISION
from migrate.cluster.twin.index import is_active, is_ready
from migrate.cluster.twin.resources import DEPLOYMENTS, PODS, REPLICASETS
from migrate.cluster.twin.rollout import SetCount, fenceposts, new_replicaset_target, old_replicaset_targets
from migrate.cluster.twin.store import Event
from tests.cluster.conftest import deployment, small_twin


def _web(twin: Twin) -> list[dict[str, Any]]:
    return [p for p in twin.store.objects(PODS) if (p["metadata"].get("labels") or {}).get("app") == "web"]


def _watch_rollout(twin: Twin) -> list[tuple[int, int, int]]:
    """(active pods, ready active pods, pods of the new template) after every pod write."""
    seen: list[tuple[int, int, int]] = []

    def observe(event: Event) -> None:
        if event.resource is PODS:
            pods = [p for p in _web(twin) if is_active(p)]
            seen.append((len(pods), sum(1 for p in pods if is_ready(p)),
                         sum(1 for p in pods if p["metadata"]["labels"].get("v") == "2")))
    twin.store.subscribe(observe)
    return seen


def _roll(twin: Twin, replicas: int, strategy: dict[str, Any]) -> list[tuple[int, int, int]]:
    body = deployment("web", replicas)
    body["spec"]["strategy"] = strategy
    twin.api.create(DEPLOYMENTS, "default", body)
    twin.settle()
    seen = _watch_rollout(twin)
    twin.api.patch(DEPLOYMENTS, "default", "web", {"spec": {"template": {"metadata": {"labels": {"app": "web", "v": "2"}}}}},
                   "application/strategic-merge-patch+json")
    twin.settle()
    return seen


def _deployment_spec_strategy(surge: Any, unavailable: Any) -> dict[str, Any]:
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}


@pytest.mark.parametrize(("surge", "unavailable", "most", "fewest_ready"), [
    (1, 0, 7, 6),          # one extra pod at a time, never below the full count
    (0, 2, 6, 4),          # no extra pod: two old ones go first
    ("25%", "25%", 8, 5),  # the defaults: surge rounds up (2), unavailable down (1)
])
def test_a_rolling_update_stays_within_its_surge_and_unavailable_bounds(surge: Any, unavailable: Any, most: int,
                                                                         fewest_ready: int) -> None:
    twin = small_twin()
    spec = {"spec": {"replicas": 6, "strategy": _deployment_spec_strategy(surge, unavailable)}}
    assert (fenceposts(spec["spec"]).surge, fenceposts(spec["spec"]).unavailable) == (most - 6, 6 - fewest_ready)
    seen = _roll(twin, 6, _deployment_spec_strategy(surge, unavailable))
    assert max(active for active, _, _ in seen) == most  # the surge is used, and never exceeded
    assert min(ready for _, ready, _ in seen) == fewest_ready
    assert seen[-1] == (6, 6, 6)
    # the rollout went in steps: several moments with both templates running
    assert sum(1 for active, _, new in seen if 0 < new < active) >= 3
    status = twin.store.get(DEPLOYMENTS, "default", "web")["status"]
    assert (status["updatedReplicas"], status["availableReplicas"], status["unavailableReplicas"]) == (6, 6, 0)
    progressing = next(c for c in status["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"


def test_recreate_starts_no_new_pod_while_an_old_one_still_runs() -> None:
    twin = small_twin()
    seen = _roll(twin, 4, {"type": "Recreate"})
    first_new = next(i for i, (_, _, new) in enumerate(seen) if new)
    assert all(active == new for active, _, new in seen[first_new:])
    assert seen[-1] == (4, 4, 4)


def test_replicasets_carry_the_rollout_annotations_and_history_is_pruned() -> None:
    twin = small_twin()
    body = deployment("web", 4)
    body["spec"]["revisionHistoryLimit"] = 1
    twin.api.create(DEPLOYMENTS, "default", body)
    twin.settle()
    for version in ("2", "3", "4"):
        twin.api.patch(DEPLOYMENTS, "default", "web", {"spec": {"template": {"metadata": {"labels": {"app": "web", "v": version}}}}},
                       "application/strategic-merge-patch+json")
        twin.settle()
    sets = sorted(twin.store.objects(REPLICASETS), key=lambda rs: int(rs["metadata"]["annotations"][REVISION]))
    assert [(rs["metadata"]["annotations"][REVISION], rs["spec"]["replicas"]) for rs in sets] == [("3", 0), ("4", 4)]
    assert sets[-1]["metadata"]["annotations"][MAX_REPLICAS] == "5"  # 4 + 25% rounded up


def test_scaling_without_a_template_change_scales_the_current_set_only() -> None:
    twin = small_twin()
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 2))
    twin.settle()
    twin.api.patch(DEPLOYMENTS, "default", "web", {"spec": {"replicas": 5}}, "application/merge-patch+json")
    twin.settle()
    assert [rs["spec"]["replicas"] for rs in twin.store.objects(REPLICASETS)] == [5]
    assert sum(1 for p in _web(twin) if is_ready(p)) == 5


@settings(max_examples=150, deadline=None)
@given(desired=st.integers(0, 12), surge=st.integers(0, 4), unavailable=st.integers(0, 4),
       old=st.lists(st.integers(0, 8), min_size=1, max_size=3), lag=st.integers(0, 2))
def test_the_arithmetic_converges_within_its_bounds(desired: int, surge: int, unavailable: int, old: list[int],
                                                    lag: int) -> None:
    """Driven step by step with pods that become available `lag` steps after their set grows."""
    if surge == 0 and unavailable == 0:
        unavailable = 1
    old_sets, new, new_available = list(old), 0, 0
    pending: list[int] = []  # new pods not yet available, by the step they become so
    start_total = sum(old_sets)
    for step in range(200):
        total = new + sum(old_sets)
        target = new_replicaset_target(desired, surge, total, new)
        if target > new:
            assert target + sum(old_sets) <= max(desired + surge, total)
            pending += [step + lag] * (target - new)
        else:
            new_available = min(new_available, target)
        new = target
        new_available += sum(1 for due in pending if due <= step)
        pending = [due for due in pending if due > step]
        before = sum(min(n, n) for n in old_sets) + new_available
        old_sets = old_replicaset_targets(desired, unavailable, new, new_available,
                                          [SetCount(n, n) for n in old_sets])
        after = sum(old_sets) + new_available
        assert after >= min(before, desired - unavailable)  # availability never drops below the floor by our hand
        if new == desired and not any(old_sets) and new_available == desired:
            break
    else:
        pytest.fail(f"no convergence: new={new} available={new_available} old={old_sets} from {start_total}")
