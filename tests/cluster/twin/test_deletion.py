"""Deletion as the API server and the garbage collector do it, driven with the official client over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client

from migrate.cluster.twin import Twin, serve_in_thread
from migrate.cluster.twin.resources import DEPLOYMENTS, PODS
from tests.cluster.conftest import FAST, deployment

CLUSTERS = Path(__file__).resolve().parents[3] / "playbook_fixtures" / "clusters"


@pytest.fixture
def apis(served):
    config = client.Configuration()
    config.host = served.url
    api_client = client.ApiClient(config)
    return client.AppsV1Api(api_client), client.CoreV1Api(api_client)


def _raw_delete(apps: client.AppsV1Api, path: str, **query) -> dict:
    response = apps.api_client.call_api(*apps.api_client.param_serialize(
        "DELETE", path, query_params=list(query.items())))
    response.read()
    return json.loads(response.data)


def test_orphan_keeps_the_dependents_and_drops_their_owner_reference(apis, twin) -> None:
    apps, core = apis
    apps.create_namespaced_deployment("default", deployment("web", 2))
    twin.settle()
    apps.delete_namespaced_deployment("web", "default", propagation_policy="Orphan")
    twin.settle()
    assert twin.store.find(DEPLOYMENTS, "default", "web") is None
    (rs,) = apps.list_namespaced_replica_set("default").items
    assert not rs.metadata.owner_references and not rs.metadata.deletion_timestamp
    pods = core.list_namespaced_pod("default").items
    assert len(pods) == 2 and all(p.metadata.owner_references[0].uid == rs.metadata.uid for p in pods)


def test_foreground_holds_the_owner_until_every_dependent_is_gone(apis, twin) -> None:
    apps, core = apis
    apps.create_namespaced_deployment("default", deployment("web", 2))
    twin.settle()
    body = _raw_delete(apps, "/apis/apps/v1/namespaces/default/deployments/web", propagationPolicy="Foreground")
    assert body["kind"] == "Deployment" and "foregroundDeletion" in body["metadata"]["finalizers"]
    assert body["metadata"]["deletionTimestamp"]
    assert twin.store.get(DEPLOYMENTS, "default", "web")["metadata"]["deletionTimestamp"]
    since = int(body["metadata"]["resourceVersion"])
    twin.settle()
    deleted = {e.resource.kind: e.revision for e in twin.store.history.since(since) if e.type == "DELETED"}
    pods = [e.revision for e in twin.store.history.since(since) if e.type == "DELETED" and e.resource is PODS]
    assert len(pods) == 2 and max(pods) < deleted["ReplicaSet"] < deleted["Deployment"]  # dependents first


def test_background_deletes_at_once_answering_a_status_and_the_dependents_follow(apis, twin) -> None:
    apps, core = apis
    created = apps.create_namespaced_deployment("default", deployment("web", 2))
    twin.settle()
    body = _raw_delete(apps, "/apis/apps/v1/namespaces/default/deployments/web")
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": "web", "group": "apps", "kind": "deployments", "uid": created.metadata.uid}}
    twin.settle()
    assert not core.list_namespaced_pod("default").items and not apps.list_namespaced_replica_set("default").items
    core.create_namespaced_config_map("default", {"metadata": {"name": "cm"}})
    assert _raw_delete(apps, "/api/v1/namespaces/default/configmaps/cm")["kind"] == "Status"


def test_a_deleted_pod_is_answered_with_the_pod_and_a_mirror_pod_comes_back() -> None:
    twin = Twin.from_snapshot(CLUSTERS / "demo.json", timing=FAST)
    twin.settle()
    served = serve_in_thread(twin)
    try:
        config = client.Configuration()
        config.host = served.url
        core = client.CoreV1Api(client.ApiClient(config))
        before = core.read_namespaced_pod("kube-apiserver-cp1", "kube-system")
        answered = core.delete_namespaced_pod("kube-apiserver-cp1", "kube-system")
        assert answered.kind == "Pod" and answered.metadata.name == "kube-apiserver-cp1"
        twin.advance(5)
        again = core.read_namespaced_pod("kube-apiserver-cp1", "kube-system")
        assert again.metadata.uid != before.metadata.uid and again.status.phase == "Running"
        assert again.metadata.owner_references[0].kind == "Node"
        twin.agents.remove_static_pod("cp1", "kube-system", "kube-apiserver-cp1")  # the manifest goes too
        core.delete_namespaced_pod("kube-apiserver-cp1", "kube-system")
        twin.advance(5)
        assert twin.store.find(PODS, "kube-system", "kube-apiserver-cp1") is None
    finally:
        served.stop()
