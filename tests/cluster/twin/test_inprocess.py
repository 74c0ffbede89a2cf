"""The twin in process answers the migration's questions as the official client over HTTP does, on the same twin:
the rehearsal may skip HTTP only because nothing the engine sees changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.cluster.base import EvictionOutcome, Lease
from migrate.cluster.kube import KubeCluster
from migrate.cluster.twin import serve_in_thread
from migrate.cluster.twin.http import ServedTwin
from migrate.cluster.twin.inprocess import InProcessCluster
from migrate.cluster.twin.resources import DEPLOYMENTS, PDBS
from migrate.errors import UserError
from tests.cluster.conftest import deployment, pdb, small_twin


@pytest.fixture
def both(tmp_path: Path):
    twin = small_twin(3)
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 3))
    twin.api.create(PDBS, "default", pdb("web", {"app": "web"}, maxUnavailable=1))
    twin.api.create(DEPLOYMENTS, "default", deployment("db", 2, labels={"app": "db"}))
    twin.api.create(PDBS, "default", pdb("db", {"app": "db"}, maxUnavailable=0))
    twin.settle()
    served = serve_in_thread(twin)
    http = KubeCluster(served.write_kubeconfig(tmp_path / "kubeconfig"), clock=twin.clock, seed=1)
    try:
        yield twin, http, InProcessCluster(twin)
    finally:
        http.close()
        served.stop()


def test_reads_are_the_same_as_over_http(both):
    twin, http, direct = both
    assert direct.list_nodes() == http.list_nodes()
    for node in ("w1", "w2", "w3"):
        assert direct.list_pods(node_name=node) == http.list_pods(node_name=node)
    assert direct.list_pods(namespace="default", label_selector="app=web") == \
        http.list_pods(namespace="default", label_selector="app=web")
    assert direct.list_pdbs() == http.list_pdbs()
    assert direct.get_node("nope") is None and http.get_node("nope") is None


def test_evictions_get_the_same_verdicts(both):
    twin, http, direct = both
    db = http.list_pods(namespace="default", label_selector="app=db")
    blocked_direct = direct.evict_pod("default", db[0].name)
    blocked_http = http.evict_pod("default", db[1].name)
    assert blocked_direct.outcome == blocked_http.outcome == EvictionOutcome.BLOCKED_BY_PDB
    assert blocked_direct.pdb == blocked_http.pdb == "db"
    web = direct.list_pods(namespace="default", label_selector="app=web")
    assert direct.evict_pod("default", web[0].name).outcome == EvictionOutcome.EVICTED
    assert http.evict_pod("default", web[1].name).outcome == EvictionOutcome.BLOCKED_BY_PDB  # the budget is spent
    assert direct.evict_pod("default", "gone-already").outcome == http.evict_pod("default", "gone").outcome \
        == EvictionOutcome.NOT_FOUND


def test_waits_watch_on_both_sides_and_cost_a_list_and_a_watch_not_a_poll(both):
    twin, http, direct = both
    first = direct.list_pods(namespace="default", label_selector="app=web")[0]
    before = dict(direct.calls)
    assert direct.evict_pod("default", first.name).gone_or_going
    start = twin.clock.now()
    left = direct.wait_pods(lambda pods: first.uid not in {p.uid for p in pods}, 600, node_name=first.node_name)
    assert first.uid not in {p.uid for p in left} and twin.clock.now() - start < 10
    spent = {verb: n - before.get(verb, 0) for verb, n in direct.calls.items() if n != before.get(verb, 0)}
    assert spent == {"evict pod": 1, "list pods": 1, "watch pods": 1}
    # a wait that holds at once answers alike on both sides (over HTTP in virtual time: tests/cluster/test_follow.py)
    assert direct.wait_pods(lambda pods: True, 60, node_name="w2") == http.wait_pods(lambda pods: True, 60,
                                                                                       node_name="w2")
    assert direct.wait_node("w1", lambda n: n is not None and n.ready, 60) == http.wait_node("w1", lambda n: True, 60)
    start = twin.clock.now()
    assert direct.wait_node("w9", lambda n: n is not None, 45) is None and twin.clock.now() - start == 45


def test_a_list_asked_again_answers_every_write_since_in_its_namespace_and_only_those(both):
    twin, http, direct = both
    twin.api.create(DEPLOYMENTS, "kube-system", deployment("dns", 2, labels={"app": "dns"}))
    twin.settle()
    first = direct.list_pods(namespace="default")
    assert all(a is b for a, b in zip(direct.list_pods(namespace="default"), first, strict=True))
    dns = direct.list_pods(namespace="kube-system")
    assert direct.evict_pod("kube-system", dns[0].name).outcome == EvictionOutcome.EVICTED  # a write elsewhere...
    twin.settle()
    assert all(a is b for a, b in zip(direct.list_pods(namespace="default"), first, strict=True))  # ...answered as before
    assert direct.list_pods(namespace="kube-system") == http.list_pods(namespace="kube-system") != dns
    web = [p for p in first if p.labels.get("app") == "web"]
    assert direct.evict_pod("default", web[0].name).outcome == EvictionOutcome.EVICTED
    for node in ("w1", "w2", "w3"):
        assert direct.list_pods(node_name=node) == http.list_pods(node_name=node)
    assert direct.list_pods(namespace="default") == http.list_pods(namespace="default") != first
    assert direct.list_pods() == http.list_pods()


def test_a_lease_written_by_one_side_conflicts_on_the_other(both):
    twin, http, direct = both
    mine = direct.create_lease(Lease("kube-system", "lock", "a@h:1", 120, twin.clock.now() + 0.5))
    assert mine is not None
    assert http.create_lease(Lease("kube-system", "lock", "b@h:2", 120, twin.clock.now() + 0.5)) is None
    assert http.get_lease("kube-system", "lock").holder == "a@h:1"
    stale = Lease("kube-system", "lock", "b@h:2", 120, twin.clock.now() + 0.5, "1")
    assert direct.update_lease(stale) is None  # a resourceVersion that is not the current one loses


def test_transient_answers_are_retried_and_counted_and_a_storm_that_never_ends_is_an_error():
    twin = small_twin(2)
    answers = iter([503, 504, None])
    flaky = InProcessCluster(twin, faults=lambda verb: next(answers, None))
    before = twin.clock.now()
    assert {n.name for n in flaky.list_nodes()} == {"w1", "w2"}
    assert flaky.retried == {503: 1, 504: 1} and flaky.calls["list nodes"] == 3
    assert twin.clock.now() > before  # the backoff waited on the run's clock
    down = InProcessCluster(twin, faults=lambda verb: 500, attempts=3)
    with pytest.raises(UserError, match=r"HTTP 500"):
        down.get_node("w1")
    assert down.calls["get node"] == 3


def test_a_node_list_uses_the_index_and_still_answers_exactly(both):
    twin, http, direct = both
    w1 = direct.list_pods(node_name="w1")
    assert w1 and all(p.node_name == "w1" for p in w1)
    assert [p.key for p in w1] == sorted(p.key for p in w1)  # the store's order: by namespace and name
    assert direct.list_pods(node_name="w1", label_selector="app=nothing") == []


def test_an_eviction_that_meets_a_5xx_is_retried_on_both_sides(tmp_path):
    twin = small_twin(2)
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 2))
    twin.settle()
    served: ServedTwin = serve_in_thread(twin)
    http = KubeCluster(served.write_kubeconfig(tmp_path / "kubeconfig"), clock=twin.clock, seed=1)
    try:
        first, second = http.list_pods(namespace="default")
        served.fail_next(503, 504)  # a load balancer's blip, then a timeout: the eviction goes through on try 3
        assert http.evict_pod("default", first.name).outcome == EvictionOutcome.EVICTED
        answers = iter([503, None])
        direct = InProcessCluster(twin, faults=lambda verb: next(answers, None))
        assert direct.evict_pod("default", second.name).outcome == EvictionOutcome.EVICTED
        assert direct.retried == {503: 1}
    finally:
        http.close()
        served.stop()
