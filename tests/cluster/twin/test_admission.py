"""Admission as the API server does it (decode 400, validation 422 with causes), and a property: whatever objects
clients send, valid or not, the controllers never stop and never fail."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrate.cluster.twin.resources import (
    CLUSTERROLEBINDINGS,
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    LEASES,
    NODES,
    PDBS,
    PODS,
    REPLICASETS,
    SERVICES,
    STATEFULSETS,
    ResourceType,
)
from migrate.cluster.twin.status import ApiError
from tests.cluster.conftest import deployment, small_twin

POD_SPEC = {"containers": [{"name": "c", "image": "example/c:1", "resources": {"requests": {"cpu": "100m"}}}],
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}], "nodeSelector": {"a": "b"}}
TEMPLATE = {"metadata": {"labels": {"app": "x"}}, "spec": POD_SPEC}
SELECTOR = {"matchLabels": {"app": "x"}}
VALID: dict[ResourceType, dict[str, Any]] = {
    PODS: {"metadata": {"name": "p", "labels": {"app": "x"}}, "spec": POD_SPEC},
    DEPLOYMENTS: {"metadata": {"name": "d"}, "spec": {"replicas": 2, "selector": SELECTOR, "template": TEMPLATE,
                                                      "strategy": {"rollingUpdate": {"maxSurge": 1,
                                                                                     "maxUnavailable": "25%"}}}},
    REPLICASETS: {"metadata": {"name": "r"}, "spec": {"replicas": 1, "selector": SELECTOR, "template": TEMPLATE}},
    STATEFULSETS: {"metadata": {"name": "s"}, "spec": {"replicas": 2, "selector": SELECTOR, "template": TEMPLATE,
                                                       "serviceName": "s"}},
    DAEMONSETS: {"metadata": {"name": "ds"}, "spec": {"selector": SELECTOR, "template": TEMPLATE}},
    JOBS: {"metadata": {"name": "j"}, "spec": {"template": {"metadata": {}, "spec": {**POD_SPEC,
                                                                                     "restartPolicy": "Never"}}}},
    PDBS: {"metadata": {"name": "b"}, "spec": {"maxUnavailable": 1, "selector": SELECTOR}},
    NODES: {"metadata": {"name": "n9", "labels": {"zone": "a"}},
            "spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}], "podCIDR": "10.1.0.0/24"}},
    SERVICES: {"metadata": {"name": "svc"}, "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}},
    LEASES: {"metadata": {"name": "l"}, "spec": {"holderIdentity": "h", "leaseDurationSeconds": 15}},
}
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 2**33), st.floats(allow_nan=False, allow_infinity=False),
                 st.sampled_from(["", "1", "50%", "150%", "-1", "x y", "Exists", "In", "NoExecute", "1Gi", "lots",
                                  "2026-12-04T01:00:00Z", "2026-12-04T01:00:00.000001Z"]),
                 st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.sampled_from(["a", "key", "name"]),
                                                                          st.integers(0, 2), max_size=2))


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += _paths(v, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> tuple[ResourceType, dict[str, Any]]:
    """A valid object of a random kind with a few random fields replaced or removed: valid and invalid alike."""
    rt = draw(st.sampled_from(list(VALID)))
    obj = copy.deepcopy(VALID[rt])
    for _ in range(draw(st.integers(0, 3))):
        paths = [p for p in _paths(obj) if p[:2] != ("metadata", "name") and p != ("metadata",)]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = obj
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JUNK)
    return rt, obj


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=4), st.sampled_from(["create", "replace", "merge"]))
def test_random_objects_never_stop_or_fail_a_controller(objects, verb) -> None:
    twin = small_twin(workers=2)
    for rt, obj in objects:
        body = json.loads(json.dumps(obj))
        try:
            if verb == "create" or twin.store.find(rt, "default", obj["metadata"]["name"]) is None:
                twin.api.create(rt, "default", body)
            elif verb == "replace":
                twin.api.put(rt, "default", obj["metadata"]["name"], body)
            else:
                twin.api.patch(rt, "default", obj["metadata"]["name"], body, "application/merge-patch+json")
        except ApiError as refused:
            assert 400 <= refused.code < 500, refused.body()  # a 4xx Status, never a 500
        twin.advance(30)
    assert not twin.failures, twin.failures
    twin.api.create(DEPLOYMENTS, "default", deployment("sentinel", 2))  # the controllers still do their work
    twin.settle()
    ready = [p for p in twin.store.objects(PODS) if p["metadata"]["name"].startswith("sentinel")
             and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])]
    assert len(ready) == 2 and not twin.failures


def _refusal(rt: ResourceType, body: dict[str, Any]) -> ApiError:
    twin = small_twin(workers=1)
    with pytest.raises(ApiError) as refused:
        twin.api.create(rt, "default", body)
    return refused.value


def test_a_pdb_with_a_string_that_is_not_a_percentage_is_422_as_the_api_server_words_it() -> None:
    error = _refusal(PDBS, {"metadata": {"name": "b"}, "spec": {"maxUnavailable": "1", "selector": SELECTOR}})
    assert error.code == 422 and error.body()["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "field": "spec.maxUnavailable",
        "message": "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"1\"}: a valid percent string must be "
                   "a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is "
                   "'[0-9]+%')"}]
    assert error.message.startswith('PodDisruptionBudget.policy "b" is invalid: spec.maxUnavailable: ')


def test_several_causes_are_listed_in_brackets_and_a_body_that_cannot_decode_is_400() -> None:
    bad = copy.deepcopy(VALID[DEPLOYMENTS])
    bad["spec"]["replicas"] = -1
    bad["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    error = _refusal(DEPLOYMENTS, bad)
    assert error.code == 422 and [c["field"] for c in error.body()["details"]["causes"]] == [
        "spec.replicas", "spec.template.spec.restartPolicy"]
    assert error.message.startswith('Deployment.apps "d" is invalid: [spec.replicas: Invalid value: -1: must be '
                                    "greater than or equal to 0, ")
    bad["spec"]["replicas"] = "2"
    error = _refusal(DEPLOYMENTS, bad)
    assert error.code == 400 and error.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct '
        "field Deployment.spec.replicas of type int32")


def test_a_node_without_spec_is_valid_and_stored_with_an_empty_spec() -> None:
    twin = small_twin(workers=1)
    node = twin.api.create(NODES, None, {"metadata": {"name": "bare"}})
    assert node["spec"] == {} and "generation" not in node["metadata"]
    twin.advance(120)
    assert not twin.failures


def test_a_workload_selector_cannot_change_in_place_and_rbac_names_may_hold_colons() -> None:
    twin = small_twin(workers=1)
    ds = copy.deepcopy(twin.api.create(DAEMONSETS, "default", {"metadata": {"name": "proxy"}, "spec": {
        "selector": copy.deepcopy(SELECTOR), "template": copy.deepcopy(TEMPLATE)}}))
    ds["spec"]["selector"] = {"matchLabels": {"app": "x", "tier": "node"}}
    ds["spec"]["template"]["metadata"]["labels"]["tier"] = "node"
    with pytest.raises(ApiError) as refused:
        twin.api.replace(DAEMONSETS, "default", "proxy", ds)
    assert refused.value.code == 422 and "spec.selector" in refused.value.message and "immutable" in refused.value.message
    binding = {"metadata": {"name": "kubeadm:kubelet-bootstrap"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"}}
    assert twin.api.create(CLUSTERROLEBINDINGS, "", binding)["metadata"]["name"] == "kubeadm:kubelet-bootstrap"
    with pytest.raises(ApiError) as bad:
        twin.api.create(CLUSTERROLEBINDINGS, "", {**binding, "metadata": {"name": "a/b"}})
    assert bad.value.code == 422
