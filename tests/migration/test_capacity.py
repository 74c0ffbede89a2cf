"""Capacity per wave as the scheduler would see it: node affinity and selectors read as Kubernetes reads them, and
a placement that never overfills a node and leaves out only pods that fit on no node."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.cluster.quantity import parse_quantity
from migrate.migration.capacity import RESOURCES, place, selects, unfit

NODE = {"metadata": {"name": "w7", "labels": {"zone": "a", "disk": "ssd", "gen": "5"}}}


def _pod(expressions=(), fields=(), node_selector=None):
    terms = [{"matchExpressions": list(expressions), **({"matchFields": list(fields)} if fields else {})}]
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}
    return {"metadata": {"name": "p", "namespace": "d"},
            "spec": {"affinity": affinity if expressions or fields else {}, "nodeSelector": node_selector or {}}}


@pytest.mark.parametrize("expression, matches", [
    ({"key": "zone", "operator": "In", "values": ["a", "b"]}, True),
    ({"key": "zone", "operator": "In", "values": ["b"]}, False),
    ({"key": "zone", "operator": "NotIn", "values": ["b"]}, True),
    ({"key": "rack", "operator": "NotIn", "values": ["r1"]}, True),  # a missing label is not in any set
    ({"key": "disk", "operator": "Exists"}, True),
    ({"key": "gpu", "operator": "Exists"}, False),
    ({"key": "gpu", "operator": "DoesNotExist"}, True),
    ({"key": "gen", "operator": "Gt", "values": ["4"]}, True),
    ({"key": "gen", "operator": "Lt", "values": ["4"]}, False),
    ({"key": "zone", "operator": "Gt", "values": ["1"]}, False),  # not an integer: never greater
])
def test_required_node_affinity_reads_each_operator_as_kubernetes_does(expression, matches):
    assert selects(_pod([expression]), NODE) is matches


def test_terms_are_ored_expressions_anded_and_match_fields_reads_the_node_name():
    both = _pod([{"key": "zone", "operator": "In", "values": ["a"]}, {"key": "gpu", "operator": "Exists"}])
    assert not selects(both, NODE)
    by_name = _pod(fields=[{"key": "metadata.name", "operator": "In", "values": ["w7"]}])
    assert selects(by_name, NODE) and not selects(by_name, {"metadata": {"name": "w8", "labels": {}}})
    either = _pod([{"key": "gpu", "operator": "Exists"}])
    either["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"].append({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]})
    assert selects(either, NODE)
    assert not selects(_pod(node_selector={"zone": "b"}), NODE)


def _node(i, cpu, taint):
    return {"metadata": {"name": f"n{i}", "labels": {"pool": "x" if i % 2 else "y"}},
            "spec": {"taints": [{"key": "dedicated", "effect": "NoSchedule"}] if taint else []},
            "status": {"allocatable": {"cpu": str(cpu), "memory": f"{cpu * 2}Gi", "pods": "6"}}}


def _moving(i, millis, tolerate, pool):
    spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": f"{millis}m", "memory": f"{millis}Mi"}}}]}
    if tolerate:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    if pool:
        spec["nodeSelector"] = {"pool": pool}
    return {"metadata": {"name": f"p{i}", "namespace": "d"}, "spec": spec}


@settings(max_examples=60, deadline=None)
@given(nodes=st.lists(st.tuples(st.integers(1, 8), st.booleans()), min_size=0, max_size=5),
       pods=st.lists(st.tuples(st.integers(50, 4000), st.booleans(), st.sampled_from([None, "x", "y"])), max_size=25))
def test_a_placement_never_overfills_a_node_and_leaves_out_only_pods_that_fit_nowhere(nodes, pods):
    raw_nodes = [_node(i, cpu, taint) for i, (cpu, taint) in enumerate(nodes)]
    moving = [_moving(i, *p) for i, p in enumerate(pods)]
    out = place(moving, raw_nodes, [])
    assert set(out.assigned) | set(out.homeless) == {f"d/p{i}" for i in range(len(pods))}
    assert not set(out.assigned) & set(out.homeless)
    for node in raw_nodes:
        name, alloc = node["metadata"]["name"], node["status"]["allocatable"]
        assert all(out.used[name][r] <= parse_quantity(alloc[r]) + 1e-9 for r in RESOURCES)
    by_key = {f"d/p{i}": pod for i, pod in enumerate(moving)}
    for key, node_name in out.assigned.items():
        node = next(n for n in raw_nodes if n["metadata"]["name"] == node_name)
        assert unfit(by_key[key], node, {}, {}) is None  # tolerated and selected there
    for key in out.homeless:  # usage only grows, so what fitted nowhere then fits nowhere at the end
        pod = by_key[key]
        need = {"cpu": parse_quantity(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"]),
                "memory": parse_quantity(pod["spec"]["containers"][0]["resources"]["requests"]["memory"]), "pods": 1}
        assert all(unfit(pod, n, need, out.used[n["metadata"]["name"]]) for n in raw_nodes)
