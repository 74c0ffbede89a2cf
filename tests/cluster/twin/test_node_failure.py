"""Node heartbeats, node Leases and node failure as Kubernetes models them, and how a node joins a rehearsal."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from migrate.clock import parse_rfc3339
from migrate.cluster.twin import Twin, VirtualClock
from migrate.cluster.twin.heartbeat import NODE_LEASES
from migrate.cluster.twin.resources import LEASES, NODES, PDBS, PODS
from migrate.etcd.membership import EtcdError
from tests.cluster.conftest import FAST, small_twin, web_with_budget

CLUSTERS = Path(__file__).resolve().parents[3] / "playbook_fixtures" / "clusters"
UNREACHABLE = "node.kubernetes.io/unreachable"


def _ready(obj: dict) -> str | None:
    return next((c["status"] for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"),
                None)


def _taints(twin: Twin, node: str) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in twin.store.get(NODES, "", node)["spec"].get("taints") or []}


def test_kubelets_renew_their_node_lease_and_post_heartbeats_as_the_clock_moves() -> None:
    twin = small_twin(workers=2)
    start = twin.clock.now()
    lease = twin.store.get(LEASES, NODE_LEASES, "w1")
    node = twin.store.get(NODES, "", "w1")
    assert lease["spec"]["holderIdentity"] == "w1" and lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
    for seconds in (7, 30, 95, 330):
        twin.advance(start + seconds - twin.clock.now())
        renewed = parse_rfc3339(twin.store.get(LEASES, NODE_LEASES, "w2")["spec"]["renewTime"])
        assert twin.clock.now() - 10 <= renewed <= twin.clock.now()  # a quarter of the 40 s duration
    beat = next(c for c in twin.store.get(NODES, "", "w1")["status"]["conditions"] if c["type"] == "Ready")
    assert parse_rfc3339(beat["lastHeartbeatTime"]) > start + 300 - 1  # the 5-minute status report moved too
    assert parse_rfc3339(beat["lastTransitionTime"]) <= start  # Ready since it joined: no transition
    assert _ready(twin.store.get(NODES, "", "w1")) == "True"
    twin.api.delete(NODES, "", "w2")
    twin.advance(1)
    assert twin.store.find(LEASES, NODE_LEASES, "w2") is None  # the Lease goes with the Node that owns it


def test_a_stopped_kubelet_makes_the_node_unreachable_its_pods_unready_then_evicted() -> None:
    twin = small_twin(workers=3)
    web_with_budget(twin, replicas=3, maxUnavailable=1)
    victim = next(p["spec"]["nodeName"] for p in twin.store.objects(PODS))
    on_victim = [p["metadata"]["name"] for p in twin.store.objects(PODS) if p["spec"]["nodeName"] == victim]
    assert twin.store.get(PDBS, "default", "web")["status"]["disruptionsAllowed"] == 1
    twin.stop_kubelet(victim)
    stopped = twin.clock.now()
    twin.advance(35)
    assert _ready(twin.store.get(NODES, "", victim)) == "True"  # inside the 40 s grace period nothing shows
    twin.advance(10)
    node = twin.store.get(NODES, "", victim)
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusUnknown")
    assert {c["status"] for c in node["status"]["conditions"]} == {"Unknown"}  # every condition, as upstream
    assert {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")} <= _taints(twin, victim)
    assert all(_ready(twin.store.get(PODS, "default", name)) == "False" for name in on_victim)
    budget = twin.store.get(PDBS, "default", "web")["status"]
    assert budget["currentHealthy"] == 3 - len(on_victim) and budget["disruptionsAllowed"] == 0
    taint_added = parse_rfc3339(next(t["timeAdded"] for t in node["spec"]["taints"]
                                     if t["key"] == UNREACHABLE and t["effect"] == "NoExecute"))
    twin.advance(taint_added + 299 - twin.clock.now())
    assert not any(twin.store.get(PODS, "default", n)["metadata"].get("deletionTimestamp") for n in on_victim)
    twin.advance(2)  # the default 300 s unreachable toleration ran out: taint-based eviction
    evicted = [twin.store.get(PODS, "default", n) for n in on_victim]
    assert all(p["metadata"].get("deletionTimestamp") for p in evicted)  # terminating forever: no kubelet there
    twin.settle()
    live = [p for p in twin.store.objects(PODS) if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 3 and all(p["spec"]["nodeName"] != victim and _ready(p) == "True" for p in live)
    assert twin.store.get(PDBS, "default", "web")["status"]["currentHealthy"] == 3
    assert twin.clock.now() - stopped >= 340  # grace (40 s) + toleration (300 s) before anything moved


def test_a_kubelet_that_comes_back_makes_the_node_and_its_pods_ready_again() -> None:
    twin = small_twin(workers=2)
    web_with_budget(twin, replicas=2, maxUnavailable=1)
    twin.stop_kubelet("w1")
    twin.advance(60)
    assert _ready(twin.store.get(NODES, "", "w1")) == "Unknown"
    twin.start_kubelet("w1")
    twin.advance(10)
    assert _ready(twin.store.get(NODES, "", "w1")) == "True" and not {k for k, _ in _taints(twin, "w1")} & {
        UNREACHABLE, "node.kubernetes.io/not-ready"}
    assert all(_ready(p) == "True" for p in twin.store.objects(PODS))


def test_a_node_created_through_the_api_stays_not_ready_until_a_kubelet_registers(served, twin) -> None:
    config = client.Configuration()
    config.host = served.url
    core = client.CoreV1Api(client.ApiClient(config))
    core.create_node({"metadata": {"name": "talos-w9"}})  # no spec at all: valid on a real server
    twin.advance(59)
    assert _ready(twin.store.get(NODES, "", "talos-w9")) is None
    assert ("node.kubernetes.io/not-ready", "NoSchedule") in _taints(twin, "talos-w9")
    twin.advance(2)  # the 60 s node-startup grace period
    ready = next(c for c in core.read_node("talos-w9").status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("Unknown", "NodeStatusNeverUpdated")
    assert (UNREACHABLE, "NoExecute") in _taints(twin, "talos-w9")
    twin.start_kubelet("talos-w9")  # the Talos node boots and its kubelet registers
    twin.advance(6)
    assert core.read_node("talos-w9").status.conditions[-1].status == "True"


def test_the_twin_owns_etcd_and_a_joining_control_plane_is_a_learner_until_caught_up() -> None:
    twin = Twin.from_snapshot(CLUSTERS / "demo.json", timing=FAST)
    assert [(m.name, m.peer_urls[0], m.is_learner) for m in twin.etcd.members()] == [
        ("etcd1", "https://10.0.10.11:2380", False), ("etcd2", "https://10.0.10.12:2380", False),
        ("etcd3", "https://10.0.10.13:2380", False)]
    twin.join_node("talos-cp1", "10.0.20.11", control_plane=True)
    member = twin.etcd.member_for("10.0.20.11")
    assert member is not None and member.is_learner
    assert "node-role.kubernetes.io/control-plane" in twin.store.get(NODES, "", "talos-cp1")["metadata"]["labels"]
    start = twin.clock.now()
    promoted = twin.etcd.wait_promoted("https://10.0.20.11:2380", timeout=60)
    assert not promoted.is_learner and 0 < twin.clock.now() - start <= 11  # the twin's clock moved, no sleep
    twin.etcd.kill(twin.etcd.member_for("10.0.10.11").id)
    twin.etcd.kill(twin.etcd.member_for("10.0.10.12").id)
    twin.etcd.kill(twin.etcd.member_for("10.0.10.13").id)
    assert not any(h.healthy for h in twin.etcd.health())
    with pytest.raises(EtcdError, match="quorum"):
        twin.etcd.remove_member(promoted.id)


def test_a_deleted_pod_reports_not_ready_and_terminated_before_it_goes() -> None:
    twin = small_twin(workers=1)
    web_with_budget(twin, replicas=1, maxUnavailable=1)
    pod = next(iter(twin.store.objects(PODS)))
    name = pod["metadata"]["name"]
    watch = twin.store.watch(PODS, "default", *_everything(), resource_version=pod["metadata"]["resourceVersion"])
    twin.api.delete(PODS, "default", name)
    twin.advance(5)
    seen = []
    while (event := watch.next(timeout=0)) is not None:
        if event[1]["metadata"]["name"] == name:
            seen.append((event[0], event[1]["status"].get("phase"), _ready(event[1]),
                         sorted((cs.get("state") or {}) for cs in event[1]["status"].get("containerStatuses") or [])))
    kinds = [s[0] for s in seen]
    assert kinds[-1] == "DELETED" and seen[0][2] == "True"  # marked for deletion while still Ready
    stopping = next(s for s in seen if s[2] == "False")
    assert stopping[0] == "MODIFIED" and "terminated" in stopping[3][0]
    assert seen[-2][1] == "Succeeded"  # the terminal phase is reported before the object goes


def _everything():
    from migrate.cluster.twin.selectors import EVERYTHING, parse_field_selector

    return EVERYTHING, parse_field_selector(None, PODS.fields)


def test_a_virtual_clock_twin_joins_nodes_without_sleeping() -> None:
    twin = Twin(VirtualClock(), timing=FAST, node_ready_delay=5.0)
    twin.join_node("cp1", "10.0.10.11", control_plane=True)  # the first member of an empty etcd votes
    assert [m.is_learner for m in twin.etcd.members()] == [False]
    twin.advance(5)
    assert _ready(twin.store.get(NODES, "", "cp1")) == "True"


def test_a_node_write_between_renewals_renews_nothing_early_and_a_deleted_node_stops_its_kubelet_at_once() -> None:
    twin = small_twin(workers=3)
    twin.advance(3)  # between two renewals: nothing is due for any kubelet
    before = {n: twin.store.get(LEASES, NODE_LEASES, n)["metadata"]["resourceVersion"] for n in ("w1", "w2", "w3")}
    twin.api.patch(NODES, "", "w1", {"metadata": {"labels": {"zone": "b"}}}, "application/merge-patch+json")
    twin.api.delete(NODES, "", "w2")
    twin.advance(1)
    assert not twin.agents.running("w2")  # its Node is gone: the kubelet can post nothing more
    assert twin.agents.running("w1") and twin.agents.running("w3")
    assert twin.store.get(LEASES, NODE_LEASES, "w3")["metadata"]["resourceVersion"] == before["w3"]
    assert twin.store.get(LEASES, NODE_LEASES, "w1")["metadata"]["resourceVersion"] == before["w1"]
    twin.advance(10)  # the renew interval passed: the live kubelets renew, the stopped one does not
    assert twin.store.get(LEASES, NODE_LEASES, "w1")["metadata"]["resourceVersion"] != before["w1"]
    assert twin.store.find(LEASES, NODE_LEASES, "w2") is None
