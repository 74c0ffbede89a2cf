"""Controllers make the cluster move: replacements get new names, StatefulSets keep theirs, DaemonSets follow nodes."""

from __future__ import annotations

from migrate.cluster.twin.resources import (
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    NODES,
    PODS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    STATEFULSETS,
)
from tests.cluster.conftest import deployment, small_twin


def _pods(twin, **labels: str) -> list[dict]:
    return sorted((p for p in twin.store.objects(PODS)
                   if all(p["metadata"].get("labels", {}).get(k) == v for k, v in labels.items())),
                  key=lambda p: p["metadata"]["name"])


def test_deployment_replaces_a_deleted_pod_under_a_new_name() -> None:
    twin = small_twin()
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 3))
    twin.settle()
    before = {p["metadata"]["name"] for p in _pods(twin, app="web")}
    assert len(before) == 3 and all(p["status"]["phase"] == "Running" for p in _pods(twin, app="web"))
    victim = sorted(before)[0]
    twin.api.delete(PODS, "default", victim)
    twin.settle()
    after = {p["metadata"]["name"] for p in _pods(twin, app="web")}
    assert victim not in after and len(after) == 3 and len(after - before) == 1
    status = twin.store.get(DEPLOYMENTS, "default", "web")["status"]
    assert status["readyReplicas"] == 3 and status["observedGeneration"] == 1


def test_changing_the_template_rolls_to_a_new_replicaset() -> None:
    twin = small_twin()
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 2))
    twin.settle()
    twin.api.patch(DEPLOYMENTS, "default", "web", {"spec": {"template": {"metadata": {"labels": {"app": "web", "v": "2"}}}}},
                   "application/strategic-merge-patch+json")
    twin.settle()
    sets = {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in twin.store.objects(REPLICASETS)}
    assert sorted(sets.values()) == [0, 2] and len(_pods(twin, v="2")) == 2 and len(_pods(twin, app="web")) == 2


def test_statefulset_recreates_the_same_name_with_a_new_uid_in_order() -> None:
    twin = small_twin()
    spec = deployment("db", 3)
    twin.api.create(STATEFULSETS, "default", {**spec, "spec": {**spec["spec"], "serviceName": "db"}})
    twin.reconcile()
    assert [p["metadata"]["name"] for p in _pods(twin, app="db")] == ["db-0"]  # OrderedReady: one at a time
    twin.settle()
    assert [p["metadata"]["name"] for p in _pods(twin, app="db")] == ["db-0", "db-1", "db-2"]
    old_uid = twin.store.get(PODS, "default", "db-1")["metadata"]["uid"]
    twin.api.delete(PODS, "default", "db-1")
    twin.settle()
    again = twin.store.get(PODS, "default", "db-1")
    assert again["metadata"]["uid"] != old_uid and again["status"]["phase"] == "Running"


def test_daemonset_runs_one_pod_per_eligible_node_including_new_ones() -> None:
    twin = small_twin()
    twin.api.create(DAEMONSETS, "kube-system", deployment("agent", 0))
    twin.settle()
    assert sorted(p["spec"]["nodeName"] for p in _pods(twin, app="agent")) == ["w1", "w2", "w3"]
    twin.add_node("w4", "10.0.10.24")
    twin.settle()
    assert sorted(p["spec"]["nodeName"] for p in _pods(twin, app="agent")) == ["w1", "w2", "w3", "w4"]
    twin.api.delete(NODES, None, "w4")
    twin.settle()
    assert len(_pods(twin, app="agent")) == 3


def test_job_runs_to_completion() -> None:
    twin = small_twin()
    spec = deployment("once", 1)["spec"]
    spec["template"]["spec"]["restartPolicy"] = "Never"
    twin.api.create(JOBS, "default", {"metadata": {"name": "once"}, "spec": {"completions": 2, "parallelism": 1, "template": spec["template"]}})
    twin.settle()
    job = twin.store.get(JOBS, "default", "once")
    assert job["status"]["succeeded"] == 2 and job["status"]["conditions"][0]["type"] == "Complete"


def test_deleting_a_deployment_collects_its_replicasets_and_pods() -> None:
    twin = small_twin()
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 2))
    twin.settle()
    twin.api.delete(DEPLOYMENTS, "default", "web")
    twin.settle()
    assert not list(twin.store.objects(REPLICASETS)) and not _pods(twin, app="web")


def test_a_replication_controller_keeps_its_replicas_and_its_pods_go_with_it() -> None:
    twin = small_twin()
    rc = {"metadata": {"name": "legacy"}, "spec": {"replicas": 2, "template": {
        "metadata": {"labels": {"app": "legacy"}}, "spec": {"containers": [{"name": "c", "image": "example/c:1"}]}}}}
    created = twin.api.create(REPLICATIONCONTROLLERS, "default", rc)
    assert created["spec"]["selector"] == {"app": "legacy"} and created["status"] == {"replicas": 0}
    twin.settle()
    assert len(_pods(twin, app="legacy")) == 2
    assert twin.store.get(REPLICATIONCONTROLLERS, "default", "legacy")["status"]["readyReplicas"] == 2
    twin.api.delete(REPLICATIONCONTROLLERS, "default", "legacy")
    twin.settle()
    assert _pods(twin, app="legacy") == []
