from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from migrate.cluster.twin import Twin, VirtualClock
from migrate.cluster.twin.resources import DEPLOYMENTS, NODES, PODS, SERVICES
from migrate.cluster.twin.scheduler import nodes_to_find
from tests.cluster.conftest import FAST, deployment, small_twin


def _placement(twin, app: str) -> list[str | None]:
    return sorted((p["spec"].get("nodeName") or "-") for p in twin.store.objects(PODS) if p["metadata"]["labels"].get("app") == app)


def test_cordoned_and_tainted_nodes_get_no_new_pods_unless_tolerated() -> None:
    twin = small_twin()
    twin.api.patch(NODES, "", "w1", {"spec": {"unschedulable": True}}, "application/strategic-merge-patch+json")
    twin.api.patch(NODES, "", "w2", {"spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}},
                   "application/merge-patch+json")
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 3))
    twin.api.create(DEPLOYMENTS, "default", deployment("db", 1, tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db"}],
                                                       nodeSelector={"kubernetes.io/hostname": "w2"}))
    twin.settle()
    assert _placement(twin, "web") == ["w3", "w3", "w3"]
    assert _placement(twin, "db") == ["w2"]


def test_requests_beyond_allocatable_stay_pending_with_the_reason() -> None:
    twin = small_twin(workers=2)  # 4 cpu each
    twin.api.create(DEPLOYMENTS, "default", deployment("big", 3, cpu="3"))
    twin.settle()
    assert _placement(twin, "big") == ["-", "w1", "w2"]
    pending = next(p for p in twin.store.objects(PODS) if not p["spec"].get("nodeName"))
    condition = next(c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled")
    assert condition["reason"] == "Unschedulable" and condition["message"] == "0/2 nodes are available: 2 Insufficient cpu."


def test_no_execute_taint_evicts_pods_that_do_not_tolerate_it() -> None:
    twin = small_twin(workers=2)
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 2))
    twin.settle()
    twin.api.patch(NODES, "", "w1", {"spec": {"taints": [{"key": "maintenance", "effect": "NoExecute"}]}}, "application/merge-patch+json")
    twin.settle()
    assert _placement(twin, "web") == ["w2", "w2"]


def _zoned_twin(zones: dict[str, str], cpu: str = "4") -> Twin:
    twin = Twin(VirtualClock(), timing=FAST, node_ready_delay=5.0)
    for i, (name, zone) in enumerate(sorted(zones.items()), start=1):
        twin.add_node(name, f"10.0.10.{20 + i}", cpu=cpu, memory="8Gi", labels={"topology.kubernetes.io/zone": zone})
    twin.settle()
    return twin


def _per(twin: Twin, app: str, key: str) -> Counter[str]:
    nodes = {n["metadata"]["name"]: n for n in twin.store.objects(NODES)}
    return Counter(nodes[p][ "metadata"]["labels"][key] for p in _placement(twin, app) if p != "-")


def test_replicas_spread_over_zones_as_well_as_nodes() -> None:
    # zone b has one node: least-allocated alone would give every node 2 of the 8; the zone spreading of the
    # default constraints (maxSkew 5 per zone, 3 per node) moves replicas to the lone node of zone b
    twin = _zoned_twin({"w1": "a", "w2": "a", "w3": "a", "w4": "b"})
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 8, cpu="100m"))
    twin.settle()
    per_node = _per(twin, "web", "kubernetes.io/hostname")
    assert per_node["w4"] > max(per_node[n] for n in ("w1", "w2", "w3"))
    assert max(per_node.values()) - min(per_node.values()) <= 3 and sum(per_node.values()) == 8


def test_a_service_selecting_pods_spreads_them_too() -> None:
    twin = _zoned_twin({"w1": "a", "w2": "a", "w3": "a", "w4": "b"})
    twin.api.create(SERVICES, "default", {"metadata": {"name": "solo"}, "spec": {"selector": {"app": "solo"},
                                                                                  "ports": [{"port": 80}]}})
    for i in range(8):
        twin.api.create(PODS, "default", {"metadata": {"name": f"solo-{i}", "labels": {"app": "solo"}},
                                          "spec": {"containers": [{"name": "c", "image": "example/c:1"}]}})
        twin.settle()
    per_node = _per(twin, "solo", "kubernetes.io/hostname")
    assert per_node["w4"] > max(per_node[n] for n in ("w1", "w2", "w3"))


def test_pods_no_controller_or_service_selects_are_placed_by_resources_alone() -> None:
    twin = _zoned_twin({"w1": "a", "w2": "a", "w3": "b"})
    for i in range(3):
        twin.api.create(PODS, "default", {"metadata": {"name": f"solo-{i}", "labels": {"app": "solo"}},
                                          "spec": {"containers": [{"name": "c", "image": "example/c:1",
                                                                   "resources": {"requests": {"cpu": "1"}}}]}})
    twin.settle()
    assert sorted(_per(twin, "solo", "kubernetes.io/hostname").values()) == [1, 1, 1]  # least-allocated still spreads


def test_do_not_schedule_constraints_filter_and_leave_the_rest_pending() -> None:
    twin = _zoned_twin({"w1": "a", "w2": "a", "w3": "b"})
    constraint = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
                  "labelSelector": {"matchLabels": {"app": "db"}}}
    twin.api.create(DEPLOYMENTS, "default", deployment("db", 4, topologySpreadConstraints=[constraint],
                                                       nodeSelector={"kubernetes.io/hostname": "w1"}))
    twin.settle()
    # only w1 is eligible, so zone b counts nothing: every pod fits; with the node selector dropped the skew binds
    assert _per(twin, "db", "topology.kubernetes.io/zone") == {"a": 4}
    twin.api.create(DEPLOYMENTS, "default", deployment("kv", 4, topologySpreadConstraints=[{**constraint, "labelSelector": {"matchLabels": {"app": "kv"}}}]))
    twin.api.patch(NODES, "", "w3", {"spec": {"unschedulable": True}}, "application/merge-patch+json")
    twin.settle()
    assert _per(twin, "kv", "topology.kubernetes.io/zone") == {"a": 1}
    pending = [p for p in twin.store.objects(PODS) if p["metadata"]["labels"].get("app") == "kv" and not p["spec"].get("nodeName")]
    message = next(c for c in pending[0]["status"]["conditions"] if c["type"] == "PodScheduled")["message"]
    assert "node(s) didn't match pod topology spread constraints" in message and len(pending) == 3


def test_feasible_nodes_to_find_follows_kube_schedulers_adaptive_percentage() -> None:
    # schedule_one.go: all nodes under 100; above, (50 - n/125)% of them (at least 5%), never fewer than 100
    assert [nodes_to_find(n) for n in (0, 3, 99)] == [0, 3, 99]
    assert [nodes_to_find(n) for n in (100, 200, 250)] == [100, 100, 120]
    assert nodes_to_find(1000) == 420 and nodes_to_find(5000) == 500 and nodes_to_find(6000) == 300


@given(st.integers(min_value=0, max_value=20_000))
def test_feasible_nodes_to_find_is_never_more_than_the_cluster_nor_fewer_than_a_hundred(nodes: int) -> None:
    assert min(nodes, 100) <= nodes_to_find(nodes) <= nodes


def _bare_pod(name: str, cpu: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"run": name}},
            "spec": {"containers": [{"name": "c", "image": "example/c:1",
                                     "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}}


def _node_of(twin: Twin, name: str) -> str:
    return twin.store.find(PODS, "default", name)["spec"]["nodeName"]


def test_on_a_large_cluster_only_the_nodes_searched_are_scored_and_the_next_pod_searches_on() -> None:
    # 150 nodes: kube-scheduler stops at 100 feasible ones, so the first pod never sees the bigger nodes at the end
    # of the node list; the second pod's search starts where the first stopped and finds them
    twin = Twin(VirtualClock(), timing=FAST, node_ready_delay=5.0)
    for i in range(150):
        twin.add_node(f"n{i:03}", f"10.0.{i // 200}.{i % 200 + 10}", cpu="8" if i >= 100 else "4", memory="8Gi")
    twin.settle()
    for name in ("first", "second"):
        twin.api.create(PODS, "default", _bare_pod(name))
        twin.settle()
    assert (_node_of(twin, "first"), _node_of(twin, "second")) == ("n000", "n100")


def test_under_a_hundred_nodes_every_node_is_scored() -> None:
    twin = Twin(VirtualClock(), timing=FAST, node_ready_delay=5.0)
    for i in range(99):
        twin.add_node(f"n{i:03}", f"10.0.0.{i + 10}", cpu="8" if i >= 90 else "4", memory="8Gi")
    twin.settle()
    twin.api.create(PODS, "default", _bare_pod("first"))
    twin.settle()
    assert _node_of(twin, "first") == "n090"


def test_a_zone_counts_the_pods_on_its_nodes_that_cannot_take_the_pod() -> None:
    # PreScore sums a zone over every node the pod's selector admits: the 4 replicas on cordoned w2 still make
    # zone a the fuller one, so the fifth replica goes to zone b (counting only the nodes that fit, a and b tie)
    twin = _zoned_twin({"w1": "a", "w2": "a", "w3": "b"})
    for name in ("w1", "w3"):
        twin.api.patch(NODES, "", name, {"spec": {"unschedulable": True}}, "application/merge-patch+json")
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 4))
    twin.settle()
    assert _per(twin, "web", "kubernetes.io/hostname") == {"w2": 4}
    for name, cordoned in (("w1", False), ("w3", False), ("w2", True)):
        twin.api.patch(NODES, "", name, {"spec": {"unschedulable": cordoned}}, "application/merge-patch+json")
    twin.api.patch(DEPLOYMENTS, "default", "web", {"spec": {"replicas": 5}}, "application/merge-patch+json")
    twin.settle()
    assert _per(twin, "web", "kubernetes.io/hostname") == {"w2": 4, "w3": 1}


def test_a_pending_pod_is_placed_once_a_node_gains_the_label_it_selects() -> None:
    # the selector's verdict per node is remembered only while the node's labels and spec stay as they were
    twin = small_twin()
    twin.api.create(PODS, "default", {**_bare_pod("db"), "spec": {**_bare_pod("db")["spec"], "nodeSelector": {"disk": "ssd"}}})
    twin.settle()
    assert not twin.store.find(PODS, "default", "db")["spec"].get("nodeName")
    twin.api.patch(NODES, "", "w2", {"metadata": {"labels": {"disk": "ssd"}}}, "application/merge-patch+json")
    twin.settle()
    assert _node_of(twin, "db") == "w2"


def test_a_node_whose_allocatable_shrinks_takes_no_pod_that_no_longer_fits() -> None:
    twin = small_twin(workers=1)  # 4 cpu
    twin.api.create(PODS, "default", _bare_pod("one", cpu="2"))
    twin.settle()
    node = twin.store.find(NODES, "", "w1")
    status = {**node["status"], "allocatable": {**node["status"]["allocatable"], "cpu": "3"}}
    twin.store.update(NODES, {**node, "status": status}, status=True, force=True)
    twin.api.create(PODS, "default", _bare_pod("two", cpu="2"))
    twin.settle()
    pending = twin.store.find(PODS, "default", "two")
    assert not pending["spec"].get("nodeName")
    condition = next(c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled")
    assert condition["message"] == "0/1 nodes are available: 1 Insufficient cpu."


def test_the_search_starts_within_the_node_list_after_nodes_leave() -> None:
    twin = Twin(VirtualClock(), timing=FAST, node_ready_delay=5.0)
    for i in range(150):
        twin.add_node(f"n{i:03}", f"10.0.{i // 200}.{i % 200 + 10}", cpu="4", memory="8Gi")
    twin.settle()
    twin.api.create(PODS, "default", _bare_pod("first"))
    twin.settle()  # the next search would start at node 100
    for i in range(1, 150):
        if i != 120:
            twin.api.delete(NODES, "", f"n{i:03}")
    twin.settle()
    twin.api.create(PODS, "default", _bare_pod("second"))
    twin.settle()
    assert {_node_of(twin, "first"), _node_of(twin, "second")} <= {"n000", "n120"}
    assert twin.failures == Counter()
