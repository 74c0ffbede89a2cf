"""etcdctl on an old etcd host through ansible-runner (ansible_connection=local) against a real etcd 3.4:
Kubespray's certificates from etcd_cert_dir, answers handed back, a snapshot saved on the host."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from migrate.errors import UserError
from migrate.etcd.etcdctl import EtcdctlCall, EtcdctlMembership
from migrate.etcd.membership import member_for_peer
from migrate.etcd.onhost import EtcdHost, HostEtcdctl
from migrate.etcd.status import etcd_status
from tests.etcd.cluster import EtcdCluster, kubespray_inventory, start_cluster, wait_healthy
from tests.etcd.test_etcdctl import _promote_when_caught_up


@pytest.fixture(scope="module")
def etcd(tmp_path_factory) -> EtcdCluster:
    cluster = start_cluster(tmp_path_factory.mktemp("etcd"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def inventory(etcd, tmp_path_factory) -> Path:
    return kubespray_inventory(etcd, tmp_path_factory.mktemp("inventory"))


HOSTS = [EtcdHost("cp1", "127.0.0.1"), EtcdHost("cp2", "127.0.0.2")]


@pytest.mark.slow
def test_status_through_the_host_matches_members_to_hosts_and_hands_back_etcdctls_answers(etcd, inventory, tmp_path):
    runner = HostEtcdctl(inventory, HOSTS, timeout=5)
    wrong = runner.run([EtcdctlCall(("endpoint", "status"), ("https://127.0.0.1:1",))])[0]
    # etcdctl's own answer comes back (its last line is what an error message quotes), not a playbook failure
    assert wrong.rc != 0 and "127.0.0.1:1" in wrong.stderr.splitlines()[-1]
    rows, problems = etcd_status(EtcdctlMembership(runner=runner), {"cp1": "127.0.0.1", "cp2": "127.0.0.2"})
    assert {r.name: r.host for r in rows} == {"etcd1": "cp1", "etcd2": "cp2", "etcd3": None}
    assert all(r.healthy and r.version.startswith("3.4") for r in rows) and sum(r.leader for r in rows) == 1
    etcd3 = next(r for r in rows if r.name == "etcd3")
    assert problems == [f"member etcd3 ({etcd3.id}) is claimed by no host of the plan"]


@pytest.mark.slow
def test_the_snapshot_is_saved_on_the_host_private_with_its_checksum(etcd, inventory, tmp_path):
    on_host = tmp_path / "backups"
    membership = EtcdctlMembership(runner=HostEtcdctl(inventory, HOSTS, snapshot_dir=str(on_host), timeout=5))
    snap = membership.snapshot("before removing etcd3")
    saved = Path(snap.path)
    assert snap.host == "cp1" and saved.parent == on_host and stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert snap.sha256 == hashlib.sha256(saved.read_bytes()).hexdigest() and snap.size == saved.stat().st_size > 0
    assert stat.S_IMODE(on_host.stat().st_mode) == 0o700


@pytest.mark.slow
def test_an_old_member_leaves_asked_through_its_own_host_after_a_snapshot_there_then_the_next_host_answers(tmp_path):
    cluster = start_cluster(tmp_path / "etcd")  # its own cluster: this test takes a member away
    try:
        inventory = kubespray_inventory(cluster, tmp_path / "inventory", local=("cp1", "cp2"))
        here = EtcdctlMembership(cluster.access(), snapshot_dir=tmp_path, timeout=5)
        new = cluster.new_member("talos-cp1", "127.0.0.4")  # stands in for a Talos control plane joining
        learner = here.add_learner(new.name, new.peer_url)
        cluster.members.append(new)
        cluster.start(new, [x for x in cluster.members if x.process or x is new], "existing")
        wait_healthy(cluster, skip=(new.name,))
        _promote_when_caught_up(here, learner.id)
        here.move_leader(learner.id)
        runner = HostEtcdctl(inventory, HOSTS, snapshot_dir=str(tmp_path / "backups"), timeout=5)
        on_host = EtcdctlMembership(runner=runner)
        assert on_host.wait_promoted(new.peer_url, timeout=30).name == "talos-cp1"
        snap = on_host.snapshot("before removing etcd1")
        assert snap.host == "cp1" and Path(snap.path).stat().st_size == snap.size
        on_host.remove_member(member_for_peer(here.members(), "127.0.0.1").id)
        assert runner.host.name == "cp2"  # cp1's etcd stops serving once its member is gone
        assert sorted(m.name for m in on_host.members()) == ["etcd2", "etcd3", "talos-cp1"]
    finally:
        cluster.stop()


def test_a_host_whose_member_left_is_not_asked_again(inventory):
    runner = HostEtcdctl(inventory, HOSTS)
    runner.member_removed(member_for_peer_of("127.0.0.1"))
    assert runner.host.name == "cp2"
    with pytest.raises(UserError, match="absolute path"):
        HostEtcdctl(inventory, HOSTS, snapshot_dir="backups")
    with pytest.raises(UserError, match="no etcd host"):
        HostEtcdctl(inventory, [])


def member_for_peer_of(address: str):
    from migrate.etcd.membership import Member

    member = Member(1, "etcd1", (f"https://{address}:2380",))
    assert member_for_peer([member], address) is member
    return member
