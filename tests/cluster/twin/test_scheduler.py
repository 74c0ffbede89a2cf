from __future__ import annotations

from migrate.cluster.twin.resources import DEPLOYMENTS, NODES, PODS
from tests.cluster.conftest import deployment, small_twin


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
