"""Waits that watch: the official client over HTTP against the twin, in virtual time (an idle watch moves the twin's
clock to its next due moment, so waiting costs no wall time). A wait lists once, then watches until it holds; a
compacted version lists again; a failed watch request is retried; a wait that never holds ends at its timeout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate.cluster.base import Pod
from migrate.cluster.follow import Follower
from migrate.cluster.kube import KubeCluster
from migrate.cluster.objects import pod_from
from migrate.cluster.twin import Twin, serve_in_thread
from migrate.cluster.twin.http import ServedTwin
from migrate.cluster.twin.resources import DEPLOYMENTS, NODES
from tests.cluster.conftest import FAST, deployment, small_twin


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[Twin, ServedTwin, KubeCluster]]:
    twin = small_twin(3)
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 3, terminationGracePeriodSeconds=30))
    twin.settle()
    served = serve_in_thread(twin, virtual_watches=True)
    kube = KubeCluster(served.write_kubeconfig(tmp_path / "kubeconfig"), clock=twin.clock, seed=1)
    try:
        yield twin, served, kube
    finally:
        kube.close()
        served.stop()


def _pods_on(kube: KubeCluster, node: str, lister: object = None) -> Follower[Pod]:
    fn = kube.core.list_pod_for_all_namespaces
    return Follower(lister or (lambda: kube._list_versioned("pods", fn, field_selector=f"spec.nodeName={node}")),
                    lambda **kw: fn(field_selector=f"spec.nodeName={node}", **kw), pod_from, kube.clock)


def test_an_evicted_pod_is_seen_gone_after_its_grace_period_with_one_list_and_one_watch(rig) -> None:
    twin, _, kube = rig
    victim = next(p for p in kube.list_pods(namespace="default") if p.node_name == "w1")
    start = twin.clock.now()
    assert kube.evict_pod("default", victim.name).gone_or_going
    seen = _pods_on(kube, "w1").until(lambda pods: victim.uid not in {p.uid for p in pods}, timeout=600)
    # one LIST; a watch for the changes since (the eviction's), one that waits for the kubelet's confirmation
    assert victim.uid not in seen.objects and seen.lists == 1 and seen.watches <= 3
    assert twin.clock.now() - start <= FAST.stop_delay + 1  # the moment it went, not the next poll after it
    assert kube.get_pod("default", victim.name) is None


def test_a_wait_that_never_holds_ends_at_its_timeout_on_the_twin_clock(rig) -> None:
    twin, _, kube = rig
    start = twin.clock.now()
    pods = kube.wait_pods(lambda pods: len(pods) > 10, timeout=90, namespace="default")
    assert len(pods) == 3 and all(p.ready for p in pods)
    assert twin.clock.now() - start == pytest.approx(90, abs=1)


def test_a_compacted_version_lists_again_as_an_informer_does(rig) -> None:
    twin, _, kube = rig
    fn = kube.core.list_pod_for_all_namespaces
    old = kube._list_versioned("pods", fn)[1]
    kube.delete_pod("default", kube.list_pods(node_name="w2")[0].name)
    twin.advance(60)
    twin.store.compact()  # the version the first list answered is gone from history: its watch gets 410
    answers = iter([([], old)])
    victim = kube.list_pods(node_name="w3")[0]
    assert kube.evict_pod("default", victim.name).gone_or_going
    follower = _pods_on(kube, "w3", lambda: next(answers, None) or kube._list_versioned(
        "pods", fn, field_selector="spec.nodeName=w3"))
    seen = follower.until(lambda pods: bool(pods) and victim.uid not in {p.uid for p in pods}, timeout=600)
    assert seen.lists == 2 and victim.uid not in seen.objects and seen.objects


def test_a_failed_watch_request_is_retried_and_the_wait_still_holds(rig) -> None:
    twin, served, kube = rig
    twin.api.create(DEPLOYMENTS, "default", deployment("late", 1))
    served.fail_next(0, 503)  # the LIST goes through, the first WATCH answers 503
    pods = kube.wait_pods(lambda pods: any(p.labels.get("app") == "late" and p.ready for p in pods), timeout=120,
                          namespace="default")
    assert any(p.labels.get("app") == "late" and p.ready for p in pods)


def test_a_node_is_watched_until_it_is_ready(rig) -> None:
    twin, _, kube = rig
    twin.join_node("w9", "10.0.10.29")
    assert not twin.store.get(NODES, "", "w9")["status"].get("conditions") or not kube.get_node("w9").ready
    start = twin.clock.now()
    node = kube.wait_node("w9", lambda n: n is not None and n.ready, timeout=300)
    assert node is not None and node.ready and 0 < twin.clock.now() - start <= 10
    assert kube.wait_node("nowhere", lambda n: n is not None, timeout=5) is None
