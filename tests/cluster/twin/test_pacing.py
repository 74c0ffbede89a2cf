"""The twin's controllers act when a real cluster's would, whichever transport drives it: writes at one instant land
together (as a drain's concurrent evictions do), a read sees the controllers' reaction, and a client sleeping on the
virtual clock lets every due moment on the way happen at its own time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate.clock import parse_rfc3339
from migrate.cluster.base import Cluster, EvictionOutcome
from migrate.cluster.kube import KubeCluster
from migrate.cluster.twin import Twin, serve_in_thread
from migrate.cluster.twin.inprocess import InProcessCluster
from migrate.cluster.twin.resources import PODS
from tests.cluster.conftest import FAST, small_twin, web_with_budget


def _web(twin: Twin) -> list[dict]:
    return [p for p in twin.store.objects(PODS, "default") if p["metadata"]["labels"].get("app") == "web"]


def _standing(twin: Twin) -> list[dict]:
    return [p for p in _web(twin) if not p["metadata"].get("deletionTimestamp")]


def _ready_at(pod: dict) -> float:
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready" and c["status"] == "True")
    return parse_rfc3339(ready["lastTransitionTime"])


@pytest.fixture
def twin() -> Twin:
    twin = small_twin(3)
    web_with_budget(twin, 4, maxUnavailable=2)
    return twin


@pytest.fixture(params=["in process", "over HTTP"])
def cluster(request, twin: Twin, tmp_path: Path) -> Iterator[Cluster]:
    """The same twin through either transport (the official client over HTTP on the twin's own clock)."""
    if request.param == "in process":
        yield InProcessCluster(twin)
        return
    served = serve_in_thread(twin)
    http = KubeCluster(served.write_kubeconfig(tmp_path / "kubeconfig"), clock=twin.clock)
    try:
        yield http
    finally:
        http.close()
        served.stop()


def test_writes_at_one_instant_land_before_the_controllers_react_and_a_read_sees_the_reaction(twin: Twin, cluster):
    first, second = (p["metadata"]["name"] for p in _web(twin)[:2])
    assert cluster.evict_pod("default", first).outcome == EvictionOutcome.EVICTED
    assert cluster.evict_pod("default", second).outcome == EvictionOutcome.EVICTED
    assert len(_standing(twin)) == 2  # no replacement yet: the ReplicaSet controller has not seen the evictions
    assert len([p for p in cluster.list_pods(namespace="default") if p.labels.get("app") == "web"]) == 6
    assert len(_standing(twin)) == 4


def _evict_then_sleep(twin: Twin, cluster: Cluster) -> tuple[float, list[dict]]:
    """One eviction, then the client sleeps 30 s as a drain sleeps before it retries: the pods that replaced it."""
    before = {p["metadata"]["uid"] for p in _web(twin)}
    evicted_at = twin.clock.now()
    assert cluster.evict_pod("default", _web(twin)[0]["metadata"]["name"]).outcome == EvictionOutcome.EVICTED
    twin.clock.sleep(30)
    return evicted_at, [p for p in _standing(twin) if p["metadata"]["uid"] not in before]


def test_a_client_sleeping_lets_the_replacement_start_when_the_eviction_happened(twin: Twin, cluster):
    evicted_at, (replacement,) = _evict_then_sleep(twin, cluster)
    assert parse_rfc3339(replacement["metadata"]["creationTimestamp"]) == evicted_at
    assert _ready_at(replacement) == evicted_at + FAST.start_delay  # not when the client next calls, 30 s on
    assert len(_web(twin)) == 4  # the evicted pod went after its grace, while the client slept


def test_a_closed_transport_no_longer_moves_the_twin_when_the_clock_sleeps(twin: Twin):
    direct = InProcessCluster(twin)
    direct.evict_pod("default", _web(twin)[0]["metadata"]["name"])
    direct.close()
    revision = twin.store.revision
    twin.clock.sleep(30)
    assert twin.store.revision == revision
