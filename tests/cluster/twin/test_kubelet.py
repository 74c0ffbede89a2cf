"""Kubelet and provisioner timing run on the injected clock: nothing sleeps."""

from __future__ import annotations

from migrate.cluster.twin import KubeletTiming, Twin, VirtualClock
from migrate.cluster.twin.resources import DEPLOYMENTS, NODES, PODS
from tests.cluster.conftest import deployment


def test_pods_start_after_the_configured_delay_and_terminate_within_grace() -> None:
    twin = Twin(VirtualClock(), timing=KubeletTiming(start_delay=3.0, stop_delay=2.0), node_ready_delay=4.0)
    twin.add_node("w1", "10.0.10.21")
    twin.advance(3.9)
    assert not twin.store.get(NODES, "", "w1")["spec"]["taints"] == []  # still not-ready tainted
    twin.advance(0.1)
    assert twin.store.get(NODES, "", "w1")["status"]["conditions"][-1]["status"] == "True"
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 1))
    twin.advance(2.9)
    pod = next(iter(twin.store.objects(PODS)))
    assert pod["spec"]["nodeName"] == "w1" and pod["status"]["phase"] == "Pending"
    twin.advance(0.1)
    pod = twin.store.get(PODS, "default", pod["metadata"]["name"])
    assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"].startswith("10.233.64.")
    twin.api.delete(PODS, "default", pod["metadata"]["name"])
    twin.advance(1.9)
    assert twin.store.get(PODS, "default", pod["metadata"]["name"])["metadata"]["deletionTimestamp"]
    twin.advance(0.1)
    assert twin.store.find(PODS, "default", pod["metadata"]["name"]) is None


def test_a_pod_on_a_node_that_stops_being_ready_stays_terminating() -> None:
    twin = Twin(VirtualClock(), node_ready_delay=1.0)
    twin.add_node("w1", "10.0.10.21")
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 1))
    twin.settle()
    twin.set_node_ready("w1", False)
    pod = next(iter(twin.store.objects(PODS)))
    twin.api.delete(PODS, "default", pod["metadata"]["name"])
    twin.advance(60)
    assert twin.store.find(PODS, "default", pod["metadata"]["name"]) is not None


def test_a_node_that_fails_has_its_pods_evicted_after_the_default_toleration() -> None:
    twin = Twin(VirtualClock(), node_ready_delay=1.0)
    twin.add_node("w1", "10.0.10.21")
    twin.add_node("w2", "10.0.10.22")
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 2, nodeSelector={}))
    twin.settle()
    twin.set_node_ready("w1", False)
    twin.advance(299)
    assert {p["spec"]["nodeName"] for p in twin.store.objects(PODS) if not p["metadata"].get("deletionTimestamp")} == {"w1", "w2"}
    twin.advance(2)  # the not-ready NoExecute taint outlasts the 300 s DefaultTolerationSeconds
    live = [p for p in twin.store.objects(PODS) if not p["metadata"].get("deletionTimestamp")]
    assert [p["spec"]["nodeName"] for p in live] == ["w2", "w2"]
