"""The HTTP facade: Status bodies, discovery, tables and watch streams as clients see them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client, config, watch

from migrate.cluster.twin.resources import NODES, PDBS, PODS
from tests.cluster.conftest import pdb, web_with_budget


def _request(served: Any, method: str, path: str, body: Any = None, content_type: str = "application/json",
             accept: str = "application/json") -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(served.url + path, data=data, method=method, headers={"Content-Type": content_type, "Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _assert_status(body: dict, code: int, reason: str | None) -> None:
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["code"] == code and body.get("reason") == reason and body["message"]


def test_errors_carry_status_bodies(twin, served) -> None:
    code, body = _request(served, "GET", "/api/v1/namespaces/default/pods/nope")
    _assert_status(body, 404, "NotFound")
    assert code == 404 and body["details"] == {"name": "nope", "kind": "pods"} and body["message"] == 'pods "nope" not found'
    code, body = _request(served, "GET", "/apis/apps/v1/namespaces/default/deployments/nope")
    assert body["message"] == 'deployments.apps "nope" not found' and body["details"]["group"] == "apps"
    code, body = _request(served, "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "Bad_Name"}})
    _assert_status(body, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    code, created = _request(served, "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    assert code == 201
    _request(served, "PUT", "/api/v1/namespaces/default/configmaps/cm", {**created, "data": {"a": "2"}})
    code, body = _request(served, "PUT", "/api/v1/namespaces/default/configmaps/cm", {**created, "data": {"a": "3"}})
    _assert_status(body, 409, "Conflict")
    code, body = _request(served, "POST", "/api/v1/namespaces/nowhere/configmaps", {"metadata": {"name": "cm"}})
    assert code == 404 and body["message"] == 'namespaces "nowhere" not found'
    code, body = _request(served, "GET", "/api/v1/namespaces/default/configmaps?limit=1&continue=bogus")
    _assert_status(body, 400, "BadRequest")


def test_eviction_over_http_429_and_500(twin, served) -> None:
    web_with_budget(twin, 2, minAvailable=2)
    name = next(p["metadata"]["name"] for p in twin.store.objects(PODS) if p["metadata"]["labels"].get("app") == "web")
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}}
    code, body = _request(served, "POST", f"/api/v1/namespaces/default/pods/{name}/eviction", eviction)
    _assert_status(body, 429, "TooManyRequests")
    assert body["details"]["causes"][0]["reason"] == "DisruptionBudget"
    twin.api.create(PDBS, "default", pdb("web-2", {"app": "web"}, maxUnavailable=1))
    twin.settle()
    code, body = _request(served, "POST", f"/api/v1/namespaces/default/pods/{name}/eviction", eviction)
    assert code == 500 and body["message"].startswith("This pod has more than one PodDisruptionBudget")
    twin.api.delete(PDBS, "default", "web")
    twin.api.delete(PDBS, "default", "web-2")
    code, body = _request(served, "POST", f"/api/v1/namespaces/default/pods/{name}/eviction", eviction)
    assert code == 201 and body["status"] == "Success"


def test_discovery_advertises_eviction_as_policy_v1(served) -> None:
    _, core = _request(served, "GET", "/api/v1")
    eviction = next(r for r in core["resources"] if r["name"] == "pods/eviction")
    assert (eviction["kind"], eviction["group"], eviction["version"]) == ("Eviction", "policy", "v1")
    _, groups = _request(served, "GET", "/apis")
    assert {"apps", "policy", "batch", "coordination.k8s.io"} <= {g["name"] for g in groups["groups"]}
    _, apps = _request(served, "GET", "/apis/apps/v1")
    deploy = next(r for r in apps["resources"] if r["name"] == "deployments")
    assert deploy["namespaced"] and "deploy" in deploy["shortNames"] and "patch" in deploy["verbs"]
    _, version = _request(served, "GET", "/version")
    assert version["gitVersion"] == "v1.31.4"


def test_lists_carry_kind_and_resource_version_and_tables_are_negotiated(served) -> None:
    _, nodes = _request(served, "GET", "/api/v1/nodes")
    assert nodes["kind"] == "NodeList" and nodes["apiVersion"] == "v1" and int(nodes["metadata"]["resourceVersion"]) > 0
    _, table = _request(served, "GET", "/api/v1/nodes", accept="application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
    assert table["kind"] == "Table" and [c["name"] for c in table["columnDefinitions"]][:5] == ["Name", "Status", "Roles", "Age", "Version"]
    assert table["rows"][0]["cells"][:2] == ["w1", "Ready"]


def _core(served: Any, tmp_path) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(str(served.write_kubeconfig(tmp_path / "kc"))))


def test_official_client_watch_resumes_and_reports_410(twin, served, tmp_path) -> None:
    core = _core(served, tmp_path)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"x": "1"}})
    core.patch_namespaced_config_map("a", "default", {"data": {"x": "2"}})
    core.delete_namespaced_config_map("a", "default")
    events = [(e["type"], e["object"].data) for e in watch.Watch().stream(core.list_namespaced_config_map, "default",
                                                                          resource_version=start, timeout_seconds=1)]
    assert events == [("ADDED", {"x": "1"}), ("MODIFIED", {"x": "2"}), ("DELETED", {"x": "2"})]
    twin.store.compact()
    with pytest.raises(client.ApiException) as info:
        list(watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=1))
    assert info.value.status == 410


def test_official_client_patches_with_each_content_type(twin, served, tmp_path) -> None:
    core = _core(served, tmp_path)
    core.patch_node("w1", {"metadata": {"labels": {"a": "1"}}})  # the client turns a dict into a strategic merge patch
    core.patch_node("w1", [{"op": "add", "path": "/metadata/labels/b", "value": "2"}])
    core.patch_node("w1", {"metadata": {"labels": {"a": None}}}, _content_type="application/merge-patch+json")
    labels = core.read_node("w1").metadata.labels
    assert labels.get("b") == "2" and "a" not in labels


def test_server_side_dry_run_changes_nothing(twin, served) -> None:
    code, node = _request(served, "PATCH", "/api/v1/nodes/w1?dryRun=All", {"spec": {"unschedulable": True}},
                          content_type="application/strategic-merge-patch+json")
    assert code == 200 and node["spec"]["unschedulable"] is True
    assert not twin.store.get(NODES, "", "w1")["spec"].get("unschedulable")
