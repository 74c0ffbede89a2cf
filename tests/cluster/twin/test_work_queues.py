"""Controllers work from queues keyed by object: a pass reconciles the owners whose objects or pods changed,
not every workload of a namespace something was written to."""

from __future__ import annotations

from typing import Any

from migrate.cluster.twin.controllers import ReplicaSetController, touched_owners
from migrate.cluster.twin.deployments import DeploymentController
from migrate.cluster.twin.pdb import DisruptionController
from migrate.cluster.twin.resources import DEPLOYMENTS, PDBS, PODS, REPLICASETS
from migrate.cluster.twin.simulation import Twin
from migrate.cluster.twin.store import Event
from tests.cluster.conftest import deployment, pdb, small_twin

APPS = ("web", "api", "db")  # one namespace: a write there used to make every controller look at all three


def _twin() -> Twin:
    twin = small_twin()
    for app in APPS:
        twin.api.create(DEPLOYMENTS, "default", deployment(app, 3))
        twin.api.create(PDBS, "default", pdb(app, {"app": app}, maxUnavailable=1))
    twin.settle()
    return twin


def _actor(twin: Twin, kind: type) -> Any:
    return next(a for a in twin.actors if isinstance(a, kind))


def _app(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"]).split("-")[0]


def _delete_one_pod(twin: Twin, app: str) -> str:
    victim = min(p["metadata"]["name"] for p in twin.store.objects(PODS, "default") if p["metadata"]["labels"]["app"] == app)
    twin.api.delete(PODS, "default", victim)
    return victim


def test_only_the_owner_whose_pod_changed_is_queued_for_another_pass() -> None:
    twin = _twin()
    since = twin.store.revision
    _delete_one_pod(twin, "api")
    twin.index.look_from(since)  # what the dispatch loop tells each actor before it runs
    sets = _actor(twin, ReplicaSetController)
    # the queue itself holds the one set, not the three of the namespace written to
    assert [_app(rs) for rs in sets.queue(REPLICASETS, twin.index, touched_owners(twin.index, "ReplicaSet"))] == ["api"]
    assert [_app(rs) for rs in sets.pending(twin.index)] == ["api"]
    assert [_app(d) for d, _, _ in _actor(twin, DeploymentController).pending(twin.index)] == ["api"]
    # nothing changed for the other two since their last pass: a second look queues nobody at all
    twin.settle()
    twin.index.look_from(twin.store.revision)
    assert _actor(twin, ReplicaSetController).pending(twin.index) == []
    assert _actor(twin, DeploymentController).pending(twin.index) == []


def test_a_change_to_one_owners_pod_reconciles_that_owner_and_writes_nothing_for_the_others() -> None:
    twin = _twin()
    written: list[tuple[str, str]] = []

    def record(event: Event) -> None:
        written.append((event.resource.plural, _app(event.object)))

    twin.store.subscribe(record)
    victim = _delete_one_pod(twin, "web")
    twin.settle()
    web_pods = [p for p in twin.store.objects(PODS, "default") if p["metadata"]["labels"]["app"] == "web"]
    assert victim not in {p["metadata"]["name"] for p in web_pods} and len(web_pods) == 3
    assert all(p["status"]["phase"] == "Running" for p in web_pods)
    # the web ReplicaSet made the replacement and its status, Deployment and budget followed it
    assert {("pods", "web"), ("replicasets", "web"), ("deployments", "web"), ("poddisruptionbudgets", "web")} <= set(written)
    assert {app for _, app in written} == {"web"}  # api and db: not one write, their sets and budgets untouched
    web = twin.store.get(REPLICASETS, "default", _rs_name(twin, "web"))
    assert web["status"]["readyReplicas"] == 3
    budget = twin.store.get(PDBS, "default", "web")["status"]
    assert budget["currentHealthy"] == 3 and budget["disruptionsAllowed"] == 1


def test_a_budget_is_queued_only_when_a_pod_it_selects_changes() -> None:
    twin = _twin()
    since = twin.store.revision
    _delete_one_pod(twin, "db")
    twin.index.look_from(since)
    disruption = _actor(twin, DisruptionController)
    assert disruption.members.touched_since(since) == [("default", "db")]
    assert twin.index.written_since(PDBS, since) == []  # no budget itself was written


def _rs_name(twin: Twin, app: str) -> str:
    return next(rs["metadata"]["name"] for rs in twin.store.objects(REPLICASETS, "default") if _app(rs) == app)


def _replicaset(name: str, replicas: Any) -> dict[str, Any]:
    template = deployment(name, 1)["spec"]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default"},
            "spec": {**template, "replicas": replicas}}


def test_what_a_failed_run_left_unreached_is_reconciled_at_the_next_call() -> None:
    # a captured set the controller chokes on ("two" replicas) comes first in the queue, a sound one after it
    twin = small_twin()
    twin.store.load(REPLICASETS, _replicaset("a-broken", "two"))
    twin.store.load(REPLICASETS, _replicaset("b-sound", 2))
    twin.reconcile()
    assert twin.failures["ReplicaSetController"] >= 1
    sound = [p for p in twin.store.objects(PODS, "default") if p["metadata"]["name"].startswith("b-sound")]
    assert sound == []  # the failed run never reached it
    # the operator mends the broken set: only it is written, yet the sound one's work comes back with it
    broken = twin.store.get(REPLICASETS, "default", "a-broken")
    twin.store.update(REPLICASETS, {**broken, "spec": {**broken["spec"], "replicas": 1}}, force=True)
    twin.settle()
    names = sorted(p["metadata"]["name"].split("-")[0] for p in twin.store.objects(PODS, "default"))
    assert names == ["a", "b", "b"]
