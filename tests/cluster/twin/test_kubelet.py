"""Kubelet and provisioner timing run on the injected clock: nothing sleeps."""

from __future__ import annotations

from migrate.cluster.twin import KubeletTiming, Twin, VirtualClock
from migrate.cluster.twin.resources import DEPLOYMENTS, NODES, PODS
from tests.cluster.conftest import deployment
from tests.conftest import CLUSTERS


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


def test_pod_addresses_come_from_the_node_block_of_the_snapshot() -> None:
    twin = Twin.from_snapshot(CLUSTERS / "demo.json")
    blocks = {p["spec"]["nodeName"]: p["status"]["podIP"].rsplit(".", 1)[0] for p in twin.store.objects(PODS)
              if p["status"].get("podIP") and not p["spec"].get("hostNetwork")}
    assert len(set(blocks.values())) == len(blocks) > 1  # the capture gives each node its own /24
    for _ in range(6):
        for p in list(twin.store.objects(PODS, "shop")):
            if not p["metadata"].get("deletionTimestamp") and not (p["metadata"].get("ownerReferences") or [{}])[0].get("kind") == "StatefulSet":
                twin.api.delete(PODS, "shop", p["metadata"]["name"])
        twin.settle()
    fresh = [p for p in twin.store.objects(PODS, "shop") if p["status"].get("phase") == "Running"]
    assert fresh
    for p in fresh:
        assert p["status"]["podIP"].rsplit(".", 1)[0] == blocks[p["spec"]["nodeName"]], p["metadata"]["name"]
    ips = [p["status"]["podIP"] for p in twin.store.objects(PODS) if p["status"].get("podIP") and not p["spec"].get("hostNetwork")]
    assert len(ips) == len(set(ips))  # no two pods share an address
    # a node that never ran a pod gets a free /24 of the captured podSubnet, not another node's
    twin.add_node("w4", "10.0.10.24", cpu="4", memory="8Gi")
    twin.settle()
    node = twin.store.get(NODES, "", "w4")
    block = twin.kubelets.network.block(node)
    assert str(block).startswith("10.233.") and str(block).rsplit(".", 1)[0] not in blocks.values()
