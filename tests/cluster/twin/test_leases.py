"""Leases as kube-apiserver's coordination registry handles them, driven by the official client over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from migrate.clock import parse_rfc3339
from migrate.cluster.twin.resources import LEASES

NS = "kube-system"


@pytest.fixture
def leases(served) -> client.CoordinationV1Api:
    config = client.Configuration()
    config.host = served.url
    return client.CoordinationV1Api(client.ApiClient(config))


def _lease(name: str, **spec) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name, "namespace": NS},
            "spec": {"holderIdentity": "run-1", "leaseDurationSeconds": 30,
                     "renewTime": "2026-12-04T01:00:00.500000Z", **spec}}


def _status(exc: ApiException) -> dict:
    return json.loads(exc.body)


def test_put_without_resource_version_is_422_and_put_to_a_missing_lease_creates_it(leases) -> None:
    _, code, _ = leases.replace_namespaced_lease_with_http_info("lock", NS, _lease("lock"))
    assert code == 201  # the Lease strategy allows create on update
    with pytest.raises(ApiException) as refused:
        leases.replace_namespaced_lease("lock", NS, _lease("lock", holderIdentity="run-2"))
    status = _status(refused.value)
    assert refused.value.status == 422 and status["reason"] == "Invalid"
    assert status["message"] == ('leases.coordination.k8s.io "lock" is invalid: metadata.resourceVersion: '
                                 "Invalid value: 0x0: must be specified for an update")
    assert status["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
                                            "message": "Invalid value: 0x0: must be specified for an update"}]
    assert leases.read_namespaced_lease("lock", NS).spec.holder_identity == "run-1"


def test_a_patch_carrying_a_stale_resource_version_is_409_whatever_its_flavour(leases) -> None:
    created = leases.create_namespaced_lease(NS, _lease("lock"))
    stale = created.metadata.resource_version
    leases.patch_namespaced_lease("lock", NS, {"spec": {"holderIdentity": "run-2"}})  # moves resourceVersion
    json_patch = [{"op": "replace", "path": "/metadata/resourceVersion", "value": stale},
                  {"op": "replace", "path": "/spec/holderIdentity", "value": "run-3"}]
    for body in (json_patch, {"metadata": {"resourceVersion": stale}, "spec": {"holderIdentity": "run-3"}}):
        with pytest.raises(ApiException) as refused:
            leases.patch_namespaced_lease("lock", NS, body)
        assert refused.value.status == 409 and _status(refused.value)["reason"] == "Conflict"
    current = leases.read_namespaced_lease("lock", NS)
    assert current.spec.holder_identity == "run-2"
    fresh = [{"op": "replace", "path": "/metadata/resourceVersion", "value": current.metadata.resource_version},
             {"op": "replace", "path": "/spec/holderIdentity", "value": "run-3"}]
    assert leases.patch_namespaced_lease("lock", NS, fresh).spec.holder_identity == "run-3"


def _post(served, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{served.url}/apis/coordination.k8s.io/v1/namespaces/{NS}/leases",
                                     json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_lease_fields_are_validated_and_micro_times_normalised(leases, twin, served) -> None:
    for spec, field in (({"leaseDurationSeconds": 0}, "spec.leaseDurationSeconds"),
                        ({"leaseTransitions": -1}, "spec.leaseTransitions"),
                        ({"preferredHolder": "b"}, "spec.preferredHolder")):
        with pytest.raises(ApiException) as refused:
            leases.create_namespaced_lease(NS, _lease("bad", **spec))
        assert refused.value.status == 422
        assert [c["field"] for c in _status(refused.value)["details"]["causes"]] == [field]
    # MicroTime needs six fraction digits; the official client coerces a dict body into V1Lease and writes a
    # datetime whose microsecond is 0 with isoformat(), without them: a real server refuses that, so does the twin
    for bad in ({"renewTime": "2026-12-04T01:00:00Z"}, {"renewTime": "2026-12-04T01:00:00.000000Z"}):
        with pytest.raises(ApiException) as refused:
            leases.create_namespaced_lease(NS, _lease("bad", **bad))
        assert refused.value.status == 400 and "cannot be handled as a Lease" in _status(refused.value)["message"]
    code, status = _post(served, _lease("bad", leaseDurationSeconds="30"))  # the typed client refuses to send it
    assert code == 400 and "cannot unmarshal string into Go struct field Lease.spec.leaseDurationSeconds of type " \
        "int32" in status["message"]
    created = leases.create_namespaced_lease(NS, _lease("tz", renewTime="2026-12-04T02:00:00.250000+01:00"))
    stored = twin.store.get(LEASES, NS, "tz")
    assert stored["spec"]["renewTime"] == "2026-12-04T01:00:00.250000Z"  # UTC, six digits, as the server re-encodes
    assert created.spec.renew_time.timestamp() == pytest.approx(parse_rfc3339("2026-12-04T01:00:00.25Z"))
    assert "generation" not in stored["metadata"]  # the Lease strategy keeps no generation
