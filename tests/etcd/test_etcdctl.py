"""EtcdctlMembership against a real 3-member TLS etcd (Debian's etcd 3.4) on 127.0.0.1-3, Kubespray's layout:
status matched by peer URL, a learner added, started and promoted (standing in for a Talos control plane),
leadership moved, a member removed after a snapshot, and a removal refused when quorum would not hold."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from migrate.errors import UserError
from migrate.etcd.etcdctl import EtcdAccess, EtcdctlMembership
from migrate.etcd.membership import EtcdError, member_for_peer
from tests.etcd.cluster import EtcdCluster, start_cluster, wait_healthy


@pytest.fixture(scope="module")
def etcd(tmp_path_factory) -> EtcdCluster:
    cluster = start_cluster(tmp_path_factory.mktemp("etcd"))
    yield cluster
    cluster.stop()


def _membership(cluster: EtcdCluster, tmp: Path) -> EtcdctlMembership:
    return EtcdctlMembership(cluster.access(), snapshot_dir=tmp / "snapshots", timeout=5)


def test_members_and_health_are_read_and_matched_by_peer_address(etcd, tmp_path):
    m = _membership(etcd, tmp_path)
    members = m.members()
    assert sorted(x.name for x in members) == ["etcd1", "etcd2", "etcd3"]
    assert member_for_peer(members, "127.0.0.2").name == "etcd2"
    health = m.health()
    assert all(h.healthy and h.version.startswith("3.4") and h.raft_index > 0 for h in health)
    assert sum(h.leader for h in health) == 1 and m.leader() is not None


def test_a_talos_like_member_joins_as_learner_is_promoted_takes_the_lead_and_an_old_one_leaves(etcd, tmp_path):
    m = _membership(etcd, tmp_path)
    new = etcd.new_member("talos-cp1", "127.0.0.4")
    learner = m.add_learner(new.name, new.peer_url)
    assert learner.is_learner and not learner.started
    etcd.members.append(new)
    etcd.start(new, [x for x in etcd.members if x.process or x is new], "existing")
    wait_healthy(etcd, skip=(new.name,))
    m = _membership(etcd, tmp_path)
    with pytest.raises(EtcdError, match=r"not promoted within .*talos-cp1 \(learner\)"):
        m.wait_promoted(new.peer_url, timeout=0.5)  # Talos promotes itself; nobody has yet
    _promote_when_caught_up(m, learner.id)
    promoted = m.wait_promoted(new.peer_url, timeout=20)
    assert not promoted.is_learner and promoted.name == "talos-cp1"
    m.move_leader(promoted.id)
    assert m.leader().id == promoted.id
    snap = m.snapshot("before removing etcd1")
    data = Path(snap.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == snap.sha256 and stat.S_IMODE(Path(snap.path).stat().st_mode) == 0o600
    old = member_for_peer(m.members(), "127.0.0.1")
    m.remove_member(old.id)
    etcd.kill("etcd1")
    etcd.members = [x for x in etcd.members if x.name != "etcd1"]
    assert sorted(x.name for x in _membership(etcd, tmp_path).members()) == ["etcd2", "etcd3", "talos-cp1"]


def test_with_one_member_dead_a_removal_that_breaks_quorum_is_refused(etcd, tmp_path):
    m = _membership(etcd, tmp_path)
    names = {x.name: x for x in m.members()}
    etcd.kill("etcd3")
    try:
        m = EtcdctlMembership(EtcdAccess(tuple(x.client_url for x in etcd.members if x.process), etcd.access().cacert,
                                         etcd.access().cert, etcd.access().key), snapshot_dir=tmp_path, timeout=3)
        dead = [h for h in m.health() if not h.healthy]
        assert [h.member_id for h in dead] == [names["etcd3"].id] and dead[0].error  # reported, not assumed healthy
        with pytest.raises(EtcdError, match="refusing to remove"):
            m.remove_member(names["etcd2"].id)
        assert names["etcd2"].id in {x.id for x in m.members()}
    finally:
        member = next(x for x in etcd.members if x.name == "etcd3")
        etcd.start(member, etcd.members, "existing")
        wait_healthy(etcd)


def test_missing_certificates_are_named(tmp_path):
    with pytest.raises(UserError, match="etcd certificate not found"):
        EtcdctlMembership(EtcdAccess.kubespray(["https://127.0.0.1:2379"], tmp_path, "etcd1"), snapshot_dir=tmp_path)


def _promote_when_caught_up(m: EtcdctlMembership, member_id: int) -> None:
    import time

    deadline = time.monotonic() + 20
    while True:
        try:
            m.promote(member_id)
            return
        except EtcdError:  # "can only promote a learner member which is in sync with leader"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
