from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrate.cluster.twin import Twin
from migrate.cluster.twin.nodeinfo import NodeInfos, PodCosts
from migrate.cluster.twin.resources import DEPLOYMENTS, NODES, PODS
from migrate.cluster.twin.scheduler import Scheduler
from migrate.cluster.twin.selectors import from_label_selector
from tests.cluster.conftest import deployment, small_twin

APPS = ("web", "db", "cache")
SELECTORS = [from_label_selector(s) for s in ({"matchLabels": {"app": "web"}}, {"matchLabels": {"tier": "back"}},
                                             {"matchExpressions": [{"key": "app", "operator": "In",
                                                                    "values": ["db", "cache"]}]}, {})]
operations = st.lists(st.one_of(
    st.tuples(st.just("scale"), st.sampled_from(APPS), st.integers(0, 6)),
    st.tuples(st.just("evict"), st.integers(0, 30)),
    st.tuples(st.just("cordon"), st.sampled_from(["w1", "w2", "w3", "w4"]), st.booleans()),
    st.tuples(st.just("relabel"), st.integers(0, 30)),
    st.tuples(st.just("remove"), st.sampled_from(["w3", "w4"])),
), min_size=1, max_size=8)


def _scheduler(twin: Twin) -> Scheduler:
    return next(a for a in twin.actors if isinstance(a, Scheduler))


def _recount(twin: Twin, selector_index: int) -> Counter[str]:
    """The bound, live pods of "default" the selector matches, per existing node, counted from scratch."""
    nodes = {n["metadata"]["name"] for n in twin.store.objects(NODES)}
    return Counter(p["spec"]["nodeName"] for p in twin.store.objects(PODS)
                   if p["metadata"]["namespace"] == "default" and p["spec"].get("nodeName") in nodes
                   and not p["metadata"].get("deletionTimestamp")
                   and SELECTORS[selector_index].matches(p["metadata"].get("labels")))


def _apply(twin: Twin, op: tuple) -> None:
    pods = sorted((p for p in twin.store.objects(PODS) if p["metadata"]["namespace"] == "default"),
                  key=lambda p: p["metadata"]["name"])
    if op[0] == "scale":
        twin.api.patch(DEPLOYMENTS, "default", op[1], {"spec": {"replicas": op[2]}}, "application/merge-patch+json")
    elif op[0] == "evict" and pods:
        twin.api.delete(PODS, "default", pods[op[1] % len(pods)]["metadata"]["name"])
    elif op[0] == "cordon" and twin.store.find(NODES, "", op[1]):
        twin.api.patch(NODES, "", op[1], {"spec": {"unschedulable": op[2]}}, "application/merge-patch+json")
    elif op[0] == "relabel" and pods:
        name = pods[op[1] % len(pods)]["metadata"]["name"]
        twin.api.patch(PODS, "default", name, {"metadata": {"labels": {"tier": "back"}}}, "application/merge-patch+json")
    elif op[0] == "remove" and twin.store.find(NODES, "", op[1]):
        twin.api.delete(NODES, "", op[1])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_the_pods_counted_for_spreading_are_always_a_recount_of_the_store(ops: list[tuple]) -> None:
    # the counts move with every pod the scheduler binds and every pod NodeInfos sees come, change or go
    twin = small_twin(workers=4)
    for app in APPS:
        twin.api.create(DEPLOYMENTS, "default", deployment(app, 3))
    twin.settle()
    scheduler = _scheduler(twin)
    for i in range(len(SELECTORS)):
        scheduler.spread.counted("default", SELECTORS[i])  # counted from here on, as the default constraints do
    for op in ops:
        _apply(twin, op)
        twin.settle()
        scheduler.catch_up(twin.index)
        for i, selector in enumerate(SELECTORS):
            assert Counter(scheduler.spread.counted("default", selector)) == _recount(twin, i)


def _summed_afresh(twin: Twin) -> dict[str, tuple[dict[str, float], float, float]]:
    infos = NodeInfos(PodCosts()).refresh(twin.index)
    return {name: (info.used, info.cpu, info.memory) for name, info in infos.items()}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_requests_re_added_from_the_first_changed_pod_are_bit_for_bit_a_fresh_sum(ops: list[tuple]) -> None:
    # a float sum depends on the order of its terms: the kept running sums must give exactly what adding every
    # pod of the node again, in the index's order, gives
    twin = small_twin(workers=4)
    for app in APPS:
        twin.api.create(DEPLOYMENTS, "default", deployment(app, 3, cpu="110m"))
    twin.settle()
    kept = NodeInfos(PodCosts())
    kept.refresh(twin.index)
    for op in ops:
        _apply(twin, op)
        twin.settle()
        infos = kept.refresh(twin.index)
        assert {name: (i.used, i.cpu, i.memory) for name, i in infos.items()} == _summed_afresh(twin)
