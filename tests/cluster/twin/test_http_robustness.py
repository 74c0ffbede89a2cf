"""Malformed requests get the 4xx a real API server gives, and the twin keeps serving and reconciling."""

from __future__ import annotations

import http.client
import json

import pytest

from migrate.cluster.twin import serve_in_thread
from migrate.cluster.twin.resources import DEPLOYMENTS
from tests.cluster.conftest import deployment, small_twin


@pytest.fixture
def server():
    twin = small_twin()
    handle = serve_in_thread(twin)
    yield twin, handle
    handle.stop()


def _request(handle, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    host, port = handle.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data) if data else {}


@pytest.mark.parametrize("method, path, body, ctype, code", [
    ("PATCH", "/api/v1/nodes/w1", b'{"spec": 5}', "application/merge-patch+json", 422),
    # RFC 7386: a non-object merge patch replaces the whole object, which then does not decode: 422 on `patch`
    ("PATCH", "/api/v1/nodes/w1", b'[1, 2]', "application/merge-patch+json", 422),
    ("PATCH", "/api/v1/nodes/w1", b'[1, 2]', "application/strategic-merge-patch+json", 400),
    ("PATCH", "/api/v1/nodes/w1", b'{"spec": {"taints": "x"}}', "application/strategic-merge-patch+json", 422),
    ("PUT", "/api/v1/nodes/w1", b'{"metadata": {"name": "w1"}, "spec": 5}', "application/json", 400),
    ("POST", "/api/v1/namespaces/default/pods", b'{"metadata": {"name": "p"}, "spec": {"containers": '
     b'[{"name": "c", "image": "i", "resources": {"requests": {"cpu": "lots"}}}]}}', "application/json", 400),
    ("POST", "/api/v1/namespaces/default/configmaps", b'{"metadata": {"name": "x"}, "data": {"a": NaN}}',
     "application/json", 400),
    ("POST", "/api/v1/namespaces/default/configmaps", b'[{"metadata": {"name": "x"}}]', "application/json", 400),
    # the API server decodes into typed structs first: a body that cannot decode is 400, before admission
    ("POST", "/api/v1/namespaces/default/configmaps", b'{"metadata": {"name": "x"}, "data": 7, "status": "no"}',
     "application/json", 400),
])
def test_a_malformed_body_is_a_4xx_status_and_the_twin_keeps_reconciling(server, method, path, body, ctype, code):
    twin, handle = server
    status, reply = _request(handle, method, path, body, {"Content-Type": ctype})
    assert status == code and reply["kind"] == "Status" and "Traceback" not in json.dumps(reply)
    twin.api.create(DEPLOYMENTS, "default", deployment("after", 2))
    twin.settle()
    status, pods = _request(handle, "GET", "/api/v1/namespaces/default/pods")
    assert status == 200 and sum(p["metadata"]["name"].startswith("after") for p in pods["items"]) == 2


def test_a_huge_content_length_is_413_without_reading_it(server):
    _, handle = server
    host, port = handle.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest("POST", "/api/v1/namespaces/default/configmaps")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(10 ** 12))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    conn.close()
    assert _request(handle, "GET", "/api/v1/nodes")[0] == 200  # still serving
