from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from migrate.cluster.twin.nodeinfo import NodeInfos, PodCosts, tree_order, zone_key
from migrate.cluster.twin.resources import DEPLOYMENTS, NODES
from tests.cluster.conftest import deployment, small_twin


def test_the_node_list_takes_one_node_of_each_zone_in_turn() -> None:
    # nodeTree.list(): zones in the order their first node came, then round robin until every zone is exhausted
    joined = [("a1", "A"), ("a2", "A"), ("b1", "B"), ("a3", "A"), ("c1", "C"), ("b2", "B")]
    assert tree_order(joined) == ["a1", "b1", "c1", "a2", "b2", "a3"]


@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from("ABCD")), unique_by=lambda t: t[0]))
def test_the_node_list_holds_every_node_once_and_keeps_each_zones_own_order(joined: list[tuple[int, str]]) -> None:
    named = [(f"n{i}", zone) for i, zone in joined]
    order = tree_order(named)
    assert sorted(order) == sorted(name for name, _ in named)
    for zone in "ABCD":
        members = [name for name, z in named if z == zone]
        assert [name for name in order if name in members] == members


def test_a_zone_is_its_region_and_zone_labels_ga_or_beta() -> None:
    assert zone_key({}) == ""
    assert zone_key({"topology.kubernetes.io/zone": "row-1"}) == zone_key({"failure-domain.beta.kubernetes.io/zone": "row-1"})
    assert zone_key({"topology.kubernetes.io/region": "eu", "topology.kubernetes.io/zone": "a"}) != zone_key(
        {"topology.kubernetes.io/region": "us", "topology.kubernetes.io/zone": "a"})


def test_requests_are_summed_again_only_on_nodes_whose_pods_changed() -> None:
    twin = small_twin()
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 3, cpu="250m"))
    twin.settle()
    infos = NodeInfos(PodCosts())
    first = infos.refresh(twin.index)
    assert round(sum(i.used.get("cpu", 0.0) for i in first.values()), 6) == 0.75
    kept = {name: info.used for name, info in first.items()}
    pods_before = {name: twin.index.on_node(name) for name in first}
    twin.api.patch(DEPLOYMENTS, "default", "web", {"spec": {"replicas": 1}}, "application/merge-patch+json")
    twin.settle()
    second = infos.refresh(twin.index)
    assert round(sum(i.used.get("cpu", 0.0) for i in second.values()), 6) == 0.25
    same = {n for n in second if list(map(id, twin.index.on_node(n))) == list(map(id, pods_before[n]))}
    assert len(same) == 1 and all(second[n].used is kept[n] for n in same)  # no pod came or went: not summed again
    assert all(second[n].used is not kept[n] for n in set(second) - same)


def test_allocatable_is_read_again_when_the_node_reports_another() -> None:
    twin = small_twin(workers=1)
    infos = NodeInfos(PodCosts())
    assert infos.refresh(twin.index)["w1"].alloc["cpu"] == 4.0
    node = twin.store.find(NODES, "", "w1")
    twin.store.update(NODES, {**node, "status": {**node["status"], "allocatable": {"cpu": "1500m", "memory": "1Gi"}}},
                      status=True, force=True)
    info = infos.refresh(twin.index)["w1"]
    assert (info.alloc, info.cpu_cap, info.room["cpu"] > 1.5 - 1e-6) == ({"cpu": 1.5, "memory": 2.0**30}, 1.5, True)


def test_a_pods_cost_is_parsed_again_only_when_what_it_reads_changes() -> None:
    costs = PodCosts()
    spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}],
            "tolerations": [{"operator": "Exists"}]}
    first = costs.of({"metadata": {"uid": "u1"}, "spec": spec})
    assert (first.need, first.nonzero) == ({"cpu": 0.25, "memory": 64 * 2**20, "pods": 1}, (0.25, 64 * 2**20))
    bound = costs.of({"metadata": {"uid": "u1"}, "spec": copy.deepcopy({**spec, "nodeName": "w1"})})
    assert bound is first  # a binding or a status write stores a new object, not a new cost
    resized = copy.deepcopy(spec)
    resized["containers"][0]["resources"]["requests"]["cpu"] = "1"
    again = costs.of({"metadata": {"uid": "u1"}, "spec": resized})
    assert again is not first and again.need["cpu"] == 1.0 and again.signature == first.signature
    selected = costs.of({"metadata": {"uid": "u1"}, "spec": {**resized, "nodeSelector": {"disk": "ssd"}}})
    assert selected.signature != first.signature
