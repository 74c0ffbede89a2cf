"""A surge control plane's etcd step: its member leaves only once the replacement's member is promoted, leadership
is off it, and quorum would hold even if the newest member then failed (Cluster API's projected-quorum rule)."""
# exercised by tests/migration/test_engine.py and tests/migration/test_in_place.py

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from migrate.errors import UserError
from migrate.etcd.membership import EtcdMembership, member_for_peer, peer_url
from migrate.etcd.quorum import projected_quorum
from migrate.migration.plan_file import HostMove


def swap_member(etcd: EtcdMembership | None, move: HostMove, timeout: float) -> Mapping[str, Any]:
    """Members are matched by peer URL (Kubespray names them etcd1..N, not after hosts); a snapshot comes first."""
    if not move.is_control_plane or etcd is None or not move.address:
        return {"etcd": "not an etcd member here"}
    before = etcd.members()
    old = member_for_peer(before, move.address)
    if old is None:
        return {"etcd": "no member at this address"}
    new = etcd.wait_promoted(peer_url(move.replacement_address or ""), timeout=timeout)
    leader = etcd.leader()
    if leader is not None and leader.id == old.id:
        etcd.move_leader(new.id)
    verdict = projected_quorum(etcd.members(), etcd.health(), leaving=old.id, newest=new.id)
    if not verdict.holds:
        raise UserError(f"removing etcd member {old.name} ({old.hex_id}) would risk quorum: {verdict.reason}",
                        where=f"host {move.host}", hint="bring the unhealthy members back first; nothing was removed")
    snapshot = etcd.snapshot(f"before removing {old.name}")
    etcd.remove_member(old.id)
    return {"removed": {"name": old.name, "id": old.hex_id}, "promoted": new.hex_id,
            "members_before": [m.name or m.hex_id for m in before],
            "members_after": [m.name or m.hex_id for m in etcd.members()],
            "snapshot": {"host": snapshot.host, "path": snapshot.path, "sha256": snapshot.sha256,
                         "size": snapshot.size}, "quorum": verdict.reason}


def member_gone(etcd: EtcdMembership | None, move: HostMove) -> Callable[[], bool] | None:
    """The step's postcondition on resume: no member at the old host's peer URL any more."""
    if not move.is_control_plane or etcd is None or not move.address:
        return None
    address = move.address
    return lambda: member_for_peer(etcd.members(), address) is None
