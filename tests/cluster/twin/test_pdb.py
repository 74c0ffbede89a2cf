"""PDB arithmetic against the documented rules, and the eviction subresource's answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate.cluster.twin import Twin
from migrate.cluster.twin.pdb import DELETION_TIMEOUT, MULTIPLE_PDBS, VIOLATION, admit_eviction, compute_budget
from migrate.cluster.twin.resources import DEPLOYMENTS, PDBS, PODS
from migrate.cluster.twin.status import ApiError
from tests.cluster.conftest import deployment, pdb, small_twin, web_with_budget

NOW = 1_800_000_000.0


def _pod(i: int, ready: bool, terminating: bool) -> dict:
    meta = {"name": f"p{i}", **({"deletionTimestamp": "2027-01-15T08:00:00Z"} if terminating else {})}
    return {"metadata": meta, "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def _oracle(kind: str, value: int, percent: bool, replicas: int, pods: list[tuple[bool, bool]]) -> tuple[int, int, int]:
    """(expected, desired, allowed) from the Kubernetes docs, in integer arithmetic."""
    healthy = sum(1 for ready, terminating in pods if ready and not terminating)
    if kind == "minAvailable" and not percent:
        expected, desired = len(pods), value
    elif kind == "minAvailable":
        expected, desired = replicas, (value * replicas + 99) // 100
    else:
        unavailable = (value * replicas + 99) // 100 if percent else value
        expected, desired = replicas, max(0, replicas - unavailable)
    allowed = max(0, healthy - desired) if expected > 0 else 0
    return expected, desired, allowed


@given(kind=st.sampled_from(["minAvailable", "maxUnavailable"]), percent=st.booleans(), value=st.integers(0, 100),
       replicas=st.integers(0, 40), pods=st.lists(st.tuples(st.booleans(), st.booleans()), max_size=40))
def test_budget_matches_the_documented_arithmetic(kind: str, percent: bool, value: int, replicas: int, pods: list) -> None:
    spec = {kind: f"{value}%" if percent else value}
    budget = compute_budget(spec, replicas, [_pod(i, r, t) for i, (r, t) in enumerate(pods)], {}, NOW)
    assert (budget.expected_pods, budget.desired_healthy, budget.disruptions_allowed) == _oracle(kind, value, percent, replicas, pods)


def test_recently_evicted_pods_do_not_count_as_healthy() -> None:
    pods = [_pod(i, True, False) for i in range(3)]
    budget = compute_budget({"minAvailable": 2}, 3, pods, {"p0": "2027-01-15T08:00:00Z"}, 1_800_000_000.0)
    assert budget.current_healthy == 2 and budget.disruptions_allowed == 0


def _running(twin: Twin, app: str = "web") -> list[dict]:
    return [p for p in twin.store.objects(PODS) if p["metadata"]["labels"].get("app") == app and not p["metadata"].get("deletionTimestamp")]


def test_eviction_blocked_by_budget_answers_429_with_the_budget_named() -> None:
    twin = small_twin()
    web_with_budget(twin, 3, minAvailable=3)
    victim = _running(twin)[0]["metadata"]["name"]
    with pytest.raises(ApiError) as info:
        twin.api.evict("default", victim, {"metadata": {"name": victim}})
    body = info.value.body()
    assert info.value.code == 429 and body["reason"] == "TooManyRequests" and body["message"] == VIOLATION
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget", "message": "The disruption budget web needs 3 healthy pods and has 3 currently"}]
    assert twin.store.get(PODS, "default", victim)["metadata"].get("deletionTimestamp") is None


def test_each_eviction_spends_the_budget_until_the_controller_sees_the_replacement() -> None:
    twin = small_twin()
    web_with_budget(twin, 3, maxUnavailable=1)
    first, second = (p["metadata"]["name"] for p in _running(twin)[:2])
    twin.api.evict("default", first, {})
    with pytest.raises(ApiError) as info:
        twin.api.evict("default", second, {})
    assert info.value.code == 429
    twin.settle()  # the first pod terminates, its replacement starts and turns Ready
    assert twin.store.get(PDBS, "default", "web")["status"]["disruptionsAllowed"] == 1
    twin.api.evict("default", second, {})


def test_a_pod_under_two_budgets_gets_the_500_of_the_eviction_handler() -> None:
    twin = small_twin()
    web_with_budget(twin, 3, minAvailable=1)
    twin.api.create(PDBS, "default", pdb("web-too", {"app": "web"}, maxUnavailable=1))
    twin.settle()
    victim = _running(twin)[0]["metadata"]["name"]
    with pytest.raises(ApiError) as info:
        twin.api.evict("default", victim, {})
    assert info.value.code == 500 and info.value.message == MULTIPLE_PDBS
    assert "reason" not in info.value.body()


def _make_unready(twin: Twin, name: str) -> None:
    pod = twin.store.get(PODS, "default", name)
    status = {**pod["status"], "conditions": [{"type": "Ready", "status": "False"}]}
    twin.store.update(PODS, {**pod, "status": status}, status=True)


@pytest.mark.parametrize("policy,evicted", [(None, False), ("IfHealthyBudget", False), ("AlwaysAllow", True)])
def test_unhealthy_pod_eviction_policy(policy: str | None, evicted: bool) -> None:
    twin = small_twin()
    spec = {"minAvailable": 3, **({"unhealthyPodEvictionPolicy": policy} if policy else {})}
    web_with_budget(twin, 3, **spec)
    victim = _running(twin)[0]["metadata"]["name"]
    _make_unready(twin, victim)
    twin.reconcile()
    if evicted:
        twin.api.evict("default", victim, {})
        assert twin.store.get(PODS, "default", victim)["metadata"]["deletionTimestamp"]
    else:
        with pytest.raises(ApiError) as info:
            twin.api.evict("default", victim, {})
        assert info.value.code == 429


def test_unready_pod_may_go_when_the_application_is_not_disrupted() -> None:
    twin = small_twin()
    web_with_budget(twin, 3, minAvailable=2)
    victim = _running(twin)[0]["metadata"]["name"]
    _make_unready(twin, victim)
    twin.reconcile()  # currentHealthy 2 >= desiredHealthy 2: IfHealthyBudget lets the unready pod go
    status = twin.store.get(PDBS, "default", "web")["status"]
    assert (status["currentHealthy"], status["desiredHealthy"], status["disruptionsAllowed"]) == (2, 2, 0)
    healthy = next(p["metadata"]["name"] for p in _running(twin) if p["metadata"]["name"] != victim)
    with pytest.raises(ApiError) as info:  # the budget has no room for a healthy pod...
        twin.api.evict("default", healthy, {})
    assert info.value.code == 429
    twin.api.evict("default", victim, {})  # ...but the unready one does not count against it
    assert twin.store.get(PODS, "default", victim)["metadata"]["deletionTimestamp"]
    assert twin.store.get(PODS, "default", healthy)["metadata"].get("deletionTimestamp") is None


def test_a_pod_not_yet_running_is_evicted_without_consulting_the_budget() -> None:
    twin = small_twin()
    web_with_budget(twin, 3, minAvailable=3)
    twin.api.create(DEPLOYMENTS, "default", deployment("late", 1, labels={"app": "web"}))  # same labels: covered by the PDB
    twin.reconcile()  # created and bound, but the kubelet has not started it
    pending = next(p for p in twin.store.objects(PODS) if p["status"]["phase"] == "Pending")["metadata"]["name"]
    before = twin.store.get(PDBS, "default", "web")["status"]
    assert before["disruptionsAllowed"] == 0  # consulting the budget would refuse
    twin.api.evict("default", pending, {})
    assert twin.store.get(PODS, "default", pending)["metadata"]["deletionTimestamp"]
    assert twin.store.get(PDBS, "default", "web")["status"] == before  # nothing spent from the budget
    with pytest.raises(ApiError) as info:  # a running pod under the same budget is still protected
        twin.api.evict("default", _running(twin)[0]["metadata"]["name"], {})
    assert info.value.code == 429


def test_a_budget_the_controller_has_not_observed_yet_answers_429_still_processing() -> None:
    twin = small_twin()
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 2))
    twin.settle()
    twin.api.create(PDBS, "default", pdb("web", {"app": "web"}, minAvailable=1))  # no reconcile: status not computed yet
    with pytest.raises(ApiError) as info:
        twin.api.evict("default", _running(twin)[0]["metadata"]["name"], {})
    assert info.value.code == 429
    assert "is still being processed by the server" in info.value.details["causes"][0]["message"]


def test_percentages_round_up_like_the_disruption_controller() -> None:
    twin = small_twin()
    web_with_budget(twin, 3, minAvailable="50%")
    status = twin.store.get(PDBS, "default", "web")["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 2, 1)


def _status(twin: Twin, name: str = "web") -> dict:
    return twin.store.get(PDBS, "default", name)["status"]


def test_a_budget_follows_pods_relabelled_into_and_out_of_its_selector_and_a_new_selector() -> None:
    twin = small_twin()
    web_with_budget(twin, 3, minAvailable=2)
    assert (_status(twin)["expectedPods"], _status(twin)["currentHealthy"]) == (3, 3)
    spare = deployment("spare", 1, labels={"app": "spare"})
    twin.api.create(DEPLOYMENTS, "default", spare)
    twin.settle()
    pod = _running(twin, "spare")[0]["metadata"]["name"]
    twin.api.patch(PODS, "default", pod, {"metadata": {"labels": {"app": "web"}}}, "application/merge-patch+json")
    twin.settle()
    assert (_status(twin)["expectedPods"], _status(twin)["currentHealthy"], _status(twin)["disruptionsAllowed"]) == (4, 4, 2)
    twin.api.patch(PODS, "default", pod, {"metadata": {"labels": {"app": "elsewhere"}}}, "application/merge-patch+json")
    twin.settle()
    assert (_status(twin)["expectedPods"], _status(twin)["currentHealthy"]) == (3, 3)
    twin.api.patch(PDBS, "default", "web", {"spec": {"selector": {"matchLabels": {"app": "elsewhere"}}}},
                   "application/merge-patch+json")
    twin.settle()
    assert (_status(twin)["expectedPods"], _status(twin)["currentHealthy"], _status(twin)["disruptionsAllowed"]) == (1, 1, 0)


def test_an_admitted_eviction_whose_pod_never_went_stops_counting_after_two_minutes_without_other_writes() -> None:
    """The eviction subresource spent the budget, then the pod's deletion never came (the API server died between
    the two writes): the disruption controller drops the entry once DELETION_TIMEOUT passes, as its recheck
    queue does, even when nothing else in the namespace is written meanwhile."""
    twin = small_twin()
    web_with_budget(twin, 3, minAvailable=2)
    admit_eviction(twin.store, _running(twin)[0])
    twin.reconcile()
    assert (_status(twin)["currentHealthy"], _status(twin)["disruptionsAllowed"]) == (2, 0)
    twin.advance(DELETION_TIMEOUT - 5)
    assert _status(twin)["disruptionsAllowed"] == 0 and _status(twin)["disruptedPods"]
    twin.advance(10)
    assert (_status(twin)["currentHealthy"], _status(twin)["disruptionsAllowed"]) == (3, 1)
    assert "disruptedPods" not in _status(twin)
