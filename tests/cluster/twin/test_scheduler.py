from __future__ import annotations

from collections import Counter

from migrate.cluster.twin import Twin, VirtualClock
from migrate.cluster.twin.resources import DEPLOYMENTS, NODES, PODS, SERVICES
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
